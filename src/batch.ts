/**
 * A batch queues changes and sends them together: many messages to one
 * system call, replies read in bulk, one result per operation in order.
 */
import { IpvsError } from './errors.js';
import type { Request } from './netlink/connection.js';
import type { NetlinkMessage } from './netlink/message.js';
import { mergeDestination, mergeService } from './ipvs/merge.js';
import * as req from './ipvs/requests.js';
import type { DestinationKey, DestinationSpec, Service, ServiceKey, ServiceSpec, Timeouts } from './ipvs/types.js';
import { checkDestinationKey, checkServiceKey } from './ipvs/validate.js';
import { formatAddress } from './ipvs/address.js';

export interface BatchOptions {
  /**
   * Send nothing after the first failure. Operations then go one round trip
   * at a time (the kernel runs every message of a send, so this is the only
   * way to stop at a failure). Default false: everything is sent pipelined.
   */
  stopOnError?: boolean;
}

/** The outcome of one queued operation. */
export type BatchResult =
  | { ok: true; operation: string }
  | { ok: false; operation: string; error: IpvsError }
  | { ok: false; operation: string; skipped: true };

/** What a batch needs of the client (kept narrow so it can be tested alone). */
export interface BatchTarget {
  readonly familyId: number;
  send(r: Request): Promise<NetlinkMessage[]>;
  listServices(opts: { withDestinations?: boolean }): Promise<Service[]>;
}

type Op =
  | { op: 'addService'; spec: ServiceSpec }
  | { op: 'updateService'; spec: ServiceSpec }
  | { op: 'deleteService'; key: ServiceKey }
  | { op: 'addDestination'; key: ServiceKey; dest: DestinationSpec }
  | { op: 'updateDestination'; key: ServiceKey; dest: DestinationSpec }
  | { op: 'deleteDestination'; key: ServiceKey; dest: DestinationKey }
  | { op: 'zero'; key?: ServiceKey }
  | { op: 'flush' }
  | { op: 'setTimeouts'; timeouts: Partial<Timeouts> };

export class Batch {
  private ops: Op[] = [];

  constructor(
    private readonly target: BatchTarget,
    private readonly opts: BatchOptions = {},
  ) {}

  /** Number of queued operations. */
  get size(): number {
    return this.ops.length;
  }

  addService(spec: ServiceSpec): this {
    this.ops.push({ op: 'addService', spec });
    return this;
  }
  /** Settings left out keep their current values (read once for the whole batch). */
  updateService(spec: ServiceSpec): this {
    this.ops.push({ op: 'updateService', spec });
    return this;
  }
  deleteService(key: ServiceKey): this {
    this.ops.push({ op: 'deleteService', key });
    return this;
  }
  addDestination(key: ServiceKey, dest: DestinationSpec): this {
    this.ops.push({ op: 'addDestination', key, dest });
    return this;
  }
  /** Settings left out keep their current values (read once for the whole batch). */
  updateDestination(key: ServiceKey, dest: DestinationSpec): this {
    this.ops.push({ op: 'updateDestination', key, dest });
    return this;
  }
  deleteDestination(key: ServiceKey, dest: DestinationKey): this {
    this.ops.push({ op: 'deleteDestination', key, dest });
    return this;
  }
  zero(key?: ServiceKey): this {
    this.ops.push(key === undefined ? { op: 'zero' } : { op: 'zero', key });
    return this;
  }
  flush(): this {
    this.ops.push({ op: 'flush' });
    return this;
  }
  setTimeouts(timeouts: Partial<Timeouts>): this {
    this.ops.push({ op: 'setTimeouts', timeouts });
    return this;
  }

  /** Sends everything queued; the batch is empty afterwards. Never rejects for a failed operation. */
  async run(): Promise<BatchResult[]> {
    const ops = this.ops;
    this.ops = [];
    const current = await this.readCurrent(ops);
    const built: Array<Request | IpvsError> = ops.map((o) => {
      try {
        return this.build(o, current);
      } catch (e) {
        if (e instanceof IpvsError) return e;
        throw e;
      }
    });
    if (this.opts.stopOnError) return this.runStopping(ops, built);
    const pending = built.map((b) => (b instanceof IpvsError ? Promise.reject(b) : this.target.send(b)));
    const settled = await Promise.allSettled(pending);
    return settled.map((s, i) => result(ops[i]!.op, s.status === 'fulfilled' ? undefined : s.reason));
  }

  private async runStopping(ops: Op[], built: Array<Request | IpvsError>): Promise<BatchResult[]> {
    const out: BatchResult[] = [];
    let failed = false;
    for (let i = 0; i < ops.length; i++) {
      const operation = ops[i]!.op;
      const b = built[i]!;
      if (failed) {
        out.push({ ok: false, operation, skipped: true });
        continue;
      }
      try {
        if (b instanceof IpvsError) throw b;
        await this.target.send(b);
        out.push({ ok: true, operation });
      } catch (e) {
        failed = true;
        out.push(result(operation, e));
      }
    }
    return out;
  }

  /** One read of the current state when updates need it for their defaults. */
  private async readCurrent(ops: Op[]): Promise<Map<string, Service> | undefined> {
    const updates = ops.filter((o) => o.op === 'updateService' || o.op === 'updateDestination');
    if (updates.length === 0) return undefined;
    const services = await this.target.listServices({ withDestinations: updates.some((o) => o.op === 'updateDestination') });
    const map = new Map<string, Service>();
    for (const s of services) {
      const key: ServiceKey = s.fwmark !== undefined ? { fwmark: s.fwmark, family: s.family } : { protocol: s.protocol!, address: s.address!, port: s.port! };
      map.set(checkServiceKey('batch', key).label, s);
    }
    return map;
  }

  private build(o: Op, current: Map<string, Service> | undefined): Request {
    const f = this.target.familyId;
    switch (o.op) {
      case 'addService':
        return req.addService(f, o.spec);
      case 'updateService': {
        const cur = current?.get(checkServiceKey(o.op, o.spec).label);
        return req.updateService(f, cur ? mergeService(cur, o.spec) : o.spec);
      }
      case 'deleteService':
        return req.deleteService(f, o.key);
      case 'addDestination':
        return req.addDestination(f, o.key, o.dest);
      case 'updateDestination': {
        const k = checkServiceKey(o.op, o.key);
        const dk = checkDestinationKey(o.op, k, o.dest);
        const addr = formatAddress(dk.family, dk.addr);
        const cur = current?.get(k.label)?.destinations?.find((d) => d.address === addr && d.port === dk.port);
        return req.updateDestination(f, o.key, cur ? mergeDestination(cur, o.dest) : o.dest);
      }
      case 'deleteDestination':
        return req.deleteDestination(f, o.key, o.dest);
      case 'zero':
        return req.zero(f, o.key);
      case 'flush':
        return req.flush(f);
      case 'setTimeouts':
        return req.setTimeouts(f, o.timeouts);
    }
  }
}

function result(operation: string, error: unknown): BatchResult {
  if (error === undefined) return { ok: true, operation };
  const e = error instanceof IpvsError ? error : new IpvsError(String(error), { kind: 'socket', errno: 0, operation, cause: error });
  return { ok: false, operation, error: e };
}
