/**
 * The handle users open: the client (client.ts) plus the declarative
 * methods of the state layer. Higher layers add methods here, as thin calls
 * into their own folders; no lower layer imports this file.
 */
import { IpvsClient } from './client.js';
import { Reconciler } from './state/reconciler.js';
import type { ApplyOptions, ApplyResult, DesiredState, DrainHandle, Ownership, Plan, PlanOptions } from './state/types.js';

export class Ipvs extends IpvsClient {
  /** Drains outlive one apply, so the handle keeps one Reconciler. */
  private reconciler: Reconciler | undefined;

  private get state(): Reconciler {
    return (this.reconciler ??= new Reconciler(this));
  }

  /** The whole state (or the owned part) in the shape `apply` takes, without counters. Like `ipvsadm -Sn`. */
  snapshot(opts: { owns?: Ownership } = {}): Promise<DesiredState> {
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
