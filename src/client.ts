/**
 * The public client: one handle on one netlink socket in one network
 * namespace. Every method is async and may run concurrently with the others;
 * calls made in the same turn of the event loop share system calls.
 */
import { isAbsolute } from 'node:path';
import { Errno, IpvsError, describeValue, inputError } from './errors.js';
import { decodeGenl, resolveFamily } from './genetlink/genl.js';
import { formatAddress } from './ipvs/address.js';
import { NETLINK_GENERIC } from './netlink/constants.js';
import { Connection } from './netlink/connection.js';
import type { NetlinkMessage } from './netlink/message.js';
import type { Request } from './netlink/request.js';
import { Batch, type BatchOptions, type BatchTarget } from './batch.js';
import { CHANGES, type Change, writeFast } from './ipvs/changes.js';
import { StagedChanges } from './staged.js';
import { decodeDaemon, decodeInfo, decodeTimeouts } from './ipvs/codec.js';
import { scanDestination, scanService } from './ipvs/scan.js';
import { IPVS_GENL_NAME } from './ipvs/constants.js';
import { PERMISSION_TEXT } from './ipvs/describe.js';
import { describeMessage } from './ipvs/debug.js';
import { destinationUpdate, mergeDestination, mergeService, serviceUpdate } from './ipvs/merge.js';
import * as req from './ipvs/requests.js';
import type {
  Daemon,
  DaemonSpec,
  DaemonStateName,
  Destination,
  DestinationKey,
  DestinationSpec,
  Info,
  Service,
  ServiceKey,
  ServiceSpec,
  Timeouts,
} from './ipvs/types.js';
import { checkDaemonKey, checkServiceKey, checkDestinationKey } from './ipvs/validate.js';
import { checkBatchOptions, checkListOptions, checkOpenOptions } from './options.js';
import { type NativeBinding, loadNative } from './native.js';
import { keyOf } from './ipvs/keys.js';
import { listServices } from './listing.js';

export { keyOf };

export interface OpenOptions {
  /**
   * Network namespace to work in: a name as `ip netns` knows it ('blue' is
   * /var/run/netns/blue) or a path such as /proc/1234/ns/net.
   */
  netns?: string;
  /** How long to wait for any one reply, in ms. Default 30 000. */
  timeoutMs?: number;
  /**
   * The compiled addon, for bundled setups: its path, or the loaded module
   * itself (`require('./ipvs_netlink.node')`); else IPVS_NATIVE_BINDING,
   * else found by `bindings`.
   */
  nativeBinding?: string | NativeBinding;
  /** Print every message sent and received, decoded (command, attributes by name); also on with IPVS_DEBUG=1. */
  debug?: boolean | ((line: string) => void);
}

export interface ListOptions {
  /** Also fetch every service's real servers into `destinations`. */
  withDestinations?: boolean;
}

/** Resolves `netns` to a path of a namespace file. */
export function netnsPath(netns: string): string {
  if (isAbsolute(netns)) return netns;
  if (netns === '' || netns === '.' || netns === '..' || netns.includes('/') || netns.includes('\0')) {
    throw inputError('open', 'netns', `open: ${JSON.stringify(netns)} is neither a namespace name nor an absolute path`);
  }
  return `/var/run/netns/${netns}`;
}

/**
 * The low-level client. Higher layers (apply, agent, metrics) are functions
 * over it, or methods of a subclass facade; `open` builds whichever class it
 * is called on.
 */
export class IpvsClient {
  protected constructor(
    private readonly conn: Connection,
    /** The IPVS generic netlink family id. */
    readonly familyId: number,
  ) {
    this.staged = new StagedChanges(conn);
  }

  /** Where common changes are encoded when called (see `change`). */
  private readonly staged: StagedChanges;

  /**
   * Opens a handle. Fails with a plain sentence when IPVS is missing (ENOENT:
   * `modprobe ip_vs`), without privilege (EPERM: CAP_NET_ADMIN), or when the
   * namespace cannot be entered.
   */
  static async open<T extends IpvsClient>(this: { prototype: T }, options?: OpenOptions): Promise<T> {
    // (the constructor is protected: `this` is IpvsClient or a subclass of it)
    const Client = this as unknown as new (conn: Connection, familyId: number) => T;
    const opts = checkOpenOptions(options);
    const path = opts.netns === undefined ? undefined : netnsPath(opts.netns);
    const debug = typeof opts.debug === 'function' ? opts.debug : opts.debug || process.env.IPVS_DEBUG ? (l: string) => process.stderr.write(`ipvs: ${l}\n`) : undefined;
    const native = loadBinding(opts.nativeBinding);
    let conn: Connection;
    let family = -1;
    try {
      conn = new Connection({
        protocol: NETLINK_GENERIC,
        native,
        ...(path !== undefined ? { netnsPath: path } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        // (messages are worded once the family id is known; before, as nlctrl or headers)
        ...(debug ? { debug, describe: (bytes: Uint8Array) => describeMessage(family, bytes) } : {}),
      });
    } catch (e) {
      if (e instanceof IpvsError && path !== undefined && (e.syscall === 'open' || e.syscall === 'setns')) {
        throw new IpvsError(`cannot enter network namespace ${path}: ${e.code === 'ENOENT' ? 'no such namespace' : e.code === 'EPERM' ? 'permission denied (needs CAP_SYS_ADMIN)' : e.message}`, {
          kind: 'socket', errno: e.errno, operation: 'open', syscall: e.syscall, cause: e,
        });
      }
      throw e;
    }
    try {
      const fam = await resolveFamily(conn, IPVS_GENL_NAME);
      family = fam.id;
      const ipvs = new Client(conn, fam.id);
      await ipvs.info(); // every IPVS command needs CAP_NET_ADMIN: find out now
      return ipvs;
    } catch (e) {
      conn.close();
      if (e instanceof IpvsError && e.operation === 'resolveFamily' && e.errno === Errno.ENOENT) {
        throw new IpvsError('IPVS is not available in this kernel: load it with `modprobe ip_vs` (as root), or use a kernel built with CONFIG_IP_VS', {
          kind: 'kernel', errno: Errno.ENOENT, operation: 'open', cause: e,
        });
      }
      if (e instanceof IpvsError && e.errno === Errno.EPERM) {
        throw new IpvsError(PERMISSION_TEXT, { kind: 'kernel', errno: Errno.EPERM, operation: 'open', cause: e });
      }
      throw e;
    }
  }

  /** Closes the socket. Calls still waiting fail. */
  close(): void {
    this.conn.close();
  }

  /** Builds a request and sends it (the methods are async, so a validation error rejects). */
  private run(build: () => Request): Promise<NetlinkMessage[]> {
    return this.conn.request(build());
  }

  /**
   * A change, in one promise (no async wrapper: thousands of concurrent
   * calls are common, and each wrapper is one more promise alive until the
   * reply; bench row "conc"). The fast writer first: encoded now into the
   * staging buffer and queued as bytes, with no request object (staged.ts).
   * Declined, the general builder. Bad input rejects rather than throws.
   */
  private change(c: Change, a: unknown, b?: unknown): Promise<void> {
    if (c.fast && !this.conn.isClosed) {
      if (writeFast(this.staged.writer(), this.familyId, c, a, b)) return this.staged.queue(c, a, b);
    }
    let r: Request;
    try {
      r = c.build(this.familyId, a, b);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.conn.requestVoid(r);
  }

  /** Like `ipvsadm -A -t VIP:PORT -s SCHED [-p [T]] [-M MASK] [-b FLAGS] [-o] [--pe sip]`. */
  addService(spec: ServiceSpec): Promise<void> {
    return this.change(CHANGES.addService, spec);
  }

  /**
   * Changes a service (like `ipvsadm -E`), but settings not given keep their
   * current values instead of returning to defaults.
   */
  async updateService(spec: ServiceSpec): Promise<void> {
    const given = serviceUpdate('updateService', spec);
    const current = await this.getService(given);
    if (!current) throw missingService('updateService', given);
    await this.run(() => req.updateService(this.familyId, mergeService(current, given)));
  }

  /** Like `ipvsadm -D -t VIP:PORT`. */
  deleteService(key: ServiceKey): Promise<void> {
    return this.change(CHANGES.deleteService, key);
  }

  /** One service, or undefined when there is none with that key. */
  async getService(key: ServiceKey): Promise<Service | undefined> {
    let found: Service | undefined;
    try {
      const r = req.getService(this.familyId, key);
      r.onReply = (data, view, start, end) => {
        found = scanService(data, view, start, end);
      };
      await this.conn.request(r);
      return found;
    } catch (e) {
      if (e instanceof IpvsError && e.kind === 'kernel' && e.errno === Errno.ESRCH) return undefined;
      throw e;
    }
  }

  /** Every virtual service (like `ipvsadm -Ln`), optionally with its real servers. */
  listServices(opts?: ListOptions): Promise<Service[]> {
    let withDestinations: boolean;
    try {
      withDestinations = checkListOptions('listServices', opts);
    } catch (e) {
      return Promise.reject(e);
    }
    return listServices(this.conn, this.familyId, withDestinations);
  }

  /** The real servers of a service; fails with ESRCH when the service does not exist. */
  async listDestinations(key: ServiceKey): Promise<Destination[]> {
    checkServiceKey('listDestinations', key);
    // The kernel answers a destination dump of a missing service with an
    // empty list, so ask for the service in the same round trip.
    const [svc, dests] = await Promise.all([this.getService(key), this.dumpDestinations(undefined, key).catch((e) => e as IpvsError)]);
    if (!svc) throw missingService('listDestinations', key);
    if (dests instanceof IpvsError) throw dests;
    return dests;
  }

  private async dumpDestinations(svc: Service | undefined, key: ServiceKey): Promise<Destination[]> {
    const wire = checkServiceKey('listDestinations', key);
    const family = svc?.family ?? wire.family;
    const dests: Destination[] = [];
    const r = req.listDestinations(this.familyId, wire);
    r.onReply = (data, view, start, end) => void dests.push(scanDestination(data, view, start, end, family));
    await this.conn.request(r);
    return dests;
  }

  /** Like `ipvsadm -a -t VIP:PORT -r RIP:PORT -m -w 2`. */
  addDestination(service: ServiceKey, dest: DestinationSpec): Promise<void> {
    if (confirmsTunnel(dest)) return this.addTunnelDestination(service, dest);
    return this.change(CHANGES.addDestination, service, dest);
  }

  private async addTunnelDestination(service: ServiceKey, dest: DestinationSpec): Promise<void> {
    const given = destinationUpdate('addDestination', checkServiceKey('addDestination', service), dest); // (a plain copy, read once)
    await this.run(() => req.addDestination(this.familyId, service, given));
    await this.confirmTunnel('addDestination', service, given, true);
  }

  /**
   * Changes a real server (like `ipvsadm -e`); settings not given keep their
   * current values.
   */
  async updateDestination(service: ServiceKey, dest: DestinationSpec): Promise<void> {
    const k = checkServiceKey('updateDestination', service);
    const given = destinationUpdate('updateDestination', k, dest);
    const dk = checkDestinationKey('updateDestination', k, given);
    const list = await this.listDestinations(service);
    const current = list.find((d) => d.address === formatAddress(dk.family, dk.addr) && d.port === dk.port);
    if (!current) {
      throw new IpvsError(`real server ${dk.label} does not exist in virtual service ${k.label}`, { kind: 'kernel', errno: Errno.ENOENT, operation: 'updateDestination' });
    }
    await this.run(() => req.updateDestination(this.familyId, service, mergeDestination(current, given)));
    if (confirmsTunnel(given)) await this.confirmTunnel('updateDestination', service, given, false);
  }

  /**
   * Kernels before 5.2 ignore the tunnel attributes; read them back and, on
   * such a kernel, undo an add and say so.
   */
  private async confirmTunnel(op: string, service: ServiceKey, dest: DestinationSpec, undo: boolean): Promise<void> {
    const k = checkServiceKey(op, service);
    const dk = checkDestinationKey(op, k, dest);
    const got = (await this.listDestinations(service)).find((d) => d.address === formatAddress(dk.family, dk.addr) && d.port === dk.port);
    if (got?.tunnel?.type === dest.tunnel!.type) return;
    if (undo) await this.deleteDestination(service, dest).catch(() => undefined);
    throw new IpvsError(`${op}: this kernel does not support ${dest.tunnel!.type} tunnel settings (Linux 5.2 or later is needed)`, {
      kind: 'kernel', errno: Errno.EOPNOTSUPP, operation: op,
    });
  }

  /** Like `ipvsadm -d -t VIP:PORT -r RIP:PORT`. */
  deleteDestination(service: ServiceKey, dest: DestinationKey): Promise<void> {
    return this.change(CHANGES.deleteDestination, service, dest);
  }

  /** Removes every virtual service (like `ipvsadm -C`). */
  async flush(): Promise<void> {
    await this.run(() => req.flush(this.familyId));
  }

  /** Zeroes counters of one service, or of all (like `ipvsadm -Z [-t VIP:PORT]`). */
  async zero(service?: ServiceKey): Promise<void> {
    await this.run(() => req.zero(this.familyId, service));
  }

  /** Connection timeouts in seconds (like `ipvsadm -L --timeout`). */
  async getTimeouts(): Promise<Timeouts> {
    const replies = await this.run(() => req.getTimeouts(this.familyId));
    const m = replies[0];
    if (!m) throw new IpvsError('getTimeouts: no reply', { kind: 'decode', errno: Errno.EPROTO, operation: 'getTimeouts' });
    return decodeTimeouts(decodeGenl(m, 'config').attrs);
  }

  /** Sets timeouts; those left out or 0 stay as they are (like `ipvsadm --set tcp tcpfin udp`). */
  async setTimeouts(t: Partial<Timeouts>): Promise<void> {
    await this.run(() => req.setTimeouts(this.familyId, t));
  }

  /** Version and connection table size (ipvsadm's header line). */
  async info(): Promise<Info> {
    const replies = await this.run(() => req.info(this.familyId));
    const m = replies[0];
    if (!m) throw new IpvsError('info: no reply', { kind: 'decode', errno: Errno.EPROTO, operation: 'info' });
    return decodeInfo(decodeGenl(m, 'info').attrs);
  }

  /** Running sync daemons (like `ipvsadm -L --daemon`). */
  async listDaemons(): Promise<Daemon[]> {
    const replies = await this.run(() => req.listDaemons(this.familyId));
    return replies.map((m) => decodeDaemon(decodeGenl(m, 'daemon').attrs));
  }

  /** Like `ipvsadm --start-daemon master --mcast-interface eth0 --syncid 1`. */
  async startDaemon(spec: DaemonSpec): Promise<void> {
    await this.run(() => req.startDaemon(this.familyId, spec));
  }

  /** Like `ipvsadm --stop-daemon master`. */
  async stopDaemon(spec: { state: DaemonStateName }): Promise<void> {
    await this.run(() => req.stopDaemon(this.familyId, checkDaemonKey('stopDaemon', spec)));
  }

  /** A batch of changes sent together; see Batch. */
  batch(opts?: BatchOptions): Batch {
    const options = checkBatchOptions('batch', opts);
    const conn = this.conn;
    this.batchTarget ??= {
      familyId: this.familyId,
      feed: (source) => conn.feed(source),
      submit: (r, settle) => conn.submit(r, settle),
      listServices: (o) => this.listServices(o),
    };
    return new Batch(this.batchTarget, options);
  }

  private batchTarget: BatchTarget | undefined;
}


/** The client under its historical name (src/index.ts exports the facade as `Ipvs`). */
export { IpvsClient as Ipvs };

/**
 * Whether an add or update sets tunnel settings that a kernel before 5.2
 * ignores (so they are read back). A throwing getter answers no: the
 * checks then word it.
 */
function confirmsTunnel(dest: DestinationSpec): boolean {
  try {
    const t = dest?.tunnel;
    return !!t && (t.type !== 'ipip' || !!t.checksum);
  } catch {
    return false;
  }
}

/** The addon, from the path given (a path that does not load is the caller's input, and says so). */
function loadBinding(path: string | NativeBinding | undefined): NativeBinding {
  if (path === undefined) return loadNative();
  if (typeof path !== 'string') return loadNative(path); // (checked by checkOpenOptions)
  let binding: NativeBinding | undefined;
  try {
    binding = loadNative(path);
  } catch (e) {
    throw inputError('open', 'nativeBinding', `open: cannot load the native binding ${describeValue(path)}: ${describeValue(e)}`, e);
  }
  if (typeof binding?.NetlinkSocket !== 'function') throw inputError('open', 'nativeBinding', `open: ${describeValue(path)} is not the ipvs native binding (it has no NetlinkSocket)`);
  return binding;
}

function missingService(op: string, key: ServiceKey): IpvsError {
  const k = checkServiceKey(op, key);
  return new IpvsError(`virtual service ${k.label} does not exist`, { kind: 'kernel', errno: Errno.ESRCH, operation: op });
}
