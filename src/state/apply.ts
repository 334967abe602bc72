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
import type { Batch } from '../batch.js';
import type { ServiceKey } from '../ipvs/types.js';
import type { DrainTracker } from './drain.js';
import type { Diff } from './diff.js';
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

/**
 * Sends changes [from, to) of `changes` as one batch, their results written
 * to `results` at the same places; returns how many requests went out.
 */
async function round(ipvs: BatchClient, changes: Change[], from: number, to: number, results: ChangeResult[], skip: (c: Change) => string | undefined): Promise<number> {
  let sent = 0;
  // (merge: false: every change carries all its settings, and the state was read already)
  const b = ipvs.batch({ merge: false });
  for (let i = from; i < to; i++) {
    const c = changes[i]!;
    const why = skip(c);
    if (why !== undefined) results[i] = { change: c, ok: false, skipped: why };
    else if (queue(b, c)) sent++;
    else results[i] = OK(c);
  }
  if (sent === 0) return 0;
  const out = await b.run();
  // (the queued changes are those without a result yet, in order)
  let j = 0;
  for (let i = from; i < to; i++) {
    if (results[i] !== undefined) continue;
    const r = out[j++]!;
    const c = changes[i]!;
    results[i] = r.ok ? OK(c) : 'error' in r ? { change: c, ok: false, error: r.error } : { change: c, ok: false, skipped: 'not sent' };
  }
  return sent;
}

export async function execute(ipvs: BatchClient, plan: Diff, drains: DrainTracker): Promise<ApplyResult> {
  const { changes, secondRound, sysctls = 0 } = plan;
  const results = new Array<ChangeResult>(changes.length);
  let sent = sysctls ? await writeSysctls(ipvs, changes, sysctls, results) : 0;
  sent += await round(ipvs, changes, sysctls, secondRound, results, () => undefined);
  const failedAdds = new Set<string>();
  const started: DrainHandle[] = [];
  for (let i = sysctls; i < secondRound; i++) {
    const r = results[i]!;
    const c = r.change;
    if (!r.ok && c.op === 'addService') failedAdds.add(keyId(c.service));
    if (r.ok && c.op === 'drainDestination') {
      const d = c.destination;
      started.push(drains.start(keyId(c.service), c.service, { address: d.address, port: d.port! }, `${d.address}|${d.port}`, c.timeoutSeconds));
    }
    if (r.ok && c.op === 'drainService') started.push(drains.start(keyId(c.service), c.service, undefined, undefined, c.timeoutSeconds));
  }
  if (secondRound < changes.length) {
    const skip = failedAdds.size === 0 ? () => undefined : (c: Change) => ('service' in c && failedAdds.has(keyId(c.service)) ? 'its virtual service could not be added' : undefined);
    sent += await round(ipvs, changes, secondRound, changes.length, results, skip);
  }
  let failed = 0;
  for (const r of results) if (!r.ok) failed++;
  return { changes: results, sent, failed, drains: started };
}
