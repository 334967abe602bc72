// The fast renderer (label sets in one buffer, values read as columns, digits
// written by hand: src/metrics/columns.ts, text.ts) held byte for byte equal
// to a naive twin written here: plain string concatenation, String(bigint),
// one template per line. Listings with counters past 2^53 up to 2^64 - 1,
// IPv6, firewall marks, label values needing escapes and non-ASCII, health.
import { describe, expect, it } from 'vitest';
import type { Destination, Service, Stats } from '../../src/ipvs/types.js';
import { destinationId, metricChunks, renderMetrics, type DestinationHealth, type HealthSnapshot, type RenderOptions } from '../../src/metrics/index.js';

const COUNTERS: Array<[string, keyof Stats, string]> = [
  ['connections_total', 'connections', 'Connections scheduled'],
  ['incoming_packets_total', 'packetsIn', 'Packets in (client to real server)'],
  ['outgoing_packets_total', 'packetsOut', 'Packets out (real server to client)'],
  ['incoming_bytes_total', 'bytesIn', 'Bytes in (client to real server)'],
  ['outgoing_bytes_total', 'bytesOut', 'Bytes out (real server to client)'],
];
const RATES: Array<[string, keyof Stats, string]> = [
  ['connections_per_second', 'cps', "Connections per second (the kernel's 2 s estimator)"],
  ['incoming_packets_per_second', 'packetsInPerSecond', "Packets in per second (the kernel's estimator)"],
  ['outgoing_packets_per_second', 'packetsOutPerSecond', "Packets out per second (the kernel's estimator)"],
  ['incoming_bytes_per_second', 'bytesInPerSecond', "Bytes in per second (the kernel's estimator)"],
  ['outgoing_bytes_per_second', 'bytesOutPerSecond', "Bytes out per second (the kernel's estimator)"],
];
const STATES = ['up', 'down', 'draining', 'unknown'];

/** The naive twin: what the text must be, line by line. */
function naive(services: Service[], health?: HealthSnapshot, opts: RenderOptions = {}): string {
  const esc = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
  const num = (x: number) => (Number.isNaN(x) ? 'NaN' : x === Infinity ? '+Inf' : x === -Infinity ? '-Inf' : String(x));
  let out = '';
  const head = (name: string, kind: string, help: string) => (out += `# HELP ${name} ${help}\n# TYPE ${name} ${kind}\n`);
  const svc: Array<{ labels: string; s: Service }> = [];
  const dst: Array<{ labels: string; s: Service; d: Destination; h: DestinationHealth | undefined }> = [];
  for (const s of services) {
    const base =
      s.fwmark !== undefined
        ? `local_port="0",proto="FWM",local_mark="${s.fwmark.toString(16).toUpperCase().padStart(8, '0')}",family="${s.family}"`
        : `local_address="${esc(s.address ?? '')}",local_port="${s.port ?? 0}",proto="${(s.protocol ?? '').toUpperCase()}"`;
    svc.push({ labels: `${base},scheduler="${esc(s.scheduler)}"`, s });
    for (const d of s.destinations ?? []) dst.push({ labels: `${base},remote_address="${esc(d.address)}",remote_port="${d.port}",forwarding="${d.forwarding}"`, s, d, h: health?.destinations?.get(destinationId(s, d)) });
  }
  for (const [suffix, key, help] of COUNTERS) {
    head(`node_ipvs_${suffix}`, 'counter', `${help}, all services together`);
    out += `node_ipvs_${suffix} ${services.reduce((a, s) => a + s.stats[key], 0n)}\n`;
  }
  const family = <T extends { labels: string }>(name: string, kind: string, help: string, rows: T[], value: (r: T) => number | bigint | undefined) => {
    head(name, kind, help);
    for (const r of rows) {
      const v = value(r);
      if (v !== undefined) out += `${name}{${r.labels}} ${v}\n`;
    }
  };
  const stats = <T extends { labels: string }>(prefix: string, what: string, rows: T[], st: (r: T) => Stats, rates: boolean) => {
    for (const [suffix, key, help] of [...COUNTERS, ...(rates ? RATES : [])]) family(`${prefix}${suffix}`, suffix.endsWith('_total') ? 'counter' : 'gauge', `${help}, ${what}`, rows, (r) => st(r)[key]);
  };
  stats('node_ipvs_service_', 'per virtual service', svc, (r) => r.s.stats, true);
  family('node_ipvs_backend_connections_active', 'gauge', 'The current active connections by local and remote address.', dst, (r) => r.d.activeConnections);
  family('node_ipvs_backend_connections_inactive', 'gauge', 'The current inactive connections by local and remote address.', dst, (r) => r.d.inactiveConnections);
  family('node_ipvs_backend_weight', 'gauge', 'The current backend weight by local and remote address (the kernel schedules by it).', dst, (r) => r.d.weight);
  family('node_ipvs_backend_connections_persistent', 'gauge', 'Persistence templates (connections of persistent services) of the real server', dst, (r) => r.d.persistentConnections);
  stats('node_ipvs_backend_', 'per real server', dst, (r) => r.d.stats, opts.backendRates !== false);
  if (health?.destinations) {
    family('node_ipvs_backend_weight_configured', 'gauge', 'The weight the configuration gives the real server (node_ipvs_backend_weight is what the kernel has now); only for real servers a checker reports on', dst, (r) => r.h?.configuredWeight);
    family('ipvs_agent_backend_up', 'gauge', 'Whether the health checks pass (1) or not (0); absent for real servers without checks', dst, (r) => (r.h ? (r.h.state === 'up' ? 1 : 0) : undefined));
    head('ipvs_agent_backend_state', 'gauge', "The real server's health state (1 for the current one)");
    for (const r of dst) if (r.h) for (const st of STATES) out += `ipvs_agent_backend_state{${r.labels},state="${st}"} ${r.h.state === st ? 1 : 0}\n`;
    family('ipvs_agent_backend_transitions_total', 'counter', 'Health state changes of the real server', dst, (r) => r.h?.transitions);
    const hist = 'ipvs_agent_check_duration_seconds';
    head(hist, 'histogram', "Durations of the real server's health checks");
    for (const r of dst) {
      const h = r.h?.checkDurations;
      if (!h) continue;
      h.bounds.forEach((b, i) => (out += `${hist}_bucket{${r.labels},le="${num(b)}"} ${h.counts[i]}\n`));
      out += `${hist}_bucket{${r.labels},le="+Inf"} ${h.count}\n${hist}_sum{${r.labels}} ${num(h.sum)}\n${hist}_count{${r.labels}} ${h.count}\n`;
    }
  }
  const one = (name: string, kind: string, help: string, v: number | undefined) => {
    if (v !== undefined) out += `# HELP ${name} ${help}\n# TYPE ${name} ${kind}\n${name} ${num(v)}\n`;
  };
  const r = health?.reconcile;
  if (r) {
    one('ipvs_agent_reconcile_duration_seconds', 'gauge', 'How long the last reconcile took', r.lastDurationSeconds);
    one('ipvs_agent_reconcile_timestamp_seconds', 'gauge', 'When the last reconcile finished (Unix time)', r.lastTimeMs === undefined ? undefined : r.lastTimeMs / 1000);
    one('ipvs_agent_changes_applied_total', 'counter', 'Changes applied to IPVS by the agent', r.changesApplied);
    one('ipvs_agent_drifts_repaired_total', 'counter', 'Changes the agent made because IPVS had drifted from the desired state', r.driftsRepaired);
    one('ipvs_agent_checker_up', 'gauge', 'Whether the health checker loop is alive (1) or not (0)', r.checkerAlive ? 1 : 0);
    one('ipvs_agent_reconcile_success', 'gauge', 'Whether the last reconcile succeeded (1) or failed (0)', r.lastError === undefined ? 1 : 0);
  }
  one('ipvs_exporter_listing_duration_seconds', 'gauge', 'How long the listing behind this scrape took', opts.listingSeconds);
  one('ipvs_exporter_listing_errors_total', 'counter', 'Listings that failed', opts.listingErrors);
  return out;
}

/** A small deterministic generator (xorshift), so a failure reproduces. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** A bigint spread over every magnitude a u64 counter may have, edges included. */
function counter(rnd: () => number): bigint {
  const edges = [0n, 1n, 9n, 10n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 10n ** 16n, 2n ** 64n - 1n];
  if (rnd() < 0.3) return edges[Math.floor(rnd() * edges.length)]!;
  return BigInt(Math.floor(rnd() * 2 ** 32)) * (1n << BigInt(Math.floor(rnd() * 33))) + BigInt(Math.floor(rnd() * 1000));
}

function listing(n: number, seed: number): Service[] {
  const rnd = random(seed);
  const stats = (): Stats => ({ connections: counter(rnd), packetsIn: counter(rnd), packetsOut: counter(rnd), bytesIn: counter(rnd), bytesOut: counter(rnd), cps: counter(rnd), packetsInPerSecond: counter(rnd), packetsOutPerSecond: counter(rnd), bytesInPerSecond: counter(rnd), bytesOutPerSecond: counter(rnd) });
  const schedulers = ['wlc', 'rr', 'mh', 'we"ird\\one\nx', 'planifié'];
  const out: Service[] = [];
  for (let i = 0; i < n; i++) {
    const v6 = rnd() < 0.3;
    const kind = rnd();
    const base = { schedulerFlags: [], netmask: '255.255.255.255', onePacket: false, flags: 2, timeout: 0, scheduler: schedulers[i % schedulers.length]!, stats: stats() };
    const where = kind < 0.2 ? { fwmark: Math.floor(rnd() * 2 ** 32) } : { protocol: (['tcp', 'udp', 'sctp'] as const)[i % 3], address: v6 ? `2001:db8::${i.toString(16)}` : `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, port: Math.floor(rnd() * 65536) };
    const destinations: Destination[] = [];
    for (let j = Math.floor(rnd() * 4); j > 0; j--) {
      const big = () => (rnd() < 0.1 ? Math.floor(rnd() * 2 ** 40) : Math.floor(rnd() * 100));
      destinations.push({ family: v6 ? 'inet6' : 'inet', address: v6 ? `2001:db8:1::${j}` : `172.16.${i & 255}.${j}`, port: Math.floor(rnd() * 65536), forwarding: (['masq', 'route', 'tunnel'] as const)[j % 3]!, weight: big(), upperThreshold: 0, lowerThreshold: 0, activeConnections: big(), inactiveConnections: big(), persistentConnections: big(), stats: stats() });
    }
    out.push({ ...base, family: v6 ? 'inet6' : 'inet', ...where, destinations } as Service);
  }
  return out;
}

function healthOf(services: Service[], seed: number): HealthSnapshot {
  const rnd = random(seed);
  const destinations = new Map<string, DestinationHealth>();
  for (const s of services)
    for (const d of s.destinations ?? []) {
      if (rnd() < 0.3) continue;
      const h: DestinationHealth = { state: (['up', 'down', 'draining', 'unknown'] as const)[Math.floor(rnd() * 4)]! };
      if (rnd() < 0.7) h.configuredWeight = Math.floor(rnd() * 100);
      if (rnd() < 0.7) h.transitions = Math.floor(rnd() * 10);
      if (rnd() < 0.5) h.checkDurations = { bounds: [0.005, 0.1, 1], counts: [1, 4, 6], count: 7, sum: 1.5 + rnd() };
      destinations.set(destinationId(s, d), h);
    }
  return { destinations, reconcile: { changesApplied: 12, driftsRepaired: 1, checkerAlive: true, lastDurationSeconds: 0.25, lastTimeMs: 1_700_000_000_123, lastError: 'x' } };
}

describe('the renderer and its naive twin', () => {
  it('write the same bytes: whole and in chunks, with and without health and rates', () => {
    for (const seed of [1, 2, 3, 4]) {
      const services = listing(200, seed);
      const health = healthOf(services, seed + 100);
      const cases: Array<[HealthSnapshot | undefined, RenderOptions]> = [
        [undefined, {}],
        [health, { listingSeconds: 0.125, listingErrors: 3 }],
        [health, { backendRates: false }],
      ];
      for (const [h, opts] of cases) {
        const want = naive(services, h, opts);
        expect(renderMetrics(services, h, opts)).toBe(want);
        for (const size of [1, 700, 1 << 16]) expect(Buffer.concat([...metricChunks(services, h, opts, size)]).toString('utf8'), `seed ${seed}, chunks of ${size}`).toBe(want);
      }
    }
  });

  it('write an empty listing the same way', () => {
    expect(renderMetrics([])).toBe(naive([]));
  });
});
