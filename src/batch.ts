/**
 * A batch queues changes and sends them together: many messages to one
 * system call, replies read in bulk, one result per operation in order.
 */
import { IpvsError, asInputError } from './errors.js';
import type { Request, RequestSource, Settle } from './netlink/request.js';
import { CHANGES, type ChangeName, writeFast } from './ipvs/changes.js';
import { isRecord } from './ipvs/input.js';
import { keyOf } from './ipvs/keys.js';
import { destinationUpdate, mergeDestination, mergeService, serviceUpdate } from './ipvs/merge.js';
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

type OpName = ChangeName;

/** Operations per block of an OpList (1 << SHIFT). */
const SHIFT = 8;
const BLOCK = 1 << SHIFT;

/**
 * Queued operations, flat: an operation name and two arguments each, with
 * no object per operation, in blocks of fixed size (bench row "library,
 * batch()": time and peak RSS at N = 10,000). Its naive twin is the array
 * of results it is read back into, one per operation in order (batch.test.ts).
 */
class OpList {
  private readonly nameBlocks: OpName[][] = [];
  private readonly argBlocks: unknown[][] = [];
  length = 0;
  push(name: OpName, a?: unknown, b?: unknown): void {
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
  name(i: number): OpName {
    return this.nameBlocks[i >> SHIFT]![i & (BLOCK - 1)]!;
  }
  /** Replaces operation i's arguments. */
  set(i: number, a: unknown, b: unknown): void {
    this.argBlocks[i >> SHIFT]![2 * (i & (BLOCK - 1))] = a;
    this.argBlocks[i >> SHIFT]![2 * (i & (BLOCK - 1)) + 1] = b;
  }
  arg(i: number, which: 0 | 1): unknown {
    return this.argBlocks[i >> SHIFT]![2 * (i & (BLOCK - 1)) + which];
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
        // The common changes go straight into the send buffer (the table's
        // fast writers); anything else, and every refusal, through the
        // general builder (bench row "batch()").
        write: (w) => next < ops.length && writeFast(w, family, CHANGES[ops.name(next)], ops.arg(next, 0), ops.arg(next, 1)) && ++next > 0,
        next: () => (next < ops.length ? this.tryBuild(ops, next++, current) : undefined),
        settle: (i, error) => {
          const operation = ops.name(i);
          results[i] = error ? { ok: false, operation, error } : SUCCESS[operation];
          if (--left === 0) resolve(results);
        },
        // (only written changes come here: they have no updates to merge)
        describe: (i, status, seq) => CHANGES[ops.name(i)].explain(status, seq, ops.arg(i, 0), ops.arg(i, 1)),
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
        const r = this.tryBuild(ops, i, current);
        if (r instanceof IpvsError) {
          out[i] = { ok: false, operation, error: r };
          return stop(i + 1);
        }
        this.target.submit(r, (error) => {
          if (error) {
            out[i] = { ok: false, operation, error };
            return stop(i + 1);
          }
          out[i] = SUCCESS[operation as OpName];
          step(i + 1);
        });
      };
      step(0);
    });
  }

  /** The request for operation `i`, or the error that refused it. */
  private tryBuild(ops: OpList, i: number, current: Map<string, Service> | undefined): Request | IpvsError {
    const name = ops.name(i);
    try {
      return this.build(name, ops.arg(i, 0), ops.arg(i, 1), current);
    } catch (e) {
      return asInputError(e, name);
    }
  }

  /** One read of the current state when updates need it for their defaults. */
  private async readCurrent(ops: OpList): Promise<Map<string, Service> | undefined> {
    // (only for updates that pass their checks: bad input reads nothing either)
    let services = false;
    let withDestinations = false;
    for (let i = 0; i < ops.length; i++) {
      const name = ops.name(i);
      if (name !== 'updateService' && name !== 'updateDestination') continue;
      const args = checked(name, ops.arg(i, 0), ops.arg(i, 1));
      if (!args) continue;
      ops.set(i, args[0], args[1]);
      services = true;
      withDestinations ||= name === 'updateDestination';
    }
    if (!services || this.opts.merge === false) return undefined;
    return this.readServices(withDestinations);
  }

  private async readServices(withDestinations: boolean): Promise<Map<string, Service>> {
    const services = await this.target.listServices({ withDestinations });
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
    const last = this.lastKey;
    if (last && sameKey(key, last)) return last.wire;
    const wire = checkServiceKey(op, key);
    // (checked: its fields read without throwing, and gave this wire)
    const k = key as { protocol: string; address: string; port: number };
    this.lastKey = wire.fwmark === undefined ? { protocol: k.protocol, address: k.address, port: k.port, wire } : undefined;
    return wire;
  }

  private lastKey: { protocol: string; address: string; port: number; wire: ServiceKeyWire } | undefined;

  /** The general builder of the table; updates first take their defaults from `current`. */
  private build(name: OpName, a: unknown, b: unknown, current: Map<string, Service> | undefined): Request {
    const f = this.target.familyId;
    switch (name) {
      case 'updateService': {
        const given = serviceUpdate(name, a as ServiceSpec);
        const cur = current?.get(checkServiceKey(name, given).label);
        return CHANGES.updateService.build(f, cur ? mergeService(cur, given) : given, undefined);
      }
      case 'updateDestination': {
        const k = checkServiceKey(name, a as ServiceKey);
        const given = destinationUpdate(name, k, b as DestinationSpec);
        const dk = checkDestinationKey(name, k, given);
        const addr = formatAddress(dk.family, dk.addr);
        const cur = current?.get(k.label)?.destinations?.find((d) => d.address === addr && d.port === dk.port);
        return CHANGES.updateDestination.build(f, a, cur ? mergeDestination(cur, given) : given, k);
      }
      case 'addDestination':
      case 'deleteDestination':
        return CHANGES[name].build(f, a, b, this.serviceKey(name, a as ServiceKey));
      default:
        return CHANGES[name].build(f, a, b);
    }
  }
}

const success = (operation: OpName): BatchResult => Object.freeze({ ok: true, operation });
const SUCCESS: Readonly<Record<OpName, BatchResult>> = {
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

/** The fields of a service key, copied out of a real-server update's service argument. */
const KEY_FIELDS = ['protocol', 'address', 'port', 'fwmark', 'family'] as const;

/**
 * An update's arguments as checked plain data (read once), or undefined when
 * they fail their checks. The batch builds from this copy, not the caller's
 * objects again: input whose getters answer differently on a second read
 * would otherwise be refused only after the state was read.
 */
function checked(name: OpName, a: unknown, b: unknown): [unknown, unknown] | undefined {
  try {
    if (name === 'updateService') return [serviceUpdate(name, a as ServiceSpec), b];
    if (!isRecord(a)) return undefined;
    const key: Record<string, unknown> = {};
    for (const f of KEY_FIELDS) {
      const v = (a as Record<string, unknown>)[f];
      if (v !== undefined) key[f] = v;
    }
    return [key, destinationUpdate(name, checkServiceKey(name, key as unknown as ServiceKey), b as DestinationSpec)];
  } catch {
    return undefined;
  }
}

/** Whether `key` names the service `last` (false when it cannot be read: the check then words it). */
function sameKey(key: unknown, last: { protocol: string; address: string; port: number }): boolean {
  try {
    const k = key as { protocol?: unknown; address?: unknown; port?: unknown; fwmark?: unknown };
    return key !== null && typeof key === 'object' && k.fwmark === undefined && k.address === last.address && k.port === last.port && k.protocol === last.protocol;
  } catch {
    return false;
  }
}
