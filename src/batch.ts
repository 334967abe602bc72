/**
 * A batch queues changes and sends them together: many messages to one
 * system call, replies read in bulk, one result per operation in order.
 */
import { Errno, IpvsError } from './errors.js';
import { type Request, type RequestSource, type Settle, kernelError } from './netlink/connection.js';
import type { ByteWriter } from './netlink/attributes.js';
import { writeAddDestination, writeAddService, writeDeleteDestination, writeDeleteService } from './ipvs/fast.js';
import { keyOf } from './ipvs/keys.js';
import { mergeDestination, mergeService } from './ipvs/merge.js';
import * as req from './ipvs/requests.js';
import type { DestinationKey, DestinationSpec, Service, ServiceKey, ServiceSpec, Timeouts } from './ipvs/types.js';
import { type ServiceKeyWire, checkDestinationKey, checkServiceKey } from './ipvs/validate.js';
import { formatAddress } from './ipvs/address.js';

export interface BatchOptions {
  /**
   * Send nothing after the first failure. Operations then go one round trip
   * at a time (the kernel runs every message of a send, so this is the only
   * way to stop at a failure). Default false: everything is sent pipelined.
   */
  stopOnError?: boolean;
  /**
   * Default true: updates keep the settings they leave out, read once for
   * the whole batch. false: updates are sent as given, settings left out
   * taking their defaults, and nothing is read (for callers that pass every
   * setting and have read the state already, like `apply`).
   */
  merge?: boolean;
}

/**
 * The outcome of one queued operation. Successes are shared, frozen
 * objects (one per operation name): a batch of any size makes none.
 */
export type BatchResult =
  | { ok: true; operation: string }
  | { ok: false; operation: string; error: IpvsError }
  | { ok: false; operation: string; skipped: true };

/** What a batch needs of the client (kept narrow so it can be tested alone). */
export interface BatchTarget {
  readonly familyId: number;
  /** Queues requests pulled one at a time as the connection has room (see Connection.feed). */
  feed(source: RequestSource): void;
  /** Queues one request; `settle` is called once with its outcome. */
  submit(r: Request, settle: Settle): void;
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

/** Operations per block of an OpList (1 << SHIFT). */
const SHIFT = 8;
const BLOCK = 1 << SHIFT;

/**
 * Queued operations, flat: an operation name and two arguments each, with
 * no object per operation (a batch of 30,000 would otherwise hand the
 * garbage collector 30,000 objects to copy while they wait), in blocks of
 * fixed size (one growing array would be copied whole at every doubling).
 */
class OpList {
  private readonly nameBlocks: Op['op'][][] = [];
  private readonly argBlocks: unknown[][] = [];
  length = 0;
  push(name: Op['op'], a?: unknown, b?: unknown): void {
    const i = this.length++;
    if ((i & (BLOCK - 1)) === 0) {
      // (the first blocks grow as they fill: most batches are small)
      this.nameBlocks.push(new Array(i === 0 ? 0 : BLOCK));
      this.argBlocks.push(new Array(i === 0 ? 0 : 2 * BLOCK));
    }
    const k = i >> SHIFT;
    const at = i & (BLOCK - 1);
    this.nameBlocks[k]![at] = name;
    this.argBlocks[k]![2 * at] = a;
    this.argBlocks[k]![2 * at + 1] = b;
  }
  name(i: number): Op['op'] {
    return this.nameBlocks[i >> SHIFT]![i & (BLOCK - 1)]!;
  }
  arg(i: number, which: 0 | 1): unknown {
    return this.argBlocks[i >> SHIFT]![2 * (i & (BLOCK - 1)) + which];
  }
  /** Whether any operation is one of `names`. */
  some(names: Op['op'][]): boolean {
    for (let i = 0; i < this.length; i++) if (names.includes(this.name(i))) return true;
    return false;
  }
  /** Operation `i` as an object (for the general path, which is rare). */
  get(i: number): Op {
    const a = this.arg(i, 0);
    const b = this.arg(i, 1);
    switch (this.name(i)) {
      case 'addService':
        return { op: 'addService', spec: a as ServiceSpec };
      case 'updateService':
        return { op: 'updateService', spec: a as ServiceSpec };
      case 'deleteService':
        return { op: 'deleteService', key: a as ServiceKey };
      case 'addDestination':
        return { op: 'addDestination', key: a as ServiceKey, dest: b as DestinationSpec };
      case 'updateDestination':
        return { op: 'updateDestination', key: a as ServiceKey, dest: b as DestinationSpec };
      case 'deleteDestination':
        return { op: 'deleteDestination', key: a as ServiceKey, dest: b as DestinationKey };
      case 'zero':
        return a === undefined ? { op: 'zero' } : { op: 'zero', key: a as ServiceKey };
      case 'flush':
        return { op: 'flush' };
      case 'setTimeouts':
        return { op: 'setTimeouts', timeouts: a as Partial<Timeouts> };
    }
  }
}

export class Batch {
  private ops = new OpList();

  constructor(
    private readonly target: BatchTarget,
    private readonly opts: BatchOptions = {},
  ) {}

  /** Number of queued operations. */
  get size(): number {
    return this.ops.length;
  }

  addService(spec: ServiceSpec): this {
    this.ops.push('addService', spec);
    return this;
  }
  /** Settings left out keep their current values (read once for the whole batch). */
  updateService(spec: ServiceSpec): this {
    this.ops.push('updateService', spec);
    return this;
  }
  deleteService(key: ServiceKey): this {
    this.ops.push('deleteService', key);
    return this;
  }
  addDestination(key: ServiceKey, dest: DestinationSpec): this {
    this.ops.push('addDestination', key, dest);
    return this;
  }
  /** Settings left out keep their current values (read once for the whole batch). */
  updateDestination(key: ServiceKey, dest: DestinationSpec): this {
    this.ops.push('updateDestination', key, dest);
    return this;
  }
  deleteDestination(key: ServiceKey, dest: DestinationKey): this {
    this.ops.push('deleteDestination', key, dest);
    return this;
  }
  zero(key?: ServiceKey): this {
    this.ops.push('zero', key);
    return this;
  }
  flush(): this {
    this.ops.push('flush');
    return this;
  }
  setTimeouts(timeouts: Partial<Timeouts>): this {
    this.ops.push('setTimeouts', timeouts);
    return this;
  }

  /**
   * Sends everything queued; the batch is empty afterwards. Never rejects
   * for a failed operation: each gets its own result, in order.
   *
   * Requests are validated and encoded as the connection has room for them
   * (a chunk per system call), not all up front, so a batch of any size
   * keeps the event loop moving.
   */
  async run(): Promise<BatchResult[]> {
    const ops = this.ops;
    this.ops = new OpList();
    this.lastKey = undefined;
    if (ops.length === 0) return [];
    const current = await this.readCurrent(ops);
    if (this.opts.stopOnError) return this.runStopping(ops, current);
    return new Promise((resolve) => {
      const results = new Array<BatchResult>(ops.length);
      let next = 0;
      let left = ops.length;
      const family = this.target.familyId;
      this.target.feed({
        // The common changes go straight into the send buffer (see fast.ts);
        // anything else, and every refusal, through the general path.
        write: (w) => next < ops.length && writeFast(w, family, ops.name(next), ops.arg(next, 0), ops.arg(next, 1)) && ++next > 0,
        next: () => (next < ops.length ? this.tryBuild(ops.get(next++), current) : undefined),
        settle: (i, error) => {
          const operation = ops.name(i);
          results[i] = error ? { ok: false, operation, error } : SUCCESS[operation];
          if (--left === 0) resolve(results);
        },
        describe: (i, status, seq) => {
          const r = this.tryBuild(ops.get(i), current);
          return r instanceof IpvsError ? r : r.describe ? r.describe(status, seq) : kernelError(status, r.operation, seq);
        },
        operation: (i) => ops.name(i),
      });
    });
  }

  /** One operation at a time, each sent only after the previous one succeeded. */
  private runStopping(ops: OpList, current: Map<string, Service> | undefined): Promise<BatchResult[]> {
    return new Promise((resolve) => {
      const out = new Array<BatchResult>(ops.length);
      const stop = (from: number) => {
        for (let j = from; j < ops.length; j++) out[j] = { ok: false, operation: ops.name(j), skipped: true };
        resolve(out);
      };
      // Called from the connection's reply handling: the next request then
      // goes out in the same turn, without waiting for the event loop.
      const step = (i: number): void => {
        if (i === ops.length) return resolve(out);
        const operation = ops.name(i);
        const r = this.tryBuild(ops.get(i), current);
        if (r instanceof IpvsError) {
          out[i] = { ok: false, operation, error: r };
          return stop(i + 1);
        }
        this.target.submit(r, (error) => {
          if (error) {
            out[i] = { ok: false, operation, error };
            return stop(i + 1);
          }
          out[i] = SUCCESS[operation as Op['op']];
          step(i + 1);
        });
      };
      step(0);
    });
  }

  /** The request for an operation, or the error that refused it. */
  private tryBuild(o: Op, current: Map<string, Service> | undefined): Request | IpvsError {
    try {
      return this.build(o, current);
    } catch (e) {
      if (e instanceof IpvsError) return e;
      return new IpvsError(`${o.op}: ${(e as Error)?.message ?? String(e)}`, { kind: 'input', errno: Errno.EINVAL, operation: o.op, cause: e });
    }
  }

  /** One read of the current state when updates need it for their defaults. */
  private async readCurrent(ops: OpList): Promise<Map<string, Service> | undefined> {
    if (this.opts.merge === false || !ops.some(['updateService', 'updateDestination'])) return undefined;
    const services = await this.target.listServices({ withDestinations: ops.some(['updateDestination']) });
    const map = new Map<string, Service>();
    for (const s of services) {
      const key = keyOf(s);
      map.set(checkServiceKey('batch', key).label, s);
    }
    return map;
  }

  /**
   * A service key, validated once for a run of operations on the same
   * service (batches tend to name a service, then each of its real servers).
   */
  private serviceKey(op: string, key: ServiceKey): ServiceKeyWire {
    const k = key as { protocol?: unknown; address?: unknown; port?: unknown; fwmark?: unknown };
    const last = this.lastKey;
    if (last && key !== null && typeof key === 'object' && k.fwmark === undefined && k.address === last.address && k.port === last.port && k.protocol === last.protocol) {
      return last.wire;
    }
    const wire = checkServiceKey(op, key);
    this.lastKey = typeof k.address === 'string' && k.fwmark === undefined ? { protocol: k.protocol as string, address: k.address, port: k.port as number, wire } : undefined;
    return wire;
  }

  private lastKey: { protocol: string; address: string; port: number; wire: ServiceKeyWire } | undefined;

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
        return req.addDestination(f, o.key, o.dest, o.op, this.serviceKey(o.op, o.key));
      case 'updateDestination': {
        const k = checkServiceKey(o.op, o.key);
        const dk = checkDestinationKey(o.op, k, o.dest);
        const addr = formatAddress(dk.family, dk.addr);
        const cur = current?.get(k.label)?.destinations?.find((d) => d.address === addr && d.port === dk.port);
        return req.updateDestination(f, o.key, cur ? mergeDestination(cur, o.dest) : o.dest);
      }
      case 'deleteDestination':
        return req.deleteDestination(f, o.key, o.dest, o.op, this.serviceKey(o.op, o.key));
      case 'zero':
        return req.zero(f, o.key);
      case 'flush':
        return req.flush(f);
      case 'setTimeouts':
        return req.setTimeouts(f, o.timeouts);
    }
  }
}

const success = (operation: Op['op']): BatchResult => Object.freeze({ ok: true, operation });
const SUCCESS: Readonly<Record<Op['op'], BatchResult>> = {
  addService: success('addService'),
  updateService: success('updateService'),
  deleteService: success('deleteService'),
  addDestination: success('addDestination'),
  updateDestination: success('updateDestination'),
  deleteDestination: success('deleteDestination'),
  zero: success('zero'),
  flush: success('flush'),
  setTimeouts: success('setTimeouts'),
};

/** Writes an operation through the fast lane if it can (see fast.ts). */
function writeFast(w: ByteWriter, family: number, name: Op['op'], a: unknown, b: unknown): boolean {
  const start = w.length;
  try {
    switch (name) {
      case 'addService':
        return writeAddService(w, family, a as ServiceSpec);
      case 'deleteService':
        return writeDeleteService(w, family, a as ServiceKey);
      case 'addDestination':
        return writeAddDestination(w, family, a as ServiceKey, b as DestinationSpec);
      case 'deleteDestination':
        return writeDeleteDestination(w, family, a as ServiceKey, b as DestinationKey);
      default:
        return false;
    }
  } catch {
    // (a getter that throws, say: the general path reports it)
    w.length = start;
    return false;
  }
}
