/**
 * Carries out a plan through the client's batches, in two rounds:
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
import type { ApplyResult, Change, ChangeResult, DrainHandle } from './types.js';

/** What apply needs of the client: batches. */
export type BatchClient = Pick<IpvsClient, 'batch'>;

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
      return false;
  }
}

const OK = (change: Change): ChangeResult => ({ change, ok: true });

/** Sends `changes` as one batch; one result per change. */
async function round(ipvs: BatchClient, changes: Change[], skip: (c: Change) => string | undefined): Promise<{ results: ChangeResult[]; sent: number }> {
  const results = new Array<ChangeResult>(changes.length);
  const sentAt: number[] = [];
  // (merge: false: every change carries all its settings, and the state was read already)
  const b = ipvs.batch({ merge: false });
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    const why = skip(c);
    if (why !== undefined) results[i] = { change: c, ok: false, skipped: why };
    else if (queue(b, c)) sentAt.push(i);
    else results[i] = OK(c);
  }
  if (sentAt.length === 0) return { results, sent: 0 };
  const out = await b.run();
  for (let j = 0; j < sentAt.length; j++) {
    const i = sentAt[j]!;
    const r = out[j]!;
    const c = changes[i]!;
    results[i] = r.ok ? OK(c) : 'error' in r ? { change: c, ok: false, error: r.error } : { change: c, ok: false, skipped: 'not sent' };
  }
  return { results, sent: sentAt.length };
}

export async function execute(ipvs: BatchClient, plan: Diff, drains: DrainTracker): Promise<ApplyResult> {
  const first = plan.changes.slice(0, plan.secondRound);
  const second = plan.changes.slice(plan.secondRound);
  const r1 = await round(ipvs, first, () => undefined);
  const failedAdds = new Set<string>();
  const started: DrainHandle[] = [];
  for (const r of r1.results) {
    const c = r.change;
    if (!r.ok && c.op === 'addService') failedAdds.add(keyId(c.service));
    if (r.ok && c.op === 'drainDestination') {
      const d = c.destination;
      started.push(drains.start(keyId(c.service), c.service, { address: d.address, port: d.port! }, `${d.address}|${d.port}`, c.timeoutSeconds));
    }
    if (r.ok && c.op === 'drainService') started.push(drains.start(keyId(c.service), c.service, undefined, undefined, c.timeoutSeconds));
  }
  const r2 =
    second.length === 0
      ? { results: [], sent: 0 }
      : await round(ipvs, second, (c) => (failedAdds.has(keyId(c.service)) ? 'its virtual service could not be added' : undefined));
  const changes = [...r1.results, ...r2.results];
  let failed = 0;
  for (const r of changes) if (!r.ok) failed++;
  return { changes, sent: r1.sent + r2.sent, failed, drains: started };
}
