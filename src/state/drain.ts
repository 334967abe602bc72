/**
 * Drains in progress: real servers (or whole services) at weight 0 that are
 * deleted once their active and inactive connections reach 0, or at their
 * deadline. Polling is bounded: one timer, at most `perTick` services read
 * per turn (one destination listing each, with a timeout), the others on
 * later turns. Nothing here blocks an apply; close() stops every drain.
 */
import { IpvsError, Errno } from '../errors.js';
import type { DestinationKey, ServiceKey } from '../ipvs/types.js';
import type { IpvsClient } from '../client.js';
import { drainId } from './diff.js';
import type { DrainHandle, DrainOutcome } from './types.js';

export interface DrainTrackerOptions {
  /** Time between polls, ms. Default 1000. */
  pollMs?: number;
  /** Services read per poll. Default 64. */
  perTick?: number;
  /** Longest wait for one listing, ms. Default 5000. */
  probeTimeoutMs?: number;
}

type Settled = { outcome: DrainOutcome; error?: IpvsError };

interface Entry {
  id: string;
  svcId: string;
  handle: DrainHandle;
  finish: (s: Settled) => void;
}

type Client = Pick<IpvsClient, 'listDestinations' | 'deleteDestination' | 'deleteService'>;

export class DrainTracker {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;
  /** Services polled last, so a long list is read in turns. */
  private cursor = 0;
  private readonly pollMs: number;
  private readonly perTick: number;
  private readonly probeTimeoutMs: number;

  constructor(
    private readonly ipvs: Client,
    opts: DrainTrackerOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 1000;
    this.perTick = opts.perTick ?? 64;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 5000;
  }

  /** Ids (see drainId) of everything draining. */
  ids(): ReadonlySet<string> {
    return new Set(this.entries.keys());
  }

  /** Every drain in progress. */
  list(): DrainHandle[] {
    return [...this.entries.values()].map((e) => e.handle);
  }

  /** Starts tracking (or returns the drain already tracked under that id). */
  start(svcId: string, service: ServiceKey, destination: DestinationKey | undefined, destId: string | undefined, timeoutSeconds: number): DrainHandle {
    const id = drainId(svcId, destId);
    const known = this.entries.get(id);
    if (known) return known.handle;
    let finish!: (s: Settled) => void;
    const done = new Promise<Settled>((resolve) => (finish = resolve));
    const handle: DrainHandle = {
      service,
      ...(destination ? { destination } : {}),
      deadline: Date.now() + timeoutSeconds * 1000,
      connections: undefined,
      done,
      cancel: () => this.end(id, { outcome: 'cancelled' }),
    };
    this.entries.set(id, { id, svcId, handle, finish });
    if (this.closed) this.end(id, { outcome: 'cancelled' });
    else this.schedule(0);
    return handle;
  }

  /** Ends a drain because its server is wanted again. */
  restore(id: string): void {
    this.end(id, { outcome: 'restored' });
  }

  /** Stops every drain and the timer (the kernel keeps weight 0). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const id of [...this.entries.keys()]) this.end(id, { outcome: 'cancelled' });
  }

  private end(id: string, s: Settled): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    e.finish(s);
    if (this.entries.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private schedule(ms: number): void {
    if (this.closed || this.timer || this.polling || this.entries.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, ms);
  }

  /** One turn: read up to perTick services that have drains, act on what they show. */
  private async poll(): Promise<void> {
    this.polling = true;
    try {
      const bySvc = new Map<string, Entry[]>();
      for (const e of this.entries.values()) {
        const list = bySvc.get(e.svcId);
        if (list) list.push(e);
        else bySvc.set(e.svcId, [e]);
      }
      const all = [...bySvc.values()];
      if (this.cursor >= all.length) this.cursor = 0;
      const turn = all.slice(this.cursor, this.cursor + this.perTick);
      this.cursor += turn.length;
      await Promise.all(turn.map((entries) => this.check(entries)));
    } finally {
      this.polling = false;
      this.schedule(this.pollMs);
    }
  }

  private async check(entries: Entry[]): Promise<void> {
    const service = entries[0]!.handle.service;
    let dests;
    try {
      dests = await withTimeout(this.ipvs.listDestinations(service), this.probeTimeoutMs);
    } catch (e) {
      if (e instanceof IpvsError && e.code === 'ESRCH') for (const x of entries) this.end(x.id, { outcome: 'gone' });
      return; // (a timeout or a failed read: the next turn tries again)
    }
    if (this.closed) return;
    const now = Date.now();
    for (const x of entries) {
      if (!this.entries.has(x.id)) continue;
      const h = x.handle;
      let conns = 0;
      if (h.destination) {
        const d = dests.find((d) => d.address === h.destination!.address && d.port === h.destination!.port);
        if (!d) {
          this.end(x.id, { outcome: 'gone' });
          continue;
        }
        conns = d.activeConnections + d.inactiveConnections;
      } else {
        for (const d of dests) conns += d.activeConnections + d.inactiveConnections;
      }
      h.connections = conns;
      if (conns > 0 && now < h.deadline) continue;
      const outcome: DrainOutcome = conns === 0 ? 'drained' : 'deadline';
      try {
        await withTimeout(h.destination ? this.ipvs.deleteDestination(service, h.destination) : this.ipvs.deleteService(service), this.probeTimeoutMs);
        this.end(x.id, { outcome });
      } catch (e) {
        const err = e instanceof IpvsError ? e : new IpvsError(String(e), { kind: 'socket', errno: Errno.EPROTO, operation: 'drain' });
        this.end(x.id, err.code === 'ESRCH' || err.code === 'ENOENT' ? { outcome: 'gone' } : { outcome: 'failed', error: err });
      }
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new IpvsError(`drain: no answer within ${ms} ms`, { kind: 'timeout', errno: Errno.ETIMEDOUT, operation: 'drain' })), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
