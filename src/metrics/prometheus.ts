/**
 * Prometheus text exposition (format 0.0.4) of an IPVS listing, plus the
 * health a checker reports when there is one.
 *
 * A renderer of our own rather than prom-client: prom-client keeps long-lived
 * metric objects whose values are JavaScript numbers, so every scrape would
 * have to set ~30 series per real server on them, remove the ones whose
 * service went away, and round 64-bit counters to 53 bits. Here a scrape is
 * a pure function of one listing: each value is written from the kernel's
 * bigint as exact decimal digits, and nothing outlives the scrape.
 *
 * Names follow node_exporter's ipvs collector (`node_ipvs_*`, its label
 * names) where it has a metric, so its dashboards keep working; the rest are
 * additions documented in README.md.
 */
import type { Service, Stats } from '../ipvs/types.js';
import { MAX_EXACT, destColumns, healthColumns, statColumns, tabulate, type Column, type StatColumns, type StatKey, type Table } from './columns.js';
import { HEALTH_STATES, type HealthSnapshot } from './health.js';
import { ByteWriter, ChunkPool } from './text.js';

export { escapeLabelValue } from './columns.js';

/** Extra series about whoever renders (the exporter's own listing time and failures). */
export interface RenderExtras {
  /** Seconds the listing behind this rendering took. */
  listingSeconds?: number;
  /** Listings that failed since start. */
  listingErrors?: number;
}

/** What to render, besides extras. */
export interface RenderOptions extends RenderExtras {
  /**
   * The kernel's rate estimates per real server (5 gauges each). Default
   * true. They are 10 of the ~25 series per service of two real servers, and
   * Prometheus derives the same from the counters (`rate()`): a large table
   * may leave them out (`--no-backend-rates`); per-service rates stay.
   */
  backendRates?: boolean;
}

type Kind = 'counter' | 'gauge';

const COUNTERS: ReadonlyArray<[string, StatKey, string]> = [
  ['connections_total', 'connections', 'Connections scheduled'],
  ['incoming_packets_total', 'packetsIn', 'Packets in (client to real server)'],
  ['outgoing_packets_total', 'packetsOut', 'Packets out (real server to client)'],
  ['incoming_bytes_total', 'bytesIn', 'Bytes in (client to real server)'],
  ['outgoing_bytes_total', 'bytesOut', 'Bytes out (real server to client)'],
];
const RATES: ReadonlyArray<[string, StatKey, string]> = [
  ['connections_per_second', 'cps', "Connections per second (the kernel's 2 s estimator)"],
  ['incoming_packets_per_second', 'packetsInPerSecond', "Packets in per second (the kernel's estimator)"],
  ['outgoing_packets_per_second', 'packetsOutPerSecond', "Packets out per second (the kernel's estimator)"],
  ['incoming_bytes_per_second', 'bytesInPerSecond', "Bytes in per second (the kernel's estimator)"],
  ['outgoing_bytes_per_second', 'bytesOutPerSecond', "Bytes out per second (the kernel's estimator)"],
];

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A float as the text format writes it. */
function num(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  return String(x);
}

/**
 * Renders a listing (made with `withDestinations: true`) as Prometheus text.
 * The same text `ipvs exporter` serves on /metrics; for embedding in a
 * server of one's own. Counters above 2^53 are written exactly.
 */
export function renderMetrics(services: readonly Service[], health?: HealthSnapshot, opts: RenderOptions = {}): string {
  const w = new ByteWriter(estimateBytes(services, opts));
  writeMetrics(w, services, health, opts);
  return w.toString();
}

/** `renderMetrics` into a writer, all at once. */
export function writeMetrics(w: ByteWriter, services: readonly Service[], health?: HealthSnapshot, opts: RenderOptions = {}): void {
  for (const _ of writeLines(w, services, health, opts, Infinity));
}

/** Room a chunk's buffer keeps past the chunk size for the line that crosses it, so it never grows. */
export const CHUNK_ROOM = 4096;

/**
 * The same text in chunks (each ending at a line's end), made one at a time
 * as the consumer asks: a server sends a scrape of any size with bounded
 * memory, and while the socket is full other work runs instead of waiting
 * for the whole text. `chunks`: a size (each chunk of about that many bytes
 * is a buffer of its own), or a ChunkPool whose buffers chunks of about
 * `pool.bytes - CHUNK_ROOM` are written into; whoever sends a chunk may
 * then hand it back (`pool.put`) once nothing reads it any more.
 */
export function* metricChunks(services: readonly Service[], health?: HealthSnapshot, opts: RenderOptions = {}, chunks: number | ChunkPool = 1 << 16): Generator<Buffer, void, undefined> {
  const pool = typeof chunks === 'number' ? new ChunkPool(chunks + CHUNK_ROOM) : chunks;
  const w = new ByteWriter(pool.bytes, pool);
  for (const _ of writeLines(w, services, health, opts, pool.bytes - CHUNK_ROOM, pool)) yield w.take();
  if (w.length > 0) yield w.take(256);
}

/**
 * Writes the text, yielding whenever the writer holds `limit` bytes or more
 * (Infinity: never). With a pool, the label sets and columns are written
 * into memory borrowed from it, given back when the text is done or left.
 */
function* writeLines(w: ByteWriter, services: readonly Service[], health: HealthSnapshot | undefined, opts: RenderOptions, limit: number, pool?: ChunkPool): Generator<void, void, undefined> {
  const t = tabulate(services, pool);
  const borrowed: Array<{ memory: ArrayBufferLike }> = [t.arena];
  try {
    yield* writeFamilies(w, services, health, opts, limit, t, (stats) => {
      const cols = statColumns(stats, pool);
      borrowed.push({ memory: cols.connections.values.buffer });
      return cols;
    });
  } finally {
    for (const b of borrowed) pool?.giveBack(b.memory);
  }
}

function* writeFamilies(w: ByteWriter, services: readonly Service[], health: HealthSnapshot | undefined, opts: RenderOptions, limit: number, t: Table, columns: (stats: readonly Stats[]) => StatColumns): Generator<void, void, undefined> {
  w.copiesFrom(t.arena);
  const { svcLabels, destLabels } = t;
  const head = (name: string, kind: Kind | 'histogram', help: string) => w.text(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${kind}\n`);
  // One family: a series per label set (its bytes end in "} "), the value from its column.
  const family = function* (name: string, kind: Kind, help: string, labels: readonly Uint8Array[], col: Column): Generator<void, void, undefined> {
    head(name, kind, help);
    const open = w.piece(`${name}{`);
    const { values, big } = col;
    for (let i = 0; i < labels.length; i++) {
      const v = values[i]!;
      if (v !== v) continue; // NaN: no series
      w.bytes(open);
      w.bytes(labels[i]!);
      if (v > MAX_EXACT && big) w.text(big(i).toString());
      else w.uint(v);
      w.byte(10);
      if (w.length >= limit) yield;
    }
  };
  const statFamilies = function* (prefix: string, what: string, labels: readonly Uint8Array[], cols: StatColumns, rates: boolean): Generator<void, void, undefined> {
    for (const [suffix, key, help] of COUNTERS) yield* family(`${prefix}${suffix}`, 'counter', `${help}, ${what}`, labels, cols[key]);
    if (rates) for (const [suffix, key, help] of RATES) yield* family(`${prefix}${suffix}`, 'gauge', `${help}, ${what}`, labels, cols[key]);
  };

  // Whole-table totals, as node_exporter's (there: /proc/net/ip_vs_stats; here: the sum over services).
  for (const [suffix, key, help] of COUNTERS) {
    let sum = 0n;
    for (const st of t.svcStats) sum += st[key];
    head(`node_ipvs_${suffix}`, 'counter', `${help}, all services together`);
    w.text(`node_ipvs_${suffix} ${sum}\n`);
  }
  // Per service.
  yield* statFamilies('node_ipvs_service_', 'per virtual service', svcLabels, columns(t.svcStats), true);

  // Per real server: node_exporter's three first.
  const dc = destColumns(t.dests);
  yield* family('node_ipvs_backend_connections_active', 'gauge', 'The current active connections by local and remote address.', destLabels, dc.active);
  yield* family('node_ipvs_backend_connections_inactive', 'gauge', 'The current inactive connections by local and remote address.', destLabels, dc.inactive);
  yield* family('node_ipvs_backend_weight', 'gauge', 'The current backend weight by local and remote address (the kernel schedules by it).', destLabels, dc.weight);
  yield* family('node_ipvs_backend_connections_persistent', 'gauge', 'Persistence templates (connections of persistent services) of the real server', destLabels, dc.persistent);
  yield* statFamilies('node_ipvs_backend_', 'per real server', destLabels, columns(t.destStats), opts.backendRates !== false);

  if (health?.destinations) {
    const hc = healthColumns(services, health.destinations);
    yield* family('node_ipvs_backend_weight_configured', 'gauge', 'The weight the configuration gives the real server (node_ipvs_backend_weight is what the kernel has now); only for real servers a checker reports on', destLabels, hc.configured);
    // Label text without the closing "} ", for series that add a label (only with health).
    const text = destLabels.map((l) => Buffer.from(l.buffer, l.byteOffset, l.length - 2).toString('utf8'));
    yield* writeHealth(w, head, family, destLabels, text, hc, limit);
  }
  const r = health?.reconcile;
  const one = (name: string, kind: Kind, help: string, v: number | undefined) => {
    if (v === undefined) return;
    head(name, kind, help);
    w.text(`${name} ${num(v)}\n`);
  };
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
}

type Family = (name: string, kind: Kind, help: string, labels: readonly Uint8Array[], col: Column) => Generator<void, void, undefined>;
type Head = (name: string, kind: Kind | 'histogram', help: string) => void;

/** Per real server health: up, a state set, transitions, check duration histograms. */
function* writeHealth(w: ByteWriter, head: Head, family: Family, labels: readonly Uint8Array[], text: readonly string[], hc: ReturnType<typeof healthColumns>, limit: number): Generator<void, void, undefined> {
  yield* family('ipvs_agent_backend_up', 'gauge', 'Whether the health checks pass (1) or not (0); absent for real servers without checks', labels, hc.up);
  // A state set: one series per state, 1 for the current one.
  const state = 'ipvs_agent_backend_state';
  head(state, 'gauge', "The real server's health state (1 for the current one)");
  for (let i = 0; i < labels.length; i++) {
    const h = hc.of[i];
    if (h) for (const st of HEALTH_STATES) w.text(`${state}{${text[i]},state="${st}"} ${h.state === st ? 1 : 0}\n`);
    if (w.length >= limit) yield;
  }
  yield* family('ipvs_agent_backend_transitions_total', 'counter', 'Health state changes of the real server', labels, hc.transitions);
  const hist = 'ipvs_agent_check_duration_seconds';
  head(hist, 'histogram', "Durations of the real server's health checks");
  for (let i = 0; i < labels.length; i++) {
    const h = hc.of[i]?.checkDurations;
    if (!h) continue;
    const l = text[i];
    for (let b = 0; b < h.bounds.length; b++) w.text(`${hist}_bucket{${l},le="${num(h.bounds[b]!)}"} ${h.counts[b]}\n`);
    w.text(`${hist}_bucket{${l},le="+Inf"} ${h.count}\n${hist}_sum{${l}} ${num(h.sum)}\n${hist}_count{${l}} ${h.count}\n`);
    if (w.length >= limit) yield;
  }
}

/** About what a listing renders to (so the writer rarely grows): ~1 KiB per service, ~3 KiB (~2 without rates) per real server. */
export function estimateBytes(services: readonly Service[], opts: RenderOptions = {}): number {
  let dests = 0;
  for (const s of services) dests += s.destinations?.length ?? 0;
  return 8192 + services.length * 1200 + dests * (opts.backendRates === false ? 2000 : 3200);
}
