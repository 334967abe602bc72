/**
 * What the metrics and the status page know beyond the kernel's listing:
 * an optional health source (the agent, or anything else that checks real
 * servers). Everything here is plain data, read once per scrape, so the
 * source's own loop and the exporter never wait on each other.
 */
import type { Destination, Service } from '../ipvs/types.js';

/** What a checker thinks of a real server. */
export type HealthState = 'up' | 'down' | 'draining' | 'unknown';

export const HEALTH_STATES: readonly HealthState[] = ['up', 'down', 'draining', 'unknown'];

/**
 * A cumulative histogram of check durations in seconds, Prometheus style:
 * `counts[i]` checks took at most `bounds[i]` seconds (bounds ascending,
 * +Inf implied: its count is `count`).
 */
export interface DurationHistogram {
  bounds: readonly number[];
  counts: readonly number[];
  count: number;
  /** Sum of all durations, in seconds. */
  sum: number;
}

/** One real server as its checker sees it. */
export interface DestinationHealth {
  state: HealthState;
  /** The weight the configuration asks for (the kernel's may be lower while down or draining). */
  configuredWeight?: number;
  /** How many times the state changed since the source started. */
  transitions?: number;
  /** Durations of the health checks. */
  checkDurations?: DurationHistogram;
  /** When the state last changed, in ms since the epoch. */
  sinceMs?: number;
  /** Why, in words (the last check's failure, "draining: removed from config", ...). */
  message?: string;
}

/** The agent's own loop, when there is one. */
export interface ReconcileHealth {
  /** How long the last reconcile took, in seconds. */
  lastDurationSeconds?: number;
  /** When the last reconcile finished, in ms since the epoch. */
  lastTimeMs?: number;
  /** Changes applied to the kernel since start (a counter). */
  changesApplied: number;
  /** Changes made because the kernel had drifted from the desired state (a counter). */
  driftsRepaired: number;
  /** Whether the checker loop is alive (it ran recently). */
  checkerAlive: boolean;
  /** The last reconcile's failure, if it failed. */
  lastError?: string;
}

/** A snapshot, taken once per scrape or page load. */
export interface HealthSnapshot {
  /** By `destinationId(service, destination)`. */
  destinations?: ReadonlyMap<string, DestinationHealth>;
  reconcile?: ReconcileHealth;
}

/** Anything that can say how real servers are doing; called once per scrape. */
export interface HealthSource {
  health(): HealthSnapshot;
}

/** The fields of a service that identify it (a listed `Service` or a key). */
export type ServiceIdentity = Pick<Service, 'family' | 'protocol' | 'address' | 'port' | 'fwmark'>;

/**
 * A service's identity as text: `tcp/10.0.0.1:80`, `udp/[2001:db8::1]:53`,
 * `fwmark/inet/7`. Stable across listings; used as the key of history and health.
 */
export function serviceId(s: ServiceIdentity): string {
  if (s.fwmark !== undefined) return `fwmark/${s.family}/${s.fwmark}`;
  return `${s.protocol}/${hostPort(s.address ?? '', s.port ?? 0)}`;
}

/** A real server's identity within its service: `tcp/10.0.0.1:80>10.1.0.2:8080`. */
export function destinationId(s: ServiceIdentity, d: Pick<Destination, 'address' | 'port'>): string {
  return `${serviceId(s)}>${hostPort(d.address, d.port)}`;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
