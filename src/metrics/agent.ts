/**
 * The agent (src/agent) as a health source: its status() read per scrape,
 * plus counters kept from its log events (applies and drift repairs are
 * events; status() keeps only the last apply). Reads the agent's plain-data
 * types only, never its internals.
 */
import type { AgentEvent } from '../agent/log.js';
import type { AgentStatus } from '../agent/status.js';
import { destinationId, type DestinationHealth, type HealthSnapshot, type HealthSource, type ServiceIdentity } from './health.js';

/** How long the checker may start no check while it has some before it counts as stopped. */
const STALL_MS = 60_000;

/** RFC 5952 text of an IPv6 address (the kernel's listings use it); IPv4 as it is. */
function canonical(address: string): string {
  return address.includes(':') ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

/** The agent's service id ("TCP 10.0.0.1:80", "FWM 5 inet") as a service identity. */
export function parseAgentServiceId(id: string): ServiceIdentity | undefined {
  const mark = /^FWM (\d+) (inet6?)$/.exec(id);
  if (mark) return { family: mark[2] as 'inet' | 'inet6', fwmark: Number(mark[1]) };
  const m = /^(TCP|UDP|SCTP) (?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(id);
  if (!m) return undefined;
  const address = canonical(m[2] ?? m[3]!);
  return { family: address.includes(':') ? 'inet6' : 'inet', protocol: m[1]!.toLowerCase() as 'tcp' | 'udp' | 'sctp', address, port: Number(m[4]) };
}

export class AgentHealth implements HealthSource {
  private changesApplied = 0;
  private driftsRepaired = 0;
  private lastStarted = -1;
  private lastProgressMs = Date.now();

  constructor(private readonly agent: { status(): AgentStatus }) {}

  /** Give it every event of the agent (wrap the agent's `log` option) to count changes and repairs. */
  observe(e: AgentEvent): void {
    const n = Array.isArray(e.changes) ? e.changes.length : 0;
    if (e.event === 'apply' || e.event === 'repair') this.changesApplied += n;
    if (e.event === 'repair') this.driftsRepaired += n;
  }

  health(): HealthSnapshot {
    const st = this.agent.status();
    const now = Date.now();
    const draining = new Set(st.draining.map((d) => d.id));
    const destinations = new Map<string, DestinationHealth>();
    for (const s of st.services) {
      const key = parseAgentServiceId(s.id);
      if (!key) continue;
      for (const d of s.destinations) {
        const failing = d.checks.find((c) => !c.up && c.last);
        const since = Math.max(...d.checks.map((c) => Date.parse(c.since)).filter((x) => Number.isFinite(x)));
        const h: DestinationHealth = {
          state: draining.has(d.id) ? 'draining' : d.checks.length === 0 ? 'unknown' : d.up ? 'up' : 'down',
          configuredWeight: d.configuredWeight,
          transitions: d.checks.reduce((a, c) => a + c.transitions, 0),
          ...(d.checkDurations ? { checkDurations: d.checkDurations } : {}),
          ...(Number.isFinite(since) ? { sinceMs: since } : {}),
          ...(failing?.last ? { message: `${failing.type} ${failing.target}: ${failing.last.detail}` } : {}),
        };
        destinations.set(destinationId(key, { address: canonical(d.address), port: d.port }), h);
      }
    }
    // Alive while it starts checks (or has none to start).
    const started = st.scheduler.started;
    if (started !== this.lastStarted) {
      this.lastStarted = started;
      this.lastProgressMs = now;
    }
    const checkerAlive = st.scheduler.jobs === 0 || now - this.lastProgressMs < STALL_MS;
    const last = st.lastApply;
    return {
      destinations,
      reconcile: {
        changesApplied: this.changesApplied,
        driftsRepaired: this.driftsRepaired,
        checkerAlive,
        ...(last ? { lastTimeMs: Date.parse(last.at) } : {}),
        ...(last?.ms !== undefined ? { lastDurationSeconds: last.ms / 1000 } : {}),
        ...(last?.errors.length ? { lastError: last.errors.join('; ') } : {}),
      },
    };
  }
}
