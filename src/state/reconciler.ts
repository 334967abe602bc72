/**
 * The declarative entry points. A Reconciler belongs to one handle and keeps
 * what must outlive one apply (drains in progress), apart from the desired
 * state, which each apply replaces. The free functions (snapshot, plan,
 * apply) use a Reconciler of their own per call.
 */
import type { IpvsClient } from '../client.js';
import type { ServiceKey } from '../ipvs/types.js';
import { execute } from './apply.js';
import { diff, drainId, isEmpty, planChanges, type Diff } from './diff.js';
import { DrainTracker, type DrainTrackerOptions } from './drain.js';
import { desiredId, servicePort, wantedDestId } from './desired.js';
import { ownerTest } from './ownership.js';
import { toDesired } from './snapshot.js';
import { readSysctls, sysctlChanges, type SysctlClient } from './sysctls.js';
import { StateError, checkDesired, checkDrain, type StateProblem, type Wanted } from './validate.js';
import type { ApplyOptions, ApplyResult, DesiredState, DrainHandle, Ownership, Plan, PlanOptions, SnapshotOptions } from './types.js';

/** What the state layer needs of the client: one listing and batches (and, for states with sysctls, the handle's sysctl methods). */
export type StateClient = Pick<IpvsClient, 'listServices' | 'batch' | 'listDestinations' | 'deleteDestination' | 'deleteService'> & SysctlClient;

export class Reconciler {
  private readonly drains: DrainTracker;

  constructor(
    private readonly ipvs: StateClient,
    opts: DrainTrackerOptions = {},
  ) {
    this.drains = new DrainTracker(ipvs, opts);
  }

  /**
   * The namespace's services (those owned), in the shape apply takes. Like
   * `ipvsadm -Sn`. With `sysctls`, its IPVS sysctls too (all the kernel
   * has), so applying the snapshot also changes nothing.
   */
  async snapshot(opts: SnapshotOptions = {}): Promise<DesiredState> {
    const owned = checkedOwner(opts.owns, 'snapshot');
    const sysctls = opts.sysctls ? await readSysctls(this.ipvs, 'snapshot') : undefined;
    const listed = await this.ipvs.listServices({ withDestinations: true });
    const state = toDesired(listed, (n) => owned(n.key));
    return sysctls ? { sysctls, ...state } : state;
  }

  /** The ordered changes apply would make now (one listing, nothing sent). */
  async plan(desired: DesiredState, opts: PlanOptions = {}): Promise<Plan> {
    return { changes: planChanges((await this.prepare(desired, opts, 'plan')).diff) };
  }

  /**
   * Makes the owned part of the table equal to `desired` (one listing, and
   * a read of the sysctls it names; then those that differ are written and
   * at most two pipelined batches sent). Resolves with one result per
   * change; drains go on after it returns (see `draining`).
   */
  async apply(desired: DesiredState, opts: ApplyOptions = {}): Promise<ApplyResult> {
    const { diff: d, restored } = await this.prepare(desired, opts, 'apply');
    const result = isEmpty(d) ? { changes: [], sent: 0, failed: 0, drains: [] } : await execute(this.ipvs, d, this.drains);
    for (const id of restored) this.drains.restore(id);
    return result;
  }

  /** Drains in progress. */
  draining(): DrainHandle[] {
    return this.drains.list();
  }

  /** Stops every drain (the servers keep weight 0) and its timer. */
  close(): void {
    this.drains.close();
  }

  private async prepare(desired: DesiredState, opts: PlanOptions, operation: string): Promise<{ diff: Diff; restored: string[] }> {
    const problems: StateProblem[] = [];
    checkDrain(opts.drain, 'drain', problems);
    if (opts.order !== undefined && opts.order !== 'on-add' && opts.order !== 'always') problems.push({ path: 'order', message: `must be 'on-add' or 'always'` });
    let wanted: Wanted | undefined;
    try {
      wanted = checkDesired(desired, opts.owns);
    } catch (e) {
      if (!(e instanceof StateError)) throw e;
      problems.push(...e.problems);
    }
    if (problems.length || !wanted) throw new StateError(problems, operation);
    const owned = ownerTest(opts.owns);
    // (sysctls are the namespace's, whatever the apply owns: the state names them)
    const sysctls = desired.sysctls === undefined ? [] : sysctlChanges(desired.sysctls, await readSysctls(this.ipvs, operation));
    const current = await this.ipvs.listServices({ withDestinations: true });
    const draining = this.drains.ids();
    const d = diff({ current, desired: wanted, owned, options: opts, draining });
    d.sysctls = sysctls;
    const restored: string[] = [];
    if (draining.size) {
      for (const w of wanted.services) {
        const id = desiredId(w);
        const port = servicePort(w);
        if (draining.has(drainId(id))) restored.push(drainId(id));
        for (const x of w.destinations ?? []) {
          const dest = drainId(id, wantedDestId(x, port));
          if (draining.has(dest)) restored.push(dest);
        }
      }
    }
    return { diff: d, restored };
  }
}

function checkedOwner(owns: Ownership | undefined, operation: string): (key: ServiceKey) => boolean {
  const problems: StateProblem[] = [];
  const owned = ownerTest(owns, problems);
  if (problems.length) throw new StateError(problems, operation);
  return owned;
}

/** The namespace's state (owned part) in the shape apply takes. */
export function snapshot(ipvs: StateClient, opts: SnapshotOptions = {}): Promise<DesiredState> {
  return new Reconciler(ipvs).snapshot(opts);
}

/** The changes that would turn the kernel's state into `desired`. */
export function plan(ipvs: StateClient, desired: DesiredState, opts: PlanOptions = {}): Promise<Plan> {
  return new Reconciler(ipvs).plan(desired, opts);
}

/**
 * Applies `desired` once. Drains it starts go on (their handles are in the
 * result), but a later call does not know them: long-lived callers keep
 * one Reconciler (or use the Ipvs facade's methods) instead.
 */
export function apply(ipvs: StateClient, desired: DesiredState, opts: ApplyOptions = {}): Promise<ApplyResult> {
  return new Reconciler(ipvs).apply(desired, opts);
}
