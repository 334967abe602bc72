/**
 * The IPVS connection table of a namespace, as the kernel prints it in
 * /proc/net/ip_vs_conn (net/netfilter/ipvs/ip_vs_conn.c, ip_vs_conn_seq_show)
 * or /proc/net/ip_vs_conn_sync (ip_vs_conn_sync_seq_show, which adds where
 * each entry came from and leaves out persistence-engine data). Like
 * `ipvsadm -Lnc`, as objects.
 */
import { DecodeError } from '../errors.js';
import { formatAddress } from '../ipvs/address.js';
import type { AddressFamily } from '../ipvs/types.js';
import { readNamespaceFile, type NamespaceFileOptions } from './files.js';

export const CONN_FILE = '/proc/net/ip_vs_conn';
export const CONN_SYNC_FILE = '/proc/net/ip_vs_conn_sync';

/** An address and port as the table shows them. */
export interface Endpoint {
  address: string;
  port: number;
}

/** One entry of the connection table. */
export interface IpvsConnection {
  /** 'tcp', 'udp', 'sctp'; 'ip' for the templates of fwmark services. */
  protocol: string;
  /** Family of the client and virtual addresses. */
  family: AddressFamily;
  client: Endpoint;
  /** For the templates of fwmark services the address holds the mark (0.0.0.1 for mark 1) and the port is 0. */
  virtual: Endpoint;
  /** The real server; its family may differ from `family` (tunnels). */
  destination: Endpoint & { family: AddressFamily };
  /** The protocol state as the kernel names it, e.g. 'ESTABLISHED', 'SYN_RECV', 'UDP'; 'NONE' for templates. */
  state: string;
  /** Seconds until the entry expires (a template outlives its connections by the persistence timeout). */
  expires: number;
  /**
   * A persistence template (client port 0, state NONE): it pins the client
   * (or its netmask) to `destination` for persistent services.
   */
  template: boolean;
  /** Persistence engine and its data (e.g. 'sip' and the Call-ID), when the entry has one. */
  pe?: { name: string; data: string };
  /** With `origin: true`: made here by the scheduler ('local') or received from a sync master ('sync'). */
  origin?: 'local' | 'sync';
}

export interface ListConnectionsOptions extends NamespaceFileOptions {
  /**
   * Read /proc/net/ip_vs_conn_sync instead: every entry says whether it was
   * made here or came from the sync daemon, but persistence-engine data is
   * not shown there.
   */
  origin?: boolean;
}

/** Lists the connection table (like `ipvsadm -Lnc`). */
export async function listConnections(opts: ListConnectionsOptions = {}): Promise<IpvsConnection[]> {
  const file = opts.origin ? CONN_SYNC_FILE : CONN_FILE;
  return parseConnections(await readNamespaceFile(file, opts, 'listConnections'), opts.origin === true);
}

function hexAddress(text: string, line: number): { family: AddressFamily; address: string } {
  if (text.length === 8) {
    const n = Number.parseInt(text, 16);
    if (!/^[0-9A-Fa-f]{8}$/.test(text)) throw bad(line, text);
    return { family: 'inet', address: `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}` };
  }
  // %pI6: eight groups of four hex digits.
  const groups = text.split(':');
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-fA-F]{4}$/.test(g))) throw bad(line, text);
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const w = Number.parseInt(g, 16);
    bytes[i * 2] = w >>> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return { family: 'inet6', address: formatAddress('inet6', bytes) };
}

function hexPort(text: string, line: number): number {
  if (!/^[0-9A-Fa-f]{4}$/.test(text)) throw bad(line, text);
  return Number.parseInt(text, 16);
}

const bad = (line: number, what: string) => new DecodeError(`listConnections: line ${line} of the connection table does not parse at ${JSON.stringify(what)}`, 'listConnections');

/**
 * Parses the text of /proc/net/ip_vs_conn (or, with `sync`, of
 * ip_vs_conn_sync: an origin column before the expiry, no pe columns).
 */
export function parseConnections(text: string, sync = false): IpvsConnection[] {
  const out: IpvsConnection[] = [];
  const lines = text.split('\n');
  // Line 1 is the kernel's header.
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length === 1 && f[0] === '') continue;
    const n = i + 1;
    if (f.length < (sync ? 10 : 9)) throw bad(n, lines[i]!);
    const [proto, c, cp, v, vp, d, dp, state] = f as [string, string, string, string, string, string, string, string];
    const client = hexAddress(c, n);
    const virt = hexAddress(v, n);
    const dest = hexAddress(d, n);
    const expires = Number(f[sync ? 9 : 8]);
    if (!Number.isInteger(expires) || expires < 0) throw bad(n, f[sync ? 9 : 8]!);
    const cport = hexPort(cp, n);
    const conn: IpvsConnection = {
      protocol: proto.toLowerCase(),
      family: client.family,
      client: { address: client.address, port: cport },
      virtual: { address: virt.address, port: hexPort(vp, n) },
      destination: { family: dest.family, address: dest.address, port: hexPort(dp, n) },
      state,
      expires,
      template: state === 'NONE' && cport === 0,
    };
    if (sync) {
      // ip_vs_origin_name: "SYNC" or "LOCAL".
      const o = f[8]!.toUpperCase();
      if (o !== 'LOCAL' && o !== 'SYNC') throw bad(n, f[8]!);
      conn.origin = o === 'SYNC' ? 'sync' : 'local';
    } else if (f.length >= 11) {
      conn.pe = { name: f[9]!, data: f[10]! };
    }
    out.push(conn);
  }
  return out;
}
