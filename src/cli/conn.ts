/**
 * ipvsadm -c: the kernel's connection table, /proc/net/ip_vs_conn, read in
 * the namespace the command works in and printed as list_conn/print_conn do.
 */
import { netnsPath } from '../client.js';
import { CONN_FILE } from '../procfs/connections.js';
import { readNamespaceFile } from '../procfs/files.js';
import { AF_INET, AF_INET6 } from '../ipvs/constants.js';
import { PROTOCOLS, lookup } from '../ipvs/names.js';
import { fail } from './exit.js';
import { Fmt } from './options.js';
import { inetNtop, inetNtopAf, inetPton4, inetPton6 } from './cparse.js';
import { addrPortName, type HostNames } from './format.js';
import { addrToHost } from './names.js';

export const CONN_PROC_FILE = CONN_FILE;

/** One connection of /proc/net/ip_vs_conn. */
export interface Connection {
  protocol: string;
  client: { address: string; port: number };
  virtual: { address: string; port: number };
  destination: { address: string; port: number };
  state: string;
  /** Seconds until the entry expires. */
  expires: number;
  pe?: string;
  peData?: string;
}

interface ConnLine {
  conn: Connection;
  af: number;
  daf: number;
  caddr: Uint8Array;
  vaddr: Uint8Array;
  daddr: Uint8Array;
  proto: number;
  /** Fields sscanf would have converted (11 with a persistence engine). */
  n: number;
}

/** Reads the table, in another namespace as the library does (procfs shows the opener's namespace). */
export async function readConnTable(netns?: string): Promise<string> {
  try {
    return await readNamespaceFile(CONN_FILE, netns === undefined ? {} : { netnsPath: netnsPath(netns) }, 'listConnections');
  } catch {
    throw fail(1, `cannot open file ${CONN_PROC_FILE}`);
  }
}

function hexAddr(text: string): { af: number; bytes: Uint8Array } {
  const v6 = inetPton6(text);
  if (v6) return { af: AF_INET6, bytes: v6 };
  const v4 = inetPton4(text);
  if (v4) return { af: AF_INET, bytes: v4 };
  const n = parseInt(text, 16) >>> 0 || 0;
  return { af: AF_INET, bytes: Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff) };
}

const hex16 = (s: string | undefined): number => (s === undefined ? 0 : parseInt(s, 16) & 0xffff || 0);

function parseLine(line: string): ConnLine | undefined {
  const t = line.trim().split(/\s+/);
  if (t.length === 0 || t[0] === '') return undefined;
  const n = Math.min(t.length, 11);
  const [protocol = '', c, cp, v, vp, d, dp, state = '', exp, pe, peData] = t;
  const ca = hexAddr(c ?? '');
  const af = ca.af;
  const va = af === AF_INET6 ? { af, bytes: inetPton6(v ?? '') ?? new Uint8Array(16) } : hexAddr(v ?? '');
  const da = hexAddr(d ?? '');
  // (the file prints ipvsadm's labels, TCP/UDP/SCTP)
  const proto = lookup(PROTOCOLS, protocol.toLowerCase()) ?? 0;
  const conn: Connection = {
    protocol,
    client: { address: inetNtop(ca.bytes), port: hex16(cp) },
    virtual: { address: inetNtop(va.bytes), port: hex16(vp) },
    destination: { address: inetNtop(da.bytes), port: hex16(dp) },
    state,
    expires: Number.parseInt(exp ?? '0', 10) >>> 0,
  };
  if (n === 11) {
    conn.pe = pe!;
    conn.peData = peData!;
  }
  return { conn, af, daf: da.af, caddr: ca.bytes, vaddr: va.bytes, daddr: da.bytes, proto, n };
}

/** The connections of a table's text. */
export function parseConnTable(text: string): Connection[] {
  return connLines(text).map((l) => l.conn);
}

function connLines(text: string): ConnLine[] {
  const lines = text.split('\n');
  lines.shift(); // the kernel's header
  return lines.map(parseLine).filter((l): l is ConnLine => l !== undefined);
}

/** list_conn's output for a table's text. */
export async function formatConnTable(text: string, format: number): Promise<string> {
  if (text === '') throw fail(1, `unexpected input from ${CONN_PROC_FILE}`);
  const lines = connLines(text);
  const names = new Map<string, string>();
  if (!(format & Fmt.NUMERIC)) {
    const addrs = new Set<string>();
    for (const l of lines) for (const a of [l.conn.client, l.conn.virtual, l.conn.destination]) addrs.add(a.address);
    await Promise.all([...addrs].map(async (a) => {
      const h = await addrToHost(a);
      if (h) names.set(a, h);
    }));
  }
  const pc = (format & Fmt.PERSISTENTCONN) !== 0;
  let out = 'IPVS connection entries\n';
  out += pc
    ? `pro expire ${'state'.padEnd(11)} ${'source'.padEnd(18)} ${'virtual'.padEnd(18)} ${'destination'.padEnd(18)} ${'pe name'.padEnd(16)} pe_data\n`
    : `pro expire ${'state'.padEnd(11)} ${'source'.padEnd(18)} ${'virtual'.padEnd(18)} destination\n`;
  for (const l of lines) out += connLine(l, format, names);
  return out;
}

function connLine(l: ConnLine, format: number, names: HostNames): string {
  const c = l.conn;
  const cname = addrPortName(l.af, inetNtopAf(l.af, l.caddr), c.client.port, l.proto, format, names);
  const vname = addrPortName(l.af, inetNtopAf(l.af, l.vaddr), c.virtual.port, l.proto, format, names);
  const dname = addrPortName(l.daf, inetNtopAf(l.daf, l.daddr), c.destination.port, l.proto, format, names);
  const expire = `${String(Math.floor(c.expires / 60)).padStart(2, '0')}:${String(c.expires % 60).padStart(2, '0')}`;
  const head = `${c.protocol.padEnd(3)} ${expire.padEnd(6)} ${c.state.padEnd(11)} ${cname.padEnd(18)} ${vname.padEnd(18)} `;
  if (format & Fmt.PERSISTENTCONN && l.n === 11) return `${head}${dname.padEnd(16)} ${c.pe!.padEnd(18)} ${c.peData}\n`;
  return `${head}${dname}\n`;
}
