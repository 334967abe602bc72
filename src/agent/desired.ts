/**
 * The state the kernel should have: the configured state minus failed real
 * servers, with keepalived's quorum rules. A pure function of the config,
 * the servers' health and the previous quorum states.
 *
 * Quorum (as keepalived's ipwrapper.c): a service's live weight is the sum
 * of the weights of its up real servers. Quorum is gained when the live
 * weight reaches quorum + hysteresis, and lost when it falls below
 * quorum - hysteresis (or to 0). While quorum is lost and a sorry server is
 * configured, the sorry server is the service's only active real server:
 * the alive servers are taken out too (weight 0 for inhibit ones), so that
 * a pool too small to carry the load does not take it. With
 * sorry_server_inhibit the sorry server stays at weight 0 while quorum holds.
 */
import type { DestinationSpec } from '../ipvs/types.js';
import { canonicalAddress } from '../state/normalize.js';
import { serviceIdOf } from '../state/desired.js';
import type { DesiredService, DesiredState } from '../state/types.js';
import type { AgentConfig, AgentService } from './types.js';

export type { DesiredService, DesiredState };

/** A real server's health as the checks see it. */
export interface ServerHealth {
  up: boolean;
  /** A weight asked for by a dynamic-weight check. */
  weight?: number;
}

/** What the computation decided for one real server. */
export interface ServerOutcome {
  up: boolean;
  configuredWeight: number;
  /** The weight put in the kernel; null when the server is left out. */
  effectiveWeight: number | null;
}

export interface DesiredOutcome {
  desired: DesiredState;
  /** Quorum state per service id (feed back as `previousQuorum` next time). */
  quorum: Map<string, boolean>;
  /** Per real server id. */
  servers: Map<string, ServerOutcome>;
  /** Ids of services whose sorry server is in. */
  sorry: Set<string>;
}

/** Live weight of a service: the weights of its up real servers. */
export function liveWeight(service: AgentService, health: (id: string) => ServerHealth): number {
  let sum = 0;
  for (const d of service.destinations) {
    const h = health(d.id);
    if (h.up) sum += h.weight ?? d.spec.weight ?? 1;
  }
  return sum;
}

/** The next quorum state: gained at quorum + hysteresis, lost below quorum - hysteresis. */
export function nextQuorum(previous: boolean | undefined, weight: number, quorum: number, hysteresis: number): boolean {
  if (previous === undefined || !previous) return weight >= quorum + hysteresis;
  return !(weight === 0 || weight < quorum - hysteresis);
}

export function computeDesired(
  config: AgentConfig,
  health: (id: string) => ServerHealth,
  previousQuorum: ReadonlyMap<string, boolean> = new Map(),
): DesiredOutcome {
  const quorum = new Map<string, boolean>();
  const servers = new Map<string, ServerOutcome>();
  const sorry = new Set<string>();
  const services: DesiredService[] = [];
  for (const s of config.services) {
    const q = nextQuorum(previousQuorum.get(s.id), liveWeight(s, health), s.quorum, s.hysteresis);
    quorum.set(s.id, q);
    const sorryIn = !q && s.sorryServer !== undefined;
    if (sorryIn) sorry.add(s.id);
    const destinations: DestinationSpec[] = [];
    for (const d of s.destinations) {
      const h = health(d.id);
      const configuredWeight = d.spec.weight ?? 1;
      let effectiveWeight: number | null;
      if (h.up && !sorryIn) effectiveWeight = h.weight ?? configuredWeight;
      else effectiveWeight = d.onFailure === 'inhibit' ? 0 : null;
      servers.set(d.id, { up: h.up, configuredWeight, effectiveWeight });
      if (effectiveWeight !== null) destinations.push({ ...d.spec, weight: effectiveWeight });
    }
    if (sorryIn) destinations.push({ ...s.sorryServer! });
    else if (s.sorryServer && s.sorryServerInhibit) destinations.push({ ...s.sorryServer, weight: 0 });
    services.push({ ...s.key, ...s.options, destinations } as DesiredService);
  }
  return { desired: { services }, quorum, servers, sorry };
}

const destIdOf = (d: DestinationSpec, servicePort: number): string => `${canonicalAddress(d.address)?.text ?? d.address}|${d.port ?? servicePort}`;
const portOf = (s: DesiredService): number => ('port' in s && typeof s.port === 'number' ? s.port : 0);

/**
 * `next` plus what `prev` had that `config` no longer declares: services and
 * real servers that left the file, as `prev` had them. Applied without
 * drains before a reload's draining apply, it takes out at once what the
 * checks failed and leaves only what left the file for the drain.
 */
export function withDeparted(next: DesiredState, prev: DesiredState, config: AgentConfig): DesiredState {
  const declared = new Map<string, Set<string>>();
  for (const s of config.services) {
    const svc = { ...s.key } as DesiredService;
    const ids = new Set(s.destinations.map((d) => destIdOf(d.spec, portOf(svc))));
    if (s.sorryServer) ids.add(destIdOf(s.sorryServer, portOf(svc)));
    declared.set(serviceIdOf(svc), ids);
  }
  const prevById = new Map(prev.services.map((s) => [serviceIdOf(s), s]));
  const services = next.services.map((s) => {
    const id = serviceIdOf(s);
    const was = prevById.get(id);
    prevById.delete(id);
    const keep = declared.get(id) ?? new Set<string>();
    const departed = (was?.destinations ?? []).filter((d) => !keep.has(destIdOf(d, portOf(s))));
    return departed.length ? { ...s, destinations: [...(s.destinations ?? []), ...departed] } : s;
  });
  return { services: [...services, ...prevById.values()] };
}
