/**
 * The plan: a pure function from the kernel's state (as listed) and the
 * desired one (validated) to the ordered changes between them.
 *
 * Phases, in plan order (the executor runs the first two as one round and
 * the third as a second, see apply.ts):
 *   1. removals: real servers and services that are no longer wanted
 *      (deleted, or drained when asked), so that adds never meet an old entry;
 *   2. services: updates, then adds;
 *   3. real servers, service by service: updates, then adds with the
 *      re-adds that keep the documented order (order.ts); then the real
 *      servers of the services added.
 *
 * A service the kernel lacks is added whole, so the plan holds only its
 * place in the desired list (`added`), not a change object per service and
 * server: `planChanges` spells the changes out when someone asks for them
 * (bench row "apply from empty"; its naive twin is that list, which
 * state.test.ts checks against the kernel).
 */
import type { Destination, Service, ServiceKey } from '../ipvs/types.js';
import type { ServiceSpec } from '../ipvs/types.js';
import { desiredId, destDiff, destSpec, keyOfDesired, sameDest, sameSettings, serviceSpec, servicePort, wantedDestId, wantedSettings } from './desired.js';
import { listedSettings, normalizeListed, normalizeListedDest, serviceDiff, type NService } from './normalize.js';
import { orderChanges } from './order.js';
import type { Wanted } from './validate.js';
import type { Change, DesiredService, DrainOptions, PlanOptions } from './types.js';

export const drainId = (svc: string, dest?: string): string => (dest === undefined ? svc : `${svc}/${dest}`);

export interface DiffInput {
  /** Every listed service (ownership is applied here). */
  current: Service[];
  desired: Wanted;
  owned: (key: ServiceKey) => boolean;
  options: PlanOptions;
  /** Drain ids (drainId) already in progress: left alone while not wanted. */
  draining?: ReadonlySet<string>;
}

/** The changes, by round. */
export interface Diff {
  /** Written before both rounds (the reconciler puts them here). */
  sysctls: Change[];
  /** Round one: removals, then updates of services the kernel has. */
  first: Change[];
  /** Services the kernel lacks (places in `services`), added whole: at the end of round one, their real servers at the end of round two. */
  added: number[];
  /** Round two: real-server changes of services the kernel has. */
  second: Change[];
  /** The desired services `added` refers to. */
  services: DesiredService[];
}

/** Whether the plan changes nothing. */
export const isEmpty = (d: Diff): boolean => d.sysctls.length + d.first.length + d.added.length + d.second.length === 0;

/** The add of added service `s`. */
export const serviceAdd = (s: DesiredService): Change => ({ op: 'addService', service: serviceSpec(s) });

/** The adds of added service `s`'s real servers, in the order sent (the reverse of the documented one: each add goes to the head). */
export function destinationAdds(s: DesiredService): Change[] {
  const list = s.destinations ?? [];
  const key = keyOfDesired(s);
  const port = servicePort(s);
  const out: Change[] = [];
  for (let i = list.length - 1; i >= 0; i--) out.push({ op: 'addDestination', service: key, destination: destSpec(list[i]!, port) });
  return out;
}

/** Every change of a plan, in plan order. */
export function planChanges(d: Diff): Change[] {
  const out = [...d.sysctls, ...d.first];
  for (const i of d.added) out.push(serviceAdd(d.services[i]!));
  out.push(...d.second);
  for (const i of d.added) out.push(...destinationAdds(d.services[i]!));
  return out;
}

/** The listed real server with address `address` and port `port` (a scan: services have few). */
function findListed(list: Destination[], address: string, port: number, index: Map<string, Destination> | undefined): Destination | undefined {
  if (index) return index.get(`${address}|${port}`);
  for (let i = 0; i < list.length; i++) {
    const x = list[i]!;
    if (x.port === port && x.address === address) return x;
  }
  return undefined;
}

const keyOfListed = (s: Service): ServiceKey => (s.fwmark !== undefined ? { fwmark: s.fwmark, family: s.family } : { protocol: s.protocol!, address: s.address!, port: s.port! });

export function diff({ current, desired, owned, options, draining }: DiffInput): Diff {
  const { services, index } = desired;
  const removals: Change[] = [];
  const updates: Change[] = [];
  const second: Change[] = [];
  // (which wanted services the kernel has: one byte each, no set of ids)
  const listed = new Uint8Array(services.length);
  const order = options.order ?? 'on-add';
  const anyDraining = draining !== undefined && draining.size > 0;

  for (let i = 0; i < current.length; i++) {
    const cur = current[i]!;
    const at = index.findListed(cur);
    if (at < 0) {
      const key = keyOfListed(cur);
      if (owned(key)) removeService(cur, key, options.drain, draining, removals);
      continue;
    }
    listed[at] = 1;
    const want = services[at]!;
    // (the key and identity of a service are made only for its changes)
    let key: ServiceKey | undefined;
    if (!sameSettings(cur, want)) {
      const fields = serviceDiff(listedSettings(cur), wantedSettings(want));
      const was = normalizeListed({ ...cur, destinations: [] });
      updates.push({ op: 'updateService', service: serviceSpec(want), fields, before: pick(listedSpec(was), fields) });
    }
    const have = cur.destinations ?? [];
    const wanted = want.destinations ?? [];
    const port = servicePort(want);
    // (an index only for long lists; most services have a few servers)
    const byId = have.length > 8 ? new Map(have.map((x) => [`${x.address}|${x.port}`, x])) : undefined;
    const drain = want.drain !== undefined ? want.drain : options.drain;
    const id = anyDraining ? desiredId(want) : '';
    let kept = 0;
    let added = false;
    for (let j = 0; j < wanted.length; j++) {
      const w = wanted[j]!;
      const x = findListed(have, w.address, w.port ?? port, byId);
      if (!x) {
        added = true;
        continue;
      }
      kept++;
      if (sameDest(x, w)) continue;
      const f = destDiff(x, w);
      const restoring = anyDraining && draining.has(drainId(id, wantedDestId(w, port)));
      second.push({ op: 'updateDestination', service: (key ??= keyOfDesired(want)), destination: destSpec(w, port), fields: f, before: pick(normalizeListedDest(x), f), ...(restoring ? { reason: 'wanted again while draining: restored' } : {}) });
    }
    if (kept < have.length) {
      // some listed servers are no longer wanted
      const wantIds = new Set<string>();
      for (const w of wanted) wantIds.add(wantedDestId(w, port));
      for (const x of have) {
        const xid = `${x.address}|${x.port}`;
        if (wantIds.has(xid) || (anyDraining && draining.has(drainId(id, xid)))) continue;
        key ??= keyOfDesired(want);
        if (drain && !(drain.udpImmediate && cur.protocol === 'udp')) {
          removals.push({ op: 'drainDestination', service: key, destination: { ...normalizeListedDest(x), weight: 0 }, fromWeight: x.weight, timeoutSeconds: drain.timeoutSeconds });
        } else {
          removals.push({ op: 'deleteDestination', service: key, destination: { address: x.address, port: x.port } });
        }
      }
    }
    if (added || order === 'always') second.push(...orderChanges((key ??= keyOfDesired(want)), wanted, port, have));
  }
  let matched = 0;
  for (let i = 0; i < services.length; i++) matched += listed[i]!;
  const add = new Array<number>(services.length - matched);
  for (let i = 0, k = 0; i < services.length; i++) if (listed[i] === 0) add[k++] = i;
  return { sysctls: [], first: removals.length ? [...removals, ...updates] : updates, added: add, second, services };
}

function removeService(cur: Service, key: ServiceKey, drain: false | DrainOptions | undefined, draining: ReadonlySet<string> | undefined, out: Change[]): void {
  const id = cur.fwmark !== undefined ? `fwm|${cur.fwmark}|${cur.family}` : `${cur.protocol}|${cur.address}|${cur.port}`;
  if (draining?.has(drainId(id))) return;
  const listed = cur.destinations ?? [];
  if (!drain || (drain.udpImmediate && cur.protocol === 'udp') || listed.length === 0) {
    out.push({ op: 'deleteService', service: key });
    return;
  }
  out.push({ op: 'drainService', service: key, timeoutSeconds: drain.timeoutSeconds });
  for (const x of listed) {
    if (x.weight !== 0) out.push({ op: 'updateDestination', service: key, destination: { ...normalizeListedDest(x), weight: 0 }, fields: ['weight'], before: { weight: x.weight }, reason: 'the service drains' });
  }
}

/** A listed service's settings as a spec (for an update's `before`). */
function listedSpec(n: NService): ServiceSpec {
  const spec = { ...n.key, scheduler: n.scheduler, schedulerFlags: n.flagNames, persistent: n.persistent || false, netmask: n.netmaskText, onePacket: n.onePacket } as ServiceSpec;
  if (n.pe) spec.pe = n.pe;
  return spec;
}

/** The named settings of `o` (for a change's `before`). */
function pick<T extends object>(o: T, fields: string[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = (o as Record<string, unknown>)[f];
  return out as Partial<T>;
}
