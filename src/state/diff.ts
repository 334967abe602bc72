/**
 * The plan: a pure function from the kernel's state (as listed) and the
 * desired one (validated) to the ordered changes between them.
 *
 * Phases, in plan order (the executor runs the first two as one round and
 * the third as a second, see apply.ts):
 *   1. removals: real servers and services that are no longer wanted
 *      (deleted, or drained when asked), so that adds never meet an old entry;
 *   2. services: adds and updates;
 *   3. real servers, service by service: updates, then adds with the
 *      re-adds that keep the documented order (order.ts).
 */
import type { Destination, Service, ServiceKey } from '../ipvs/types.js';
import { destDiff, destId, destSpec, listedId, listedSettings, normalizeListed, normalizeListedDest, sameSettings, serviceDiff, serviceSpec, type NDest, type NService } from './normalize.js';
import { orderChanges } from './order.js';
import type { Change, DrainOptions, PlanOptions } from './types.js';

export const drainId = (svc: string, dest?: string): string => (dest === undefined ? svc : `${svc}/${dest}`);

export interface DiffInput {
  /** Every listed service (ownership is applied here). */
  current: Service[];
  desired: NService[];
  owned: (key: ServiceKey) => boolean;
  options: PlanOptions;
  /** Drain ids (drainId) already in progress: left alone while not wanted. */
  draining?: ReadonlySet<string>;
}

/** The changes, and where the second round (real servers of wanted services) begins. */
export interface Diff {
  changes: Change[];
  secondRound: number;
  /** How many setSysctl changes lead the list (the reconciler adds them). */
  sysctls?: number;
}

const keyOfListed = (s: Service): ServiceKey => (s.fwmark !== undefined ? { fwmark: s.fwmark, family: s.family } : { protocol: s.protocol!, address: s.address!, port: s.port! });

/** The listed real server with `w`'s address and port (a scan: services have few). */
function findListed(list: Destination[], w: NDest, index: Map<string, Destination> | undefined): Destination | undefined {
  if (index) return index.get(destId(w));
  for (let i = 0; i < list.length; i++) {
    const x = list[i]!;
    if (x.port === w.port && x.address === w.address) return x;
  }
  return undefined;
}

export function diff({ current, desired, owned, options, draining }: DiffInput): Diff {
  const removals: Change[] = [];
  const services: Change[] = [];
  const dests: Change[] = [];
  const wanted = new Map<string, NService>();
  for (let i = 0; i < desired.length; i++) wanted.set(desired[i]!.id, desired[i]!);
  const seen = new Set<string>();
  const order = options.order ?? 'on-add';

  for (let i = 0; i < current.length; i++) {
    const cur = current[i]!;
    const id = listedId(cur);
    const want = wanted.get(id);
    if (!want) {
      const key = keyOfListed(cur);
      if (owned(key)) removeService(cur, id, key, options.drain, draining, removals);
      continue;
    }
    seen.add(id);
    if (!sameSettings(cur, want)) {
      const before = listedSettings(cur);
      const fields = serviceDiff(before, want);
      const was = normalizeListed({ ...cur, destinations: [] });
      services.push({ op: 'updateService', service: serviceSpec(want), fields, before: pick(serviceSpec(was), fields) });
    }
    const listed = cur.destinations ?? [];
    // (an index only for long lists; most services have a few servers)
    const index = listed.length > 8 ? new Map(listed.map((x) => [`${x.address}|${x.port}`, x])) : undefined;
    const drain = want.drain !== undefined ? want.drain : options.drain;
    let kept = 0;
    let added = false;
    for (let j = 0; j < want.dests.length; j++) {
      const w = want.dests[j]!;
      const x = findListed(listed, w, index);
      if (!x) {
        added = true;
        continue;
      }
      kept++;
      const f = destDiff(x, w);
      if (f.length) {
        const restoring = draining?.has(drainId(id, destId(w)));
        dests.push({ op: 'updateDestination', service: want.key, destination: destSpec(w), fields: f, before: pick(destSpec(normalizeListedDest(x)), f), ...(restoring ? { reason: 'wanted again while draining: restored' } : {}) });
      }
    }
    if (kept < listed.length) {
      // some listed servers are no longer wanted
      const wantIds = new Set<string>();
      for (const w of want.dests) wantIds.add(destId(w));
      for (const x of listed) {
        const xid = `${x.address}|${x.port}`;
        if (wantIds.has(xid) || draining?.has(drainId(id, xid))) continue;
        if (drain && !(drain.udpImmediate && cur.protocol === 'udp')) {
          removals.push({ op: 'drainDestination', service: want.key, destination: { ...destSpec(normalizeListedDest(x)), weight: 0 }, fromWeight: x.weight, timeoutSeconds: drain.timeoutSeconds });
        } else {
          removals.push({ op: 'deleteDestination', service: want.key, destination: { address: x.address, port: x.port } });
        }
      }
    }
    if (added || order === 'always') {
      const listedN = listed.map(normalizeListedDest);
      dests.push(...orderChanges(want, listedN));
    }
  }
  for (const want of desired) {
    if (seen.has(want.id)) continue;
    services.push({ op: 'addService', service: serviceSpec(want) });
    // (in reverse: each add goes to the head of the kernel's list, see order.ts)
    for (let i = want.dests.length - 1; i >= 0; i--) dests.push({ op: 'addDestination', service: want.key, destination: destSpec(want.dests[i]!) });
  }
  return { changes: [...removals, ...services, ...dests], secondRound: removals.length + services.length };
}

function removeService(cur: Service, id: string, key: ServiceKey, drain: false | DrainOptions | undefined, draining: ReadonlySet<string> | undefined, out: Change[]): void {
  if (draining?.has(drainId(id))) return;
  const listed = cur.destinations ?? [];
  if (!drain || (drain.udpImmediate && cur.protocol === 'udp') || listed.length === 0) {
    out.push({ op: 'deleteService', service: key });
    return;
  }
  out.push({ op: 'drainService', service: key, timeoutSeconds: drain.timeoutSeconds });
  for (const x of listed) {
    if (x.weight !== 0) out.push({ op: 'updateDestination', service: key, destination: { ...destSpec(normalizeListedDest(x)), weight: 0 }, fields: ['weight'], before: { weight: x.weight }, reason: 'the service drains' });
  }
}

/** The named settings of `o` (for a change's `before`). */
function pick<T extends object>(o: T, fields: string[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = (o as Record<string, unknown>)[f];
  return out as Partial<T>;
}
