/**
 * Brings the kernel to a desired state: one listing, then the difference
 * as one pipelined batch (services first, then their real servers).
 * Owned services absent from the desired state are deleted; a real server
 * the desired state no longer lists is either cut at once (a failed server:
 * its connections are dead anyway) or drained: weight 0, deleted once it
 * has no connections or its deadline passes. Drains live in this object,
 * so they outlast a single call. Every change is returned as one line of
 * text, which the agent logs.
 *
 * (Interim: the state layer's apply (#12) does this job for `ipvs apply`;
 * the agent moves onto it once that lands, keeping this interface.)
 */
import type { Batch } from '../batch.js';
import { maskToNumber } from '../ipvs/address.js';
import type { Destination, DestinationSpec, Service, ServiceKey } from '../ipvs/types.js';
import { checkDestination, checkService, type ServiceKeyWire } from '../ipvs/validate.js';
import type { DesiredService, DesiredState } from './desired.js';

/** What the reconciler needs of a handle. */
export interface ReconcileTarget {
  listServices(opts: { withDestinations: true }): Promise<Service[]>;
  batch(): Batch;
}

export interface ReconcileOptions {
  /** Does the agent own this kernel service (beyond those it declares)? */
  owns: (key: ServiceKey, label: string) => boolean;
  /** Ids ("SERVICE -> RIP:PORT") of real servers to delete at once when not desired (failed ones); others drain. */
  cut: ReadonlySet<string>;
  /** Seconds a drain may last. */
  drainSeconds: number;
  /** Clock in ms. */
  now?: () => number;
}

export interface ReconcileResult {
  /** One line per change made ("add real server TCP 10.0.0.1:80 -> 10.2.1.2:80 weight 1"). */
  changes: string[];
  /** One line per change the kernel refused. */
  errors: string[];
  /** Ids of real servers draining now. */
  draining: string[];
}

/** A change: its text and how to queue it. */
type Op = [string, (b: Batch) => void];

const SCHED_MASK = 0x1 | 0x4 | 0x8 | 0x10 | 0x20; // persistent, one-packet, sched flags 1-3 (hashed 0x2 left out)

function serviceLabel(s: Service): string {
  if (s.fwmark !== undefined) return `FWM ${s.fwmark} ${s.family}`;
  const a = s.family === 'inet6' ? `[${s.address}]` : s.address;
  return `${s.protocol!.toUpperCase()} ${a}:${s.port}`;
}
function destLabel(d: { family: string; address: string; port: number }): string {
  return d.family === 'inet6' ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`;
}
function wireLabel(w: ServiceKeyWire): string {
  return w.fwmark !== undefined ? `${w.label} ${w.family}` : w.label;
}
function keyOf(s: Service): ServiceKey {
  return s.fwmark !== undefined ? { fwmark: s.fwmark, family: s.family } : { protocol: s.protocol!, address: s.address!, port: s.port! };
}

export class Reconciler {
  /** Draining real servers by id, with their deadlines (ms). */
  private readonly drains = new Map<string, number>();
  /** Services the agent declared at some point: still owned after they leave the file. */
  private readonly declared = new Set<string>();

  constructor(private readonly ipvs: ReconcileTarget) {}

  async reconcile(desired: DesiredState, opts: ReconcileOptions): Promise<ReconcileResult> {
    const now = opts.now?.() ?? Date.now();
    const kernel = await this.ipvs.listServices({ withDestinations: true });
    const byLabel = new Map(kernel.map((s) => [serviceLabel(s), s]));
    // Services first (a real server needs its service), then real servers, then deletions.
    const services: Op[] = [];
    const dests: Op[] = [];
    const wanted = new Set<string>();
    for (const want of desired.services) {
      const wire = checkService('agent', want);
      const label = wireLabel(wire);
      wanted.add(label);
      this.declared.add(label);
      const have = byLabel.get(label);
      const { destinations = [], ...spec } = want;
      if (!have) services.push([`add service ${label}`, (b) => b.addService(spec)]);
      else if (!sameService(wire, have)) services.push([`update service ${label}`, (b) => b.updateService(spec)]);
      this.destinations(label, wire, want, destinations, have?.destinations ?? [], opts, now, dests);
    }
    const deletions: Op[] = [];
    for (const s of kernel) {
      const label = serviceLabel(s);
      if (wanted.has(label) || !(this.declared.has(label) || opts.owns(keyOf(s), label))) continue;
      deletions.push([`delete service ${label}`, (b) => b.deleteService(keyOf(s))]);
      for (const id of this.drains.keys()) if (id.startsWith(`${label} -> `)) this.drains.delete(id);
    }
    const ops = [...services, ...dests, ...deletions];
    const b = this.ipvs.batch();
    for (const [, queue] of ops) queue(b);
    const results = ops.length ? await b.run() : [];
    const done: string[] = [];
    const errors: string[] = [];
    results.forEach((r, i) => {
      if (r.ok) done.push(ops[i]![0]);
      else errors.push(`${ops[i]![0]}: ${'error' in r ? r.error.message : 'skipped'}`);
    });
    return { changes: done, errors, draining: [...this.drains.keys()] };
  }

  private destinations(
    label: string, wire: ServiceKeyWire, svc: DesiredService, wantList: DestinationSpec[], haveList: Destination[],
    opts: ReconcileOptions, now: number, later: Op[],
  ): void {
    const key = svc as ServiceKey;
    const haveBy = new Map(haveList.map((d) => [`${label} -> ${destLabel(d)}`, d]));
    const seen = new Set<string>();
    for (const want of wantList) {
      const dw = checkDestination('agent', wire, want);
      const id = `${label} -> ${dw.label}`;
      seen.add(id);
      this.drains.delete(id); // back in the file (or back up): a drain ends
      const have = haveBy.get(id);
      if (!have) later.push([`add real server ${id} weight ${dw.weight}`, (b) => b.addDestination(key, want)]);
      else if (have.weight !== dw.weight || have.forwarding !== (want.forwarding ?? 'route') || have.upperThreshold !== dw.upper || have.lowerThreshold !== dw.lower) {
        later.push([`update real server ${id} weight ${dw.weight}`, (b) => b.updateDestination(key, want)]);
      }
    }
    for (const [id, have] of haveBy) {
      if (seen.has(id)) continue;
      const dkey = { address: have.address, port: have.port };
      if (opts.cut.has(id)) {
        this.drains.delete(id);
        later.push([`delete real server ${id}`, (b) => b.deleteDestination(key, dkey)]);
        continue;
      }
      let deadline = this.drains.get(id);
      if (deadline === undefined) this.drains.set(id, (deadline = now + opts.drainSeconds * 1000));
      const idle = have.activeConnections + have.inactiveConnections === 0;
      if (idle || now >= deadline) {
        this.drains.delete(id);
        later.push([`delete real server ${id} (${idle ? 'drained' : 'drain deadline passed'})`, (b) => b.deleteDestination(key, dkey)]);
      } else if (have.weight !== 0) {
        later.push([`drain real server ${id} (weight 0)`, (b) => b.updateDestination(key, { ...dkey, forwarding: have.forwarding, weight: 0 })]);
      }
    }
  }

  /** Real servers draining now, with their deadlines (ms). */
  drainsInProgress(): ReadonlyMap<string, number> {
    return this.drains;
  }
}

function sameService(w: ReturnType<typeof checkService>, s: Service): boolean {
  if (w.scheduler !== s.scheduler) return false;
  if ((s.flags & SCHED_MASK) !== (w.flags & SCHED_MASK)) return false;
  if (w.flags & 0x1 && w.timeout !== s.timeout) return false;
  const mask = typeof s.netmask === 'number' ? s.netmask : maskToNumber(s.netmask);
  if (mask !== w.netmask) return false;
  return (w.pe ?? '') === (s.pe ?? '');
}
