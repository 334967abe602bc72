/**
 * A listing turned into what the Prometheus renderer writes from: the label
 * set of every service and real server, and each family's values as a
 * column (a Float64Array by series index; NaN: no series).
 *
 * Why columns (bench:render, "64 KiB chunks (metricChunks)"): the renderer
 * used to ask a closure `(i) => stats[i][key]` per series, a keyed load
 * whose key changes with the family (megamorphic), then compare the bigint
 * with 2^53 and convert it. Here each object is read once, by name, in a
 * loop that only ever sees one shape, and the writing loops read plain
 * doubles. A counter of 2^53 or more becomes a double of 2^53 or more,
 * so `value > MAX_EXACT` tells which values must be written from the bigint
 * itself (`Column.big`, rare: the keyed load is paid only there).
 */
import type { Destination, Service, Stats } from '../ipvs/types.js';
import { destinationId, type DestinationHealth } from './health.js';
import { ByteWriter, type ChunkPool } from './text.js';

/** The largest whole number a double holds exactly (2^53 - 1). */
export const MAX_EXACT = Number.MAX_SAFE_INTEGER;

/** One family's values by series index (NaN: no series); `big(i)` for values above MAX_EXACT. */
export interface Column {
  values: Float64Array;
  big?: (i: number) => bigint;
}

export type StatKey = keyof Stats;
export type StatColumns = Record<StatKey, Column>;

/** The label sets of a listing's services and real servers, and the objects their values come from. */
export interface Table {
  /** Per service: its label set's bytes, ending in "} ". */
  svcLabels: Uint8Array[];
  svcStats: Stats[];
  /** Per real server (all services' in order): its label set's bytes, ending in "} ". */
  destLabels: Uint8Array[];
  dests: Destination[];
  destStats: Stats[];
  /** The writer holding the label bytes (for toString's decoding: ASCII or not). */
  arena: ByteWriter;
}

/** A label value escaped as the text format asks: backslash, double quote, newline. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/**
 * Writes the labels of a service, with node_exporter's names. Empty labels
 * are left out (Prometheus treats `x=""` and no `x` alike): `local_mark` only
 * on firewall mark services, `local_address` only on the others. `family`
 * tells inet from inet6 marks, which may share a number.
 */
function serviceLabels(a: ByteWriter, s: Service): void {
  if (s.fwmark !== undefined) {
    // node_exporter reads the mark from /proc/net/ip_vs, which prints it as %08X.
    a.text(`local_port="0",proto="FWM",local_mark="${s.fwmark.toString(16).toUpperCase().padStart(8, '0')}",family="${s.family}"`);
    return;
  }
  a.text('local_address="');
  a.text(escapeLabelValue(s.address ?? ''));
  a.text('",local_port="');
  a.uint(s.port ?? 0);
  a.text('",proto="');
  a.text((s.protocol ?? '').toUpperCase());
  a.text('"');
}

/**
 * Every label set of a listing, written into one buffer (bench:render,
 * "64 KiB chunks (metricChunks)"): 30,000 template strings per scrape of
 * 10,000 services, each then encoded into a small array of its own, cost
 * more in collections and page faults than the rest of the rendering. A
 * real server's labels begin with its service's, copied within the buffer.
 */
export function tabulate(services: readonly Service[], pool?: ChunkPool): Table {
  // Sized for the usual label sets (fresh memory grown by doubling costs page faults and copies).
  let dests = 0;
  for (const s of services) dests += s.destinations?.length ?? 0;
  const bytes = services.length * 128 + dests * 192;
  const a = new ByteWriter(pool ? Buffer.from(pool.borrow(bytes)) : bytes);
  const svc: number[] = [];
  const dst: number[] = [];
  const t: Omit<Table, 'svcLabels' | 'destLabels'> = { svcStats: [], dests: [], destStats: [], arena: a };
  for (const s of services) {
    const start = a.length;
    serviceLabels(a, s);
    const base = a.length;
    a.text(',scheduler="');
    a.text(escapeLabelValue(s.scheduler));
    a.text('"} ');
    svc.push(start, a.length);
    t.svcStats.push(s.stats);
    for (const d of s.destinations ?? []) {
      t.dests.push(d);
      t.destStats.push(d.stats);
      const from = a.length;
      a.again(start, base);
      a.text(',remote_address="');
      a.text(escapeLabelValue(d.address));
      a.text('",remote_port="');
      a.uint(d.port);
      a.text('",forwarding="');
      a.text(d.forwarding);
      a.text('"} ');
      dst.push(from, a.length);
    }
  }
  // Views only now: the buffer may have moved while it grew.
  const views = (at: number[]) => Array.from({ length: at.length / 2 }, (_, i) => a.slice(at[2 * i]!, at[2 * i + 1]!));
  return { ...t, svcLabels: views(svc), destLabels: views(dst) };
}

/** Whether this machine stores numbers little-endian (the low 32 bits of a 64-bit word first). */
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The ten columns of a list of Stats, read in one pass. Each bigint is
 * stored into a BigUint64Array and read back as two 32-bit halves: ~10x
 * cheaper than Number(bigint) (bench:render, "64 KiB chunks"). The kernel's
 * counters are u64; a negative bigint becomes 2^63 or more and is written
 * from the bigint itself (`big`), like every value above 2^53 (a bigint of
 * 2^64 or more, which no kernel sends, would be written modulo 2^64).
 */
export function statColumns(stats: readonly Stats[], pool?: ChunkPool): StatColumns {
  const n = stats.length;
  const words = pool ? new BigUint64Array(pool.borrow(80 * n), 0, 10 * n) : new BigUint64Array(10 * n);
  for (let i = 0; i < n; i++) {
    const s = stats[i]!;
    words[i] = s.connections;
    words[n + i] = s.packetsIn;
    words[2 * n + i] = s.packetsOut;
    words[3 * n + i] = s.bytesIn;
    words[4 * n + i] = s.bytesOut;
    words[5 * n + i] = s.cps;
    words[6 * n + i] = s.packetsInPerSecond;
    words[7 * n + i] = s.packetsOutPerSecond;
    words[8 * n + i] = s.bytesInPerSecond;
    words[9 * n + i] = s.bytesOutPerSecond;
  }
  // In place: each double takes the place of the word it is made from.
  const half = new Uint32Array(words.buffer, 0, 20 * n);
  const values = new Float64Array(words.buffer, 0, 10 * n);
  const hi = LITTLE ? 1 : 0;
  for (let j = 0; j < 10 * n; j++) values[j] = half[2 * j + hi]! * 4294967296 + half[2 * j + 1 - hi]!;
  const col = (k: number, key: StatKey): Column => ({ values: values.subarray(k * n, (k + 1) * n), big: (i) => stats[i]![key] });
  return {
    connections: col(0, 'connections'),
    packetsIn: col(1, 'packetsIn'),
    packetsOut: col(2, 'packetsOut'),
    bytesIn: col(3, 'bytesIn'),
    bytesOut: col(4, 'bytesOut'),
    cps: col(5, 'cps'),
    packetsInPerSecond: col(6, 'packetsInPerSecond'),
    packetsOutPerSecond: col(7, 'packetsOutPerSecond'),
    bytesInPerSecond: col(8, 'bytesInPerSecond'),
    bytesOutPerSecond: col(9, 'bytesOutPerSecond'),
  };
}

/** The real servers' own gauges, read in one pass. */
export function destColumns(dests: readonly Destination[]): { active: Column; inactive: Column; weight: Column; persistent: Column } {
  const n = dests.length;
  const [a, ia, w, p] = Array.from({ length: 4 }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const d = dests[i]!;
    a![i] = d.activeConnections;
    ia![i] = d.inactiveConnections;
    w![i] = d.weight;
    p![i] = d.persistentConnections;
  }
  return { active: { values: a! }, inactive: { values: ia! }, weight: { values: w! }, persistent: { values: p! } };
}

/** Health per real server (undefined: none reported), and its number series as columns (NaN: absent). */
export function healthColumns(services: readonly Service[], hd: ReadonlyMap<string, DestinationHealth>): { of: Array<DestinationHealth | undefined>; up: Column; configured: Column; transitions: Column } {
  const of: Array<DestinationHealth | undefined> = [];
  for (const s of services) for (const d of s.destinations ?? []) of.push(hd.get(destinationId(s, d)));
  const n = of.length;
  const [up, cw, tr] = Array.from({ length: 3 }, () => new Float64Array(n).fill(NaN));
  for (let i = 0; i < n; i++) {
    const h = of[i];
    if (!h) continue;
    up![i] = h.state === 'up' ? 1 : 0;
    if (h.configuredWeight !== undefined) cw![i] = h.configuredWeight;
    if (h.transitions !== undefined) tr![i] = h.transitions;
  }
  return { of, up: { values: up! }, configured: { values: cw! }, transitions: { values: tr! } };
}
