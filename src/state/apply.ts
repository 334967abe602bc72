/**
 * Carries out a plan: its sysctls first, one write each (sysctls.ts), then
 * through the client's batches, in two rounds:
 *   1. removals, drains and service adds/updates;
 *   2. real-server changes of wanted services.
 * Each round is one pipelined batch (every change sent, none waiting for
 * another's reply). The rule for failures: every change is tried and gets
 * its own result with the kernel's words, except the real-server changes of
 * a service whose add failed, which are skipped (they could only fail with
 * "no such service", and would hide the real cause).
 */
import type { IpvsClient } from '../client.js';
import type { Batch, BatchResult } from '../batch.js';
import type { ServiceKey } from '../ipvs/types.js';
import type { DrainTracker } from './drain.js';
import { destinationAdds, serviceAdd, type Diff } from './diff.js';
import { writeSysctls, type SysctlClient } from './sysctls.js';
import type { ApplyResult, Change, ChangeResult, DrainHandle } from './types.js';

/** What apply needs of the client: batches. */
export type BatchClient = Pick<IpvsClient, 'batch'> & SysctlClient;

/** The identity string of a service key from a plan (keys there are canonical). */
export function keyId(key: ServiceKey): string {
  if ('fwmark' in key && key.fwmark !== undefined) return `fwm|${key.fwmark}|${key.family ?? 'inet'}`;
  const k = key as { protocol: string; address: string; port: number };
  return `${k.protocol}|${k.address}|${k.port}`;
}

/** Queues a change's request; false when it needs none. */
function queue(b: Batch, c: Change): boolean {
  switch (c.op) {
    case 'addService':
      b.addService(c.service);
      return true;
    case 'updateService':
      b.updateService(c.service);
      return true;
    case 'deleteService':
      b.deleteService(c.service);
      return true;
    case 'addDestination':
      b.addDestination(c.service, c.destination);
      return true;
    case 'updateDestination':
      b.updateDestination(c.service, c.destination);
      return true;
    case 'deleteDestination':
      b.deleteDestination(c.service, c.destination);
      return true;
    case 'drainDestination':
      if (c.fromWeight === 0) return false;
      b.updateDestination(c.service, c.destination);
      return true;
    case 'drainService':
    case 'setSysctl': // (written before the rounds: sysctls.ts)
      return false;
  }
}

const OK = (change: Change): ChangeResult => ({ change, ok: true });

/** A batch's result for `change` as the change's result. */
function resultOf(change: Change, r: BatchResult): ChangeResult {
  return r.ok ? OK(change) : 'error' in r ? { change, ok: false, error: r.error } : { change, ok: false, skipped: 'not sent' };
}

const NOT_ADDED = 'its virtual service could not be added';

/**
 * Queues `changes` into `b`; returns their results so far (those sent get
 * theirs from `fill`, once the batch has run) and how many requests went out.
 */
function queueAll(b: Batch, changes: Change[]): { results: ChangeResult[]; sent: number; fill: (out: BatchResult[]) => void } {
  const results = new Array<ChangeResult>(changes.length);
  let sent = 0;
  for (let i = 0; i < changes.length; i++) {
    if (queue(b, changes[i]!)) sent++;
    else results[i] = OK(changes[i]!);
  }
  // (the queued changes are those without a result yet, in order; the batch's first results are theirs)
  const fill = (out: BatchResult[]) => {
    let j = 0;
    for (let i = 0; i < changes.length; i++) if (results[i] === undefined) results[i] = resultOf(changes[i]!, out[j++]!);
  };
  return { results, sent, fill };
}

/**
 * Carries out a plan. The services added whole go into the batches as the
 * caller wrote them (canonical: desired.ts) and their results stay the
 * batch's own until someone reads `changes` (bench row "apply from empty").
 */
export async function execute(ipvs: BatchClient, plan: Diff, drains: DrainTracker): Promise<ApplyResult> {
  const { sysctls, first, added, second, services } = plan;
  const sysctlResults = new Array<ChangeResult>(sysctls.length);
  let sent = sysctls.length ? await writeSysctls(ipvs, sysctls, sysctlResults) : 0;

  // Round one: removals and updates, then the adds of new services.
  // (merge: false: every change carries all its settings, and the state was read already)
  const b1 = ipvs.batch({ merge: false });
  const one = queueAll(b1, first);
  for (let i = 0; i < added.length; i++) b1.addService(services[added[i]!]!);
  const out1 = one.sent + added.length > 0 ? await b1.run() : [];
  one.fill(out1);
  sent += one.sent + added.length;
  const started: DrainHandle[] = [];
  for (const r of one.results) {
    const c = r.change;
    if (r.ok && c.op === 'drainDestination') {
      const d = c.destination;
      started.push(drains.start(keyId(c.service), c.service, { address: d.address, port: d.port! }, `${d.address}|${d.port}`, c.timeoutSeconds));
    }
    if (r.ok && c.op === 'drainService') started.push(drains.start(keyId(c.service), c.service, undefined, undefined, c.timeoutSeconds));
  }

  // Round two: real-server changes of services the kernel had, then the
  // servers of those added (none for a service whose add failed: they
  // could only fail with "no such service", hiding the real cause).
  const b2 = ipvs.batch({ merge: false });
  const two = queueAll(b2, second);
  let destAdds = 0;
  for (let i = 0; i < added.length; i++) {
    if (!out1[one.sent + i]!.ok) continue;
    const s = services[added[i]!]!;
    const list = s.destinations ?? [];
    // (in reverse: each add goes to the head of the kernel's list, see order.ts)
    for (let j = list.length - 1; j >= 0; j--) b2.addDestination(s, list[j]!);
    destAdds += list.length;
  }
  const out2 = two.sent + destAdds > 0 ? await b2.run() : [];
  two.fill(out2);
  sent += two.sent + destAdds;

  let failed = 0;
  for (const r of sysctlResults) if (!r.ok) failed++;
  for (const r of one.results) if (!r.ok) failed++;
  for (const r of two.results) if (!r.ok) failed++;
  for (let i = 0; i < added.length; i++) {
    if (!out1[one.sent + i]!.ok) failed += 1 + (services[added[i]!]!.destinations?.length ?? 0);
  }
  for (let k = two.sent; k < out2.length; k++) if (!out2[k]!.ok) failed++;

  const spell = (): ChangeResult[] => {
    const out = [...sysctlResults, ...one.results];
    for (let i = 0; i < added.length; i++) out.push(resultOf(serviceAdd(services[added[i]!]!), out1[one.sent + i]!));
    out.push(...two.results);
    let k = two.sent;
    for (let i = 0; i < added.length; i++) {
      const ok = out1[one.sent + i]!.ok;
      for (const c of destinationAdds(services[added[i]!]!)) out.push(ok ? resultOf(c, out2[k++]!) : { change: c, ok: false, skipped: NOT_ADDED });
    }
    return out;
  };
  if (added.length === 0) return { changes: spell(), sent, failed, drains: started };
  return lazyResult(sent, failed, started, spell);
}

/**
 * The result of an apply. With many services added whole, `changes` is
 * made when first read (and kept): a caller that looks only at `failed`
 * never pays for 30,000 result objects.
 */
function lazyResult(sent: number, failed: number, drains: DrainHandle[], lazy: () => ChangeResult[]): ApplyResult {
  const result = { sent, failed, drains } as ApplyResult;
  Object.defineProperty(result, 'changes', {
    enumerable: true,
    configurable: true,
    get() {
      const changes = lazy();
      Object.defineProperty(result, 'changes', { value: changes, enumerable: true, writable: true, configurable: true });
      return changes;
    },
  });
  return result;
}
