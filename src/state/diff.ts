/**
 * The plan: a pure function from the kernel's state (listed) and the
 * desired one (validated) to the ordered changes between them.
 *
 * Phases, in plan order (the executor runs the first two as one round and
 * the third as a second, see apply.ts):
 *   1. removals: real servers and services that are no longer wanted
 *      (deleted, or drained when asked), so that adds never meet an old entry;
 *   2. services: adds and updates;
 *   3. real servers, service by service: re-adds for order, updates, adds.
 */
import { destDiff, serviceDiff, type NDest, type NService } from './normalize.js';
import { orderChanges } from './order.js';
import type { Change, DrainOptions, PlanOptions } from './types.js';
import type { ServiceKey } from '../ipvs/types.js';

export const drainId = (svc: string, dest?: string): string => (dest === undefined ? svc : `${svc}/${dest}`);

export interface DiffInput {
  /** Every listed service, normalized (ownership is applied here). */
  current: NService[];
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
}

export function diff({ current, desired, owned, options, draining }: DiffInput): Diff {
  const removals: Change[] = [];
  const services: Change[] = [];
  const dests: Change[] = [];
  const wanted = new Map<string, NService>();
  for (const d of desired) wanted.set(d.id, d);
  const seen = new Set<string>();
  const order = options.order ?? 'on-add';

  for (const cur of current) {
    if (!owned(cur.key)) continue;
    const want = wanted.get(cur.id);
    if (!want) {
      removeService(cur, options.drain, draining, removals);
      continue;
    }
    seen.add(cur.id);
    const fields = serviceDiff(cur.settings, want.settings);
    if (fields.length) services.push({ op: 'updateService', service: want.spec, fields, before: pick(cur.spec, fields) });

    const curDests = new Map<string, NDest>();
    for (const x of cur.dests) curDests.set(x.id, x);
    const drain = want.drain !== undefined ? want.drain : options.drain;
    const wantIds = new Set<string>();
    for (const w of want.dests) wantIds.add(w.id);
    for (const x of cur.dests) {
      if (wantIds.has(x.id)) continue;
      if (draining?.has(drainId(cur.id, x.id))) continue;
      if (drain && !(drain.udpImmediate && cur.protocol === 'udp')) {
        removals.push({ op: 'drainDestination', service: cur.key, destination: { ...x.spec, weight: 0 }, fromWeight: x.spec.weight, timeoutSeconds: drain.timeoutSeconds });
      } else {
        removals.push({ op: 'deleteDestination', service: cur.key, destination: { address: x.spec.address, port: x.spec.port } });
      }
    }
    const adds: NDest[] = [];
    for (const w of want.dests) {
      const x = curDests.get(w.id);
      if (!x) {
        adds.push(w);
        continue;
      }
      const f = destDiff(x, w);
      const restoring = draining?.has(drainId(cur.id, w.id));
      if (f.length) {
        dests.push({ op: 'updateDestination', service: want.key, destination: w.spec, fields: f, before: pick(x.spec, f), ...(restoring ? { reason: 'wanted again while draining: restored' } : {}) });
      }
    }
    if (adds.length || order === 'always') {
      dests.push(...orderChanges(want, cur.dests, curDests));
    }
  }
  for (const want of desired) {
    if (seen.has(want.id)) continue;
    services.push({ op: 'addService', service: want.spec });
    // (in reverse: each add goes to the head of the kernel's list, see order.ts)
    for (let i = want.dests.length - 1; i >= 0; i--) dests.push({ op: 'addDestination', service: want.key, destination: want.dests[i]!.spec });
  }
  return { changes: [...removals, ...services, ...dests], secondRound: removals.length + services.length };
}

function removeService(cur: NService, drain: false | DrainOptions | undefined, draining: ReadonlySet<string> | undefined, out: Change[]): void {
  if (draining?.has(drainId(cur.id))) return;
  if (!drain || (drain.udpImmediate && cur.protocol === 'udp') || cur.dests.length === 0) {
    out.push({ op: 'deleteService', service: cur.key });
    return;
  }
  out.push({ op: 'drainService', service: cur.key, timeoutSeconds: drain.timeoutSeconds });
  for (const x of cur.dests) {
    if (x.spec.weight !== 0) out.push({ op: 'updateDestination', service: cur.key, destination: { ...x.spec, weight: 0 }, fields: ['weight'], before: { weight: x.spec.weight }, reason: 'the service drains' });
  }
}

/** The named settings of `o` (for a change's `before`). */
function pick<T extends object>(o: T, fields: string[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = (o as Record<string, unknown>)[f];
  return out as Partial<T>;
}
