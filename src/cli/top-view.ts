/**
 * What `ipvs top` shows, as plain lines: services sorted by a rate (busiest
 * first), each followed by its real servers sorted the same way. Pure: the
 * terminal loop (top.ts) lists, calls this and paints.
 */
import type { Destination, Service, Stats } from '../ipvs/types.js';

export type SortKey = 'cps' | 'bytes' | 'packets' | 'active' | 'conns' | 'name';
export const SORT_KEYS: readonly SortKey[] = ['cps', 'bytes', 'packets', 'active', 'conns', 'name'];

export interface ViewState {
  sort: SortKey;
  /** Smallest first instead of largest first. */
  reverse: boolean;
  /** Shows services whose text (or a real server's) contains this, case-insensitive. */
  filter: string;
  /** Rows scrolled past. */
  offset: number;
}

/** ipvsadm's print_largenum: exact below 10^8, then K, M, G, T; right-aligned in 9 (10 with a letter). */
export function largenum(v: bigint | number): string {
  const i = BigInt(v);
  if (i < 100_000_000n) return String(i).padStart(9);
  if (i < 1_000_000_000n) return `${String(i / 1000n).padStart(8)}K`;
  if (i < 100_000_000_000n) return `${String(i / 1_000_000n).padStart(8)}M`;
  if (i < 100_000_000_000_000n) return `${String(i / 1_000_000_000n).padStart(8)}G`;
  return `${String(i / 1_000_000_000_000n).padStart(8)}T`;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function serviceText(s: Service): string {
  if (s.fwmark !== undefined) return `FWM  ${s.fwmark}${s.family === 'inet6' ? ' IPv6' : ''} ${s.scheduler}`;
  return `${(s.protocol ?? '').toUpperCase()}  ${hostPort(s.address ?? '', s.port ?? 0)} ${s.scheduler}`;
}

function destText(d: Destination): string {
  const fwd = { masq: 'Masq', route: 'Route', tunnel: 'Tunnel', local: 'Local', bypass: 'Bypass' }[d.forwarding] ?? d.forwarding;
  return `  -> ${hostPort(d.address, d.port)} ${fwd}`;
}

interface Column {
  title: string;
  /** The value for a service row and a real server row ('' when none). */
  svc: (s: Service, sum: { active: number; inactive: number }) => string;
  dest: (d: Destination) => string;
}

const stat = (k: keyof Stats) => ({ svc: (s: Service) => largenum(s.stats[k]), dest: (d: Destination) => largenum(d.stats[k]) });
/** In the order they are dropped last to first when the terminal is narrow. */
const COLUMNS: Column[] = [
  { title: 'Weight', svc: () => '', dest: (d) => String(d.weight) },
  { title: 'ActConn', svc: (_s, sum) => String(sum.active), dest: (d) => String(d.activeConnections) },
  { title: 'InActConn', svc: (_s, sum) => String(sum.inactive), dest: (d) => String(d.inactiveConnections) },
  { title: 'CPS', ...stat('cps') },
  { title: 'InBPS', ...stat('bytesInPerSecond') },
  { title: 'OutBPS', ...stat('bytesOutPerSecond') },
  { title: 'Conns', ...stat('connections') },
  { title: 'InPPS', ...stat('packetsInPerSecond') },
  { title: 'OutPPS', ...stat('packetsOutPerSecond') },
  { title: 'InPkts', ...stat('packetsIn') },
  { title: 'OutPkts', ...stat('packetsOut') },
  { title: 'InBytes', ...stat('bytesIn') },
  { title: 'OutBytes', ...stat('bytesOut') },
];
const LABEL = 34;
const WIDTH = 10;

function key(sort: SortKey, st: Stats, active: number): bigint {
  switch (sort) {
    case 'cps':
      return st.cps;
    case 'bytes':
      return st.bytesInPerSecond + st.bytesOutPerSecond;
    case 'packets':
      return st.packetsInPerSecond + st.packetsOutPerSecond;
    case 'active':
      return BigInt(active);
    default:
      return st.connections;
  }
}

/** Sorted and filtered services, each with its real servers sorted. */
export function arrange(services: readonly Service[], v: Pick<ViewState, 'sort' | 'reverse' | 'filter'>): Service[] {
  const f = v.filter.toLowerCase();
  const keep = f === '' ? services : services.filter((s) => serviceText(s).toLowerCase().includes(f) || (s.destinations ?? []).some((d) => destText(d).toLowerCase().includes(f)));
  const sign = v.reverse ? -1 : 1;
  const active = (s: Service) => (s.destinations ?? []).reduce((a, d) => a + d.activeConnections, 0);
  const cmpKey = (a: bigint, b: bigint) => (a === b ? 0 : a < b ? 1 : -1) * sign;
  if (v.sort === 'name') {
    const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0) * sign;
    return keep.map((s) => ({ ...s, destinations: [...(s.destinations ?? [])].sort((a, b) => byName(destText(a), destText(b))) })).sort((a, b) => byName(serviceText(a), serviceText(b)));
  }
  return keep
    .map((s) => ({ ...s, destinations: [...(s.destinations ?? [])].sort((a, b) => cmpKey(key(v.sort, a.stats, a.activeConnections), key(v.sort, b.stats, b.activeConnections))) }))
    .sort((a, b) => cmpKey(key(v.sort, a.stats, active(a)), key(v.sort, b.stats, active(b))) || (serviceText(a) < serviceText(b) ? -1 : 1));
}

/** The table: a header line and a line per service and real server, at most `width` columns wide. */
export function tableLines(services: readonly Service[], width = Infinity): string[] {
  let n = COLUMNS.length;
  while (n > 1 && LABEL + n * WIDTH > width) n--;
  const cols = COLUMNS.slice(0, n);
  const fit = (label: string) => (label.length >= LABEL ? `${label.slice(0, LABEL - 2)}… ` : label.padEnd(LABEL));
  const cells = (vals: string[]) => vals.map((x) => x.trim().padStart(WIDTH)).join('');
  const lines = [fit('Prot LocalAddress:Port Scheduler') + cells(cols.map((c) => c.title))];
  for (const s of services) {
    const ds = s.destinations ?? [];
    const sum = { active: ds.reduce((a, d) => a + d.activeConnections, 0), inactive: ds.reduce((a, d) => a + d.inactiveConnections, 0) };
    lines.push(fit(serviceText(s)) + cells(cols.map((c) => c.svc(s, sum))));
    for (const d of ds) lines.push(fit(destText(d)) + cells(cols.map((c) => c.dest(d))));
  }
  return lines.map((l) => l.trimEnd());
}

/** One screen: title, keys, table from `offset`, cut to `height` lines. */
export function screenLines(services: readonly Service[], v: ViewState, size: { width: number; height: number }, when: Date, note = ''): string[] {
  const shown = arrange(services, v);
  const dests = services.reduce((a, s) => a + (s.destinations?.length ?? 0), 0);
  const head = [
    `ipvs top - ${when.toTimeString().slice(0, 8)}   services ${services.length}, real servers ${dests}   sort: ${v.sort}${v.reverse ? ' (reversed)' : ''}${v.filter ? `   filter: ${v.filter}` : ''}${note ? `   ${note}` : ''}`,
    'keys: c conn/s  b bytes/s  p packets/s  a active  t total conns  n name  r reverse  / filter  arrows scroll  q quit',
    '',
  ];
  const table = tableLines(shown, size.width);
  const room = Math.max(1, size.height - head.length - 1);
  const body = table.slice(1);
  const offset = Math.max(0, Math.min(v.offset, body.length - room));
  const lines = [...head, table[0]!, ...body.slice(offset, offset + room)];
  return lines.map((l) => (l.length > size.width ? l.slice(0, size.width) : l));
}
