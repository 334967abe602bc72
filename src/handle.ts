/**
 * The handle users open: the client (client.ts) plus the declarative
 * methods of the state layer. Higher layers add methods here, as thin calls
 * into their own folders; no lower layer imports this file.
 */
import { IpvsClient, netnsPath, type OpenOptions } from './client.js';
import { listConnections, type IpvsConnection } from './procfs/connections.js';
import type { NamespaceFileOptions } from './procfs/files.js';
import { getSysctls, setSysctls, type IpvsSysctls } from './procfs/sysctls.js';
import { Reconciler } from './state/reconciler.js';
import type { ApplyOptions, ApplyResult, DesiredState, DrainHandle, Plan, PlanOptions, SnapshotOptions } from './state/types.js';

export class Ipvs extends IpvsClient {
  /** Where this handle's namespace files are (procfs: connections, sysctls). */
  private procfs: NamespaceFileOptions = {};

  /** Like IpvsClient.open; the handle also remembers its namespace for the procfs methods. */
  static override async open<T extends IpvsClient>(this: { prototype: T }, opts: OpenOptions = {}): Promise<T> {
    const h: T = await IpvsClient.open.call<{ prototype: T }, [OpenOptions], Promise<T>>(this, opts);
    if (h instanceof Ipvs) {
      h.procfs = {
        ...(opts.netns !== undefined ? { netnsPath: netnsPath(opts.netns) } : {}),
        ...(opts.nativeBinding !== undefined ? { nativeBinding: opts.nativeBinding } : {}),
      };
    }
    return h;
  }

  /**
   * The connection table of the handle's namespace (like `ipvsadm -Lnc`);
   * with `origin`, whether each entry was made here or came from a sync
   * master (no persistence-engine data then).
   */
  listConnections(opts: { origin?: boolean } = {}): Promise<IpvsConnection[]> {
    return listConnections({ ...this.procfs, ...opts });
  }

  /** The namespace's IPVS sysctls (like `sysctl net.ipv4.vs`). */
  getSysctls(): Promise<Partial<IpvsSysctls>> {
    return getSysctls(this.procfs);
  }

  /** Writes IPVS sysctls, every value checked first (like `sysctl -w net.ipv4.vs.NAME=VALUE`). */
  setSysctls(values: Partial<IpvsSysctls>): Promise<void> {
    return setSysctls(values, this.procfs);
  }

  /** Drains outlive one apply, so the handle keeps one Reconciler. */
  private reconciler: Reconciler | undefined;

  private get state(): Reconciler {
    return (this.reconciler ??= new Reconciler(this));
  }

  /** The whole state (or the owned part; with `sysctls`, the IPVS sysctls too) in the shape `apply` takes, without counters. Like `ipvsadm -Sn`. */
  snapshot(opts: SnapshotOptions = {}): Promise<DesiredState> {
    return this.state.snapshot(opts);
  }

  /** The ordered changes that would turn the kernel's state into `desired` (one listing; nothing sent). */
  plan(desired: DesiredState, opts: PlanOptions = {}): Promise<Plan> {
    return this.state.plan(desired, opts);
  }

  /**
   * Makes the owned part of the table equal to `desired` with the fewest
   * changes, through pipelined batches; one result per change. Like
   * `ipvsadm -C` then `-R`, without the moment of emptiness.
   */
  apply(desired: DesiredState, opts: ApplyOptions = {}): Promise<ApplyResult> {
    // (the state's sysctls are changes of the plan, written first: sloppy_tcp must hold before a director takes flows)
    return this.state.apply(desired, opts);
  }

  /** Real servers and services still draining after earlier applies. */
  draining(): DrainHandle[] {
    return this.reconciler?.draining() ?? [];
  }

  /** Closes the socket; drains in progress stop (their servers keep weight 0). */
  override close(): void {
    this.reconciler?.close();
    super.close();
  }
}
