// The Prometheus renderer: promtool-valid text, label escaping, exact 64-bit
// counters, node_exporter's names, health series. Values are read back by a
// naive parser of the text format written here (not the renderer's code).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ByteWriter, acceptsGzip, destinationId, escapeLabelValue, metricChunks, renderMetrics, type DestinationHealth } from '../../src/metrics/index.js';
import type { Destination, Service, Stats } from '../../src/ipvs/types.js';

const stats = (n: bigint): Stats => ({
  connections: n,
  packetsIn: n * 2n,
  packetsOut: n * 3n,
  bytesIn: n * 100n,
  bytesOut: n * 1000n,
  cps: n % 7n,
  packetsInPerSecond: 11n,
  packetsOutPerSecond: 12n,
  bytesInPerSecond: 1300n,
  bytesOutPerSecond: 14000n,
});
const dest = (address: string, port: number, n: bigint, extra: Partial<Destination> = {}): Destination => ({
  family: address.includes(':') ? 'inet6' : 'inet',
  address,
  port,
  forwarding: 'masq',
  weight: 2,
  upperThreshold: 0,
  lowerThreshold: 0,
  activeConnections: 3,
  inactiveConnections: 4,
  persistentConnections: 5,
  stats: stats(n),
  ...extra,
});
const base = { schedulerFlags: [], netmask: '255.255.255.255', onePacket: false, flags: 2, timeout: 0 };
const MAX = 2n ** 64n - 1n;
const listing: Service[] = [
  { ...base, family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'wlc', stats: { ...stats(10n), bytesIn: MAX }, destinations: [dest('10.1.0.2', 8080, 6n, { stats: { ...stats(6n), bytesOut: 2n ** 53n + 1n } }), dest('10.1.0.3', 8080, 4n)] },
  { ...base, family: 'inet6', protocol: 'udp', address: '2001:db8::1', port: 53, scheduler: 'rr', stats: stats(1n), destinations: [dest('2001:db8::2', 53, 1n, { forwarding: 'route' })] },
  { ...base, family: 'inet', fwmark: 255, scheduler: 'we"ird\\one\nx', stats: stats(0n), destinations: [] },
];

/** A naive reader of the text format: series key (name + sorted labels) -> value text. */
function parse(text: string): { samples: Map<string, string>; types: Map<string, string> } {
  const samples = new Map<string, string>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad line: ${line}`);
    const labels: string[] = [];
    const re = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)",?/gy;
    let l;
    while ((l = re.exec(m[2] ?? ''))) labels.push(`${l[1]}=${l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))}`);
    samples.set(`${m[1]}{${labels.sort().join(',')}}`, m[3]!);
  }
  return { samples, types };
}
const key = (name: string, labels: Record<string, string>) => `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort().join(',')}}`;
const svc80 = { local_address: '10.0.0.1', local_port: '80', proto: 'TCP' };
const rs1 = { ...svc80, remote_address: '10.1.0.2', remote_port: '8080', forwarding: 'masq' };

describe('renderMetrics', () => {
  const text = renderMetrics(listing);
  const { samples, types } = parse(text);

  it('is text promtool finds nothing in', () => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (r.error) throw new Error(`promtool is missing (scripts/setup.sh installs Debian's prometheus): ${r.error.message}`);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it("keeps node_exporter's names and labels for what it has", () => {
    expect(types.get('node_ipvs_backend_connections_active')).toBe('gauge');
    expect(samples.get(key('node_ipvs_backend_connections_active', rs1))).toBe('3');
    expect(samples.get(key('node_ipvs_backend_connections_inactive', rs1))).toBe('4');
    expect(samples.get(key('node_ipvs_backend_weight', rs1))).toBe('2');
    expect(types.get('node_ipvs_connections_total')).toBe('counter');
    expect(samples.get('node_ipvs_connections_total{}')).toBe('11');
    // Firewall marks: proto FWM and the mark as /proc/net/ip_vs prints it (%08X).
    expect(samples.get(key('node_ipvs_service_connections_total', { local_port: '0', proto: 'FWM', local_mark: '000000FF', family: 'inet', scheduler: 'we"ird\\one\nx' }))).toBe('0');
  });

  it('writes 64-bit counters exactly, past 2^53', () => {
    expect(samples.get(key('node_ipvs_service_incoming_bytes_total', { ...svc80, scheduler: 'wlc' }))).toBe(String(MAX));
    expect(samples.get('node_ipvs_incoming_bytes_total{}')).toBe(String(MAX + 100n + 0n));
    expect(samples.get(key('node_ipvs_backend_outgoing_bytes_total', rs1))).toBe('9007199254740993');
  });

  it('has every counter and rate per service and per real server', () => {
    const v6 = { local_address: '2001:db8::1', local_port: '53', proto: 'UDP', remote_address: '2001:db8::2', remote_port: '53', forwarding: 'route' };
    const want: Array<[string, string]> = [
      ['connections_total', '1'],
      ['incoming_packets_total', '2'],
      ['outgoing_packets_total', '3'],
      ['incoming_bytes_total', '100'],
      ['outgoing_bytes_total', '1000'],
      ['connections_per_second', '1'],
      ['incoming_packets_per_second', '11'],
      ['outgoing_packets_per_second', '12'],
      ['incoming_bytes_per_second', '1300'],
      ['outgoing_bytes_per_second', '14000'],
    ];
    for (const [suffix, v] of want) {
      expect(samples.get(key(`node_ipvs_backend_${suffix}`, v6)), suffix).toBe(v);
      expect(samples.get(key(`node_ipvs_service_${suffix}`, { local_address: '2001:db8::1', local_port: '53', proto: 'UDP', scheduler: 'rr' })), suffix).toBe(v);
      expect(types.get(`node_ipvs_backend_${suffix}`)).toBe(suffix.endsWith('_total') ? 'counter' : 'gauge');
    }
    expect(samples.get(key('node_ipvs_backend_connections_persistent', v6))).toBe('5');
    // 3 services x 10 + 3 real servers x 14 + 5 totals + the two listing series absent here.
    expect(samples.size).toBe(30 + 42 + 5);
  });

  it('escapes label values: backslash, double quote, newline', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeLabelValue('plain')).toBe('plain');
    expect(text).toContain('scheduler="we\\"ird\\\\one\\nx"');
  });

  it('renders health: up, a state set, transitions, a histogram, configured weights, the agent loop', () => {
    const h: DestinationHealth = { state: 'draining', configuredWeight: 5, transitions: 3, checkDurations: { bounds: [0.01, 0.1], counts: [2, 7], count: 9, sum: 1.25 } };
    const health = {
      destinations: new Map([[destinationId(listing[0]!, listing[0]!.destinations![0]!), h]]),
      reconcile: { changesApplied: 12, driftsRepaired: 2, checkerAlive: true, lastDurationSeconds: 0.5, lastTimeMs: 1_700_000_000_000 },
    };
    const withHealth = renderMetrics(listing, health, { listingSeconds: 0.25, listingErrors: 1 });
    const r = spawnSync('promtool', ['check', 'metrics'], { input: withHealth, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    const p = parse(withHealth);
    expect(p.samples.get(key('ipvs_agent_backend_up', rs1))).toBe('0');
    expect(p.samples.get(key('ipvs_agent_backend_state', { ...rs1, state: 'draining' }))).toBe('1');
    expect(p.samples.get(key('ipvs_agent_backend_state', { ...rs1, state: 'up' }))).toBe('0');
    expect(p.samples.get(key('ipvs_agent_backend_transitions_total', rs1))).toBe('3');
    expect(p.samples.get(key('node_ipvs_backend_weight_configured', rs1))).toBe('5');
    expect(p.samples.get(key('ipvs_agent_check_duration_seconds_bucket', { ...rs1, le: '0.1' }))).toBe('7');
    expect(p.samples.get(key('ipvs_agent_check_duration_seconds_bucket', { ...rs1, le: '+Inf' }))).toBe('9');
    expect(p.samples.get(key('ipvs_agent_check_duration_seconds_sum', rs1))).toBe('1.25');
    expect(p.types.get('ipvs_agent_check_duration_seconds')).toBe('histogram');
    // Only real servers the source knows get health series.
    expect(p.samples.get(key('ipvs_agent_backend_up', { ...rs1, remote_address: '10.1.0.3' }))).toBeUndefined();
    expect(p.samples.get('ipvs_agent_changes_applied_total{}')).toBe('12');
    expect(p.samples.get('ipvs_agent_drifts_repaired_total{}')).toBe('2');
    expect(p.samples.get('ipvs_agent_checker_up{}')).toBe('1');
    expect(p.samples.get('ipvs_agent_reconcile_timestamp_seconds{}')).toBe('1700000000');
    expect(p.samples.get('ipvs_exporter_listing_errors_total{}')).toBe('1');
  });

  it('leaves out the per-real-server rates when asked, and only those', () => {
    const p = parse(renderMetrics(listing, undefined, { backendRates: false }));
    expect([...p.types.keys()].filter((k) => k.startsWith('node_ipvs_backend_') && k.endsWith('_per_second'))).toEqual([]);
    expect(p.samples.get(key('node_ipvs_service_connections_per_second', { ...svc80, scheduler: 'wlc' }))).toBe('3');
    expect(p.samples.size).toBe(30 + 42 + 5 - 3 * 5);
  });

  it('makes the same text in chunks (what the server sends) as at once, each chunk ending a line', () => {
    const health = { destinations: new Map([[destinationId(listing[0]!, listing[0]!.destinations![0]!), { state: 'up' as const, checkDurations: { bounds: [0.1], counts: [1], count: 1, sum: 0.05 } }]]), reconcile: { changesApplied: 1, driftsRepaired: 0, checkerAlive: true } };
    for (const size of [1, 100, 1000, 1 << 16]) {
      const chunks = [...metricChunks(listing, health, { listingSeconds: 0.5 }, size)];
      expect(Buffer.concat(chunks).toString('utf8')).toBe(renderMetrics(listing, health, { listingSeconds: 0.5 }));
      for (const c of chunks) expect(c[c.length - 1]).toBe(10);
      if (size === 1) expect(chunks.length).toBeGreaterThan(50);
    }
  });

  it('renders an empty table as valid text with zero totals', () => {
    const empty = renderMetrics([]);
    expect(parse(empty).samples.get('node_ipvs_connections_total{}')).toBe('0');
    expect(spawnSync('promtool', ['check', 'metrics'], { input: empty, encoding: 'utf8' }).status).toBe(0);
  });
});

describe('ByteWriter', () => {
  it('writes numbers exactly and text in UTF-8, growing as needed', () => {
    const w = new ByteWriter(16);
    const nums: Array<number | bigint> = [0, 7, 10, 99, 1234567890, 2 ** 53 - 1, 2n ** 53n + 1n, MAX, 18446744073709551616n];
    for (const n of nums) {
      w.uint(n);
      w.text(' ');
    }
    w.bytes(w.piece('é€ ok'));
    w.text('long enough to take the encoder path: ü');
    expect(w.toString()).toBe(`${nums.map(String).join(' ')} é€ oklong enough to take the encoder path: ü`);
    expect(w.view().toString('utf8')).toBe(w.toString());
    const all = w.toString();
    const taken = w.take(8);
    expect([taken.toString('utf8'), w.length]).toEqual([all, 0]);
    w.text('next');
    expect([w.toString(), taken.subarray(0, 2).toString()]).toEqual(['next', '0 ']);
  });
});

describe('acceptsGzip', () => {
  it('reads Accept-Encoding', () => {
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('deflate, gzip;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0, identity')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});
