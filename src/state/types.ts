/**
 * Types of the declarative layer: the state a caller wants, what owns what,
 * the changes a plan holds, and what an apply did.
 */
import type { IpvsError } from '../errors.js';
import type { IpvsSysctls, SysctlName } from '../procfs/sysctls.js';
import type { DestinationKey, DestinationSpec, ServiceKey, ServiceOptions, ServiceSpec } from '../ipvs/types.js';

/** Graceful removal of real servers: weight 0 first, delete once idle or at the deadline. */
export interface DrainOptions {
  /** Delete at the latest this many seconds after the drain began. */
  timeoutSeconds: number;
  /** Delete real servers of UDP services at once (UDP "connections" idle out slowly). Default false. */
  udpImmediate?: boolean;
}

/**
 * A virtual service as wanted: its key, its settings (defaults as in
 * `addService`: scheduler wlc, no persistence, netmask all ones) and its
 * real servers (order does not matter: apply adds them in its own order,
 * see README "Deterministic order").
 */
export type DesiredService = ServiceKey &
  ServiceOptions & {
    destinations?: DestinationSpec[];
    /** Drain real servers removed from this service (overrides the apply's `drain`). */
    drain?: false | DrainOptions;
  };

/** The whole wanted state of the owned part of the table. */
export interface DesiredState {
  services: DesiredService[];
  /**
   * IPVS sysctls of the namespace (net.ipv4.vs.*), written before the
   * services by the handle's apply (e.g. sloppy_tcp for directors behind
   * ECMP); settings not named are left as they are.
   */
  sysctls?: Partial<IpvsSysctls>;
}

/** An inclusive range of firewall marks. */
export interface FwmarkRange {
  from: number;
  to: number;
}

/**
 * What an apply may touch. With `predicate`, exactly what it accepts;
 * otherwise, when `cidrs` or `fwmarks` is given, address services whose
 * address lies in one of the CIDRs and firewall-mark services whose mark
 * lies in one of the ranges; with none of them, everything.
 */
export interface Ownership {
  cidrs?: string[];
  fwmarks?: FwmarkRange[];
  predicate?: (key: ServiceKey) => boolean;
}

export interface PlanOptions {
  /** What the caller owns; default everything. */
  owns?: Ownership;
  /** Graceful removal of real servers and services; default false (delete at once). */
  drain?: false | DrainOptions;
  /**
   * When real servers are put in the documented order: 'on-add' (default)
   * when a service gets a new real server, 'always' for every service whose
   * order differs (see README "Deterministic order").
   */
  order?: 'on-add' | 'always';
}

export type ApplyOptions = PlanOptions;

export interface SnapshotOptions {
  /** Only the services owned; default all. */
  owns?: Ownership;
  /** Include the namespace's IPVS sysctls (`sysctls:`), all the kernel has. Default false. */
  sysctls?: boolean;
}

/** One step of a plan; each sends at most one request. */
export type Change =
  | { op: 'addService'; service: ServiceSpec }
  /** `before`: the changed settings as the kernel had them. */
  | { op: 'updateService'; service: ServiceSpec; fields: string[]; before: Partial<ServiceSpec> }
  | { op: 'deleteService'; service: ServiceKey }
  | { op: 'addDestination'; service: ServiceKey; destination: DestinationSpec; reason?: string }
  | { op: 'updateDestination'; service: ServiceKey; destination: DestinationSpec; fields: string[]; before: Partial<DestinationSpec>; reason?: string }
  | { op: 'deleteDestination'; service: ServiceKey; destination: DestinationKey; reason?: string }
  /** Weight 0 now (no request when it is 0 already), deleted once idle or at the deadline. */
  | { op: 'drainDestination'; service: ServiceKey; destination: DestinationSpec; fromWeight: number; timeoutSeconds: number }
  /** Every real server to weight 0 (drainDestination steps), the service deleted once all are idle. */
  | { op: 'drainService'; service: ServiceKey; timeoutSeconds: number }
  /** An IPVS sysctl of the namespace (net.ipv4.vs.NAME) written; `before` absent when the kernel lacks it. Written first. */
  | { op: 'setSysctl'; sysctl: SysctlName; value: IpvsSysctls[SysctlName]; before?: IpvsSysctls[SysctlName] };

/** The ordered changes that turn the kernel's state into the desired one. */
export interface Plan {
  changes: Change[];
}

/** What happened to one change. */
export type ChangeResult =
  | { change: Change; ok: true }
  | { change: Change; ok: false; error: IpvsError }
  | { change: Change; ok: false; skipped: string };

export type DrainOutcome =
  /** Active and inactive connections reached 0; deleted. */
  | 'drained'
  /** The deadline passed; deleted with connections left. */
  | 'deadline'
  /** Wanted again before the end; its settings were restored. */
  | 'restored'
  /** Someone else removed it first. */
  | 'gone'
  /** cancel() or close(): left as it was (weight 0). */
  | 'cancelled'
  /** The delete failed (see `error`). */
  | 'failed';

/** A drain in progress (or finished). */
export interface DrainHandle {
  service: ServiceKey;
  /** Absent when the whole service drains. */
  destination?: DestinationKey;
  /** When it is deleted at the latest (ms since the epoch). */
  deadline: number;
  /** Connections seen at the last poll (active + inactive), undefined before the first. */
  connections: number | undefined;
  /** Settles when the drain ends; never rejects. */
  done: Promise<{ outcome: DrainOutcome; error?: IpvsError }>;
  /** Stops tracking it (the kernel keeps weight 0). */
  cancel(): void;
}

export interface ApplyResult {
  /** One result per change, in plan order. */
  changes: ChangeResult[];
  /** Requests sent (netlink messages, and sysctl writes). */
  sent: number;
  /** Changes that failed or were skipped. */
  failed: number;
  /** Drains begun by this apply. */
  drains: DrainHandle[];
}
