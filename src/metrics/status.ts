/**
 * The status page's data (/status.json): every service with its real
 * servers, their health, weights, connections, counters and rates, and the
 * recent rate history. Counters and rates are decimal strings, as in
 * `ipvs -L --json`, so 64-bit values stay exact in any JSON reader.
 */
import type { Destination, Service, Stats } from '../ipvs/types.js';
import { destinationId, serviceId, type HealthSnapshot, type HealthState, type ReconcileHealth } from './health.js';
import type { RateHistory, RateSeries } from './history.js';

export type StatusStats = Record<keyof Stats, string>;

export interface StatusDestination {
  id: string;
  address: string;
  port: number;
  forwarding: Destination['forwarding'];
  /** The kernel's weight (what it schedules by). */
  weight: number;
  /** The weight the configuration asks for, when a checker says. */
  configuredWeight?: number;
  activeConnections: number;
  inactiveConnections: number;
  persistentConnections: number;
  stats: StatusStats;
  /** Present when a health source reports on this real server. */
  health?: { state: HealthState; sinceMs?: number; message?: string };
  history?: RateSeries;
}

export interface StatusService {
  id: string;
  family: Service['family'];
  protocol?: Service['protocol'];
  address?: string;
  port?: number;
  fwmark?: number;
  scheduler: string;
  persistent?: number;
  stats: StatusStats;
  /** Sums over the real servers. */
  activeConnections: number;
  inactiveConnections: number;
  destinations: StatusDestination[];
  history?: RateSeries;
}

export interface StatusDocument {
  schema: 1;
  /** When the listing was made, ISO 8601. */
  time: string;
  /** Seconds between history points (history arrays end at `time`). */
  historyStepSeconds?: number;
  /** How long the listing took, in seconds. */
  listingSeconds?: number;
  services: StatusService[];
  reconcile?: ReconcileHealth;
}

function stats(st: Stats): StatusStats {
  return {
    connections: String(st.connections),
    packetsIn: String(st.packetsIn),
    packetsOut: String(st.packetsOut),
    bytesIn: String(st.bytesIn),
    bytesOut: String(st.bytesOut),
    cps: String(st.cps),
    packetsInPerSecond: String(st.packetsInPerSecond),
    packetsOutPerSecond: String(st.packetsOutPerSecond),
    bytesInPerSecond: String(st.bytesInPerSecond),
    bytesOutPerSecond: String(st.bytesOutPerSecond),
  };
}

export interface StatusInput {
  services: readonly Service[];
  timeMs: number;
  health?: HealthSnapshot;
  history?: RateHistory;
  listingSeconds?: number;
}

/** The status document of one listing. */
export function buildStatus(input: StatusInput): StatusDocument {
  const { health, history } = input;
  const services = input.services.map((s): StatusService => {
    const id = serviceId(s);
    const destinations = (s.destinations ?? []).map((d): StatusDestination => {
      const did = destinationId(s, d);
      const h = health?.destinations?.get(did);
      const hist = history?.get(did);
      return {
        id: did,
        address: d.address,
        port: d.port,
        forwarding: d.forwarding,
        weight: d.weight,
        ...(h?.configuredWeight !== undefined ? { configuredWeight: h.configuredWeight } : {}),
        activeConnections: d.activeConnections,
        inactiveConnections: d.inactiveConnections,
        persistentConnections: d.persistentConnections,
        stats: stats(d.stats),
        ...(h ? { health: { state: h.state, ...(h.sinceMs !== undefined ? { sinceMs: h.sinceMs } : {}), ...(h.message !== undefined ? { message: h.message } : {}) } } : {}),
        ...(hist ? { history: hist } : {}),
      };
    });
    const hist = history?.get(id);
    return {
      id,
      family: s.family,
      ...(s.fwmark !== undefined ? { fwmark: s.fwmark } : { protocol: s.protocol!, address: s.address!, port: s.port! }),
      scheduler: s.scheduler,
      ...(s.persistent !== undefined ? { persistent: s.persistent } : {}),
      stats: stats(s.stats),
      activeConnections: destinations.reduce((a, d) => a + d.activeConnections, 0),
      inactiveConnections: destinations.reduce((a, d) => a + d.inactiveConnections, 0),
      destinations,
      ...(hist ? { history: hist } : {}),
    };
  });
  return {
    schema: 1,
    time: new Date(input.timeMs).toISOString(),
    ...(history ? { historyStepSeconds: history.stepMs / 1000 } : {}),
    ...(input.listingSeconds !== undefined ? { listingSeconds: input.listingSeconds } : {}),
    services,
    ...(health?.reconcile ? { reconcile: health.reconcile } : {}),
  };
}
