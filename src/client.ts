/**
 * The public client: one handle on one netlink socket in one network
 * namespace. Every method is async and may run concurrently with the others;
 * calls made in the same turn of the event loop share system calls.
 */
import { isAbsolute } from 'node:path';
import { Errno, IpvsError, inputError } from './errors.js';
import { decodeGenl, resolveFamily } from './genetlink/genl.js';
import { formatAddress } from './ipvs/address.js';
import { NETLINK_GENERIC } from './netlink/constants.js';
import { Connection, type Request } from './netlink/connection.js';
import type { NetlinkMessage } from './netlink/message.js';
import { Batch, type BatchOptions, type BatchTarget } from './batch.js';
import { decodeDaemon, decodeInfo, decodeTimeouts } from './ipvs/codec.js';
import { scanDestination, scanService } from './ipvs/scan.js';
import { IPVS_GENL_NAME } from './ipvs/constants.js';
import { PERMISSION_TEXT } from './ipvs/describe.js';
import { mergeDestination, mergeService } from './ipvs/merge.js';
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
import { checkServiceKey, checkDestinationKey } from './ipvs/validate.js';
import { loadNative } from './native.js';
import { writeAddDestination, writeAddService, writeDeleteDestination, writeDeleteService } from './ipvs/fast.js';
import type { ByteWriter } from './netlink/attributes.js';
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
  /** Path of the compiled addon, for bundled setups (else IPVS_NATIVE_BINDING, else found by `bindings`). */
  nativeBinding?: string;
  /** Print every message sent and received; also on with IPVS_DEBUG=1. */
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

export class IpvsClient {
  protected constructor(
    private readonly conn: Connection,
    /** The IPVS generic netlink family id. */
    readonly familyId: number,
  ) {
    this.kinds = req.stagedKinds(familyId);
  }

  /** How staged changes are named and worded (see `staged`). */
  private readonly kinds: ReturnType<typeof req.stagedKinds>;

  /**
   * Opens a handle. Fails with a plain sentence when IPVS is missing (ENOENT:
   * `modprobe ip_vs`), without privilege (EPERM: CAP_NET_ADMIN), or when the
   * namespace cannot be entered.
   */
  static async open<T extends IpvsClient>(this: { prototype: T }, opts: OpenOptions = {}): Promise<T> {
    const path = opts.netns === undefined ? undefined : netnsPath(opts.netns);
    const debug = typeof opts.debug === 'function' ? opts.debug : opts.debug || process.env.IPVS_DEBUG ? (l: string) => process.stderr.write(`ipvs: ${l}\n`) : undefined;
    let conn: Connection;
    try {
      conn = new Connection({
        protocol: NETLINK_GENERIC,
        native: loadNative(opts.nativeBinding),
        ...(path !== undefined ? { netnsPath: path } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        ...(debug ? { debug } : {}),
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
      // (`this`: a subclass's open builds the subclass; the constructor is protected)
      const ipvs = new (this as unknown as new (c: Connection, id: number) => T)(conn, fam.id);
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

  /** Sends a prepared request (used by batches too). */
  send(r: Request): Promise<NetlinkMessage[]> {
    return this.conn.request(r);
  }

  /** Builds a request and sends it (the methods are async, so a validation error rejects). */
  private run(build: () => Request): Promise<NetlinkMessage[]> {
    return this.conn.request(build());
  }

  /**
   * A change in one promise (no async wrapper: thousands of concurrent calls
   * are common, and each wrapper is one more promise alive until the reply).
   * Bad input still rejects rather than throws.
   */
  private change(build: () => Request): Promise<void> {
    let r: Request;
    try {
      r = build();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.conn.requestVoid(r);
  }

  /**
   * A common change, encoded now by the fast lane (fast.ts) into the
   * connection's staging buffer and queued as bytes, with no request
   * object, so concurrent calls cost about what a batch does. Undefined
   * when the lane declines (the caller then takes the general path).
   */
  private staged<A, B>(op: req.StagedOperation, write: (w: ByteWriter, family: number, a: A, b: B) => boolean, a: A, b: B): Promise<void> | undefined {
    const w = this.conn.staging.writer();
    const at = w.length;
    let ok = false;
    try {
      ok = write(w, this.familyId, a, b);
    } catch {
      ok = false; // (a getter that throws, say: the general path reports it)
    } finally {
      if (!ok) w.length = at;
    }
    return ok ? this.conn.requestStaged(this.kinds[op], a, b) : undefined;
  }

  /** Like `ipvsadm -A -t VIP:PORT -s SCHED [-p [T]] [-M MASK] [-b FLAGS] [-o] [--pe sip]`. */
  addService(spec: ServiceSpec): Promise<void> {
    return this.staged('addService', writeAddService, spec, undefined) ?? this.change(() => req.addService(this.familyId, spec));
  }

  /**
   * Changes a service (like `ipvsadm -E`), but settings not given keep their
   * current values instead of returning to defaults.
   */
  async updateService(spec: ServiceSpec): Promise<void> {
    const current = await this.getService(spec);
    if (!current) {
      checkServiceKey('updateService', spec);
      throw missingService('updateService', spec);
    }
    await this.run(() => req.updateService(this.familyId, mergeService(current, spec)));
  }

  /** Like `ipvsadm -D -t VIP:PORT`. */
  deleteService(key: ServiceKey): Promise<void> {
    return this.staged('deleteService', writeDeleteService, key, undefined) ?? this.change(() => req.deleteService(this.familyId, key));
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
  listServices(opts: ListOptions = {}): Promise<Service[]> {
    return listServices(this.conn, this.familyId, opts.withDestinations === true);
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
    if (dest && dest.tunnel && (dest.tunnel.type !== 'ipip' || dest.tunnel.checksum)) return this.addTunnelDestination(service, dest);
    return this.staged('addDestination', writeAddDestination, service, dest) ?? this.change(() => req.addDestination(this.familyId, service, dest));
  }

  private async addTunnelDestination(service: ServiceKey, dest: DestinationSpec): Promise<void> {
    await this.run(() => req.addDestination(this.familyId, service, dest));
    await this.confirmTunnel('addDestination', service, dest, true);
  }

  /**
   * Changes a real server (like `ipvsadm -e`); settings not given keep their
   * current values.
   */
  async updateDestination(service: ServiceKey, dest: DestinationSpec): Promise<void> {
    const k = checkServiceKey('updateDestination', service);
    const dk = checkDestinationKey('updateDestination', k, dest);
    const list = await this.listDestinations(service);
    const current = list.find((d) => d.address === formatAddress(dk.family, dk.addr) && d.port === dk.port);
    if (!current) {
      throw new IpvsError(`real server ${dk.label} does not exist in virtual service ${k.label}`, { kind: 'kernel', errno: Errno.ENOENT, operation: 'updateDestination' });
    }
    await this.run(() => req.updateDestination(this.familyId, service, mergeDestination(current, dest)));
    if (dest.tunnel && (dest.tunnel.type !== 'ipip' || dest.tunnel.checksum)) {
      await this.confirmTunnel('updateDestination', service, dest, false);
    }
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
    return this.staged('deleteDestination', writeDeleteDestination, service, dest) ?? this.change(() => req.deleteDestination(this.familyId, service, dest));
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
    await this.run(() => req.stopDaemon(this.familyId, spec?.state));
  }

  /** A batch of changes sent together; see Batch. */
  batch(opts: BatchOptions = {}): Batch {
    const conn = this.conn;
    this.batchTarget ??= {
      familyId: this.familyId,
      feed: (source) => conn.feed(source),
      submit: (r, settle) => conn.submit(r, settle),
      listServices: (o) => this.listServices(o),
    };
    return new Batch(this.batchTarget, opts);
  }

  private batchTarget: BatchTarget | undefined;
}


function missingService(op: string, key: ServiceKey): IpvsError {
  const k = checkServiceKey(op, key);
  return new IpvsError(`virtual service ${k.label} does not exist`, { kind: 'kernel', errno: Errno.ESRCH, operation: op });
}
