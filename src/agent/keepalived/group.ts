/**
 * virtual_server_group entries: "IP [PORT]", ranges "10.0.0.3-10",
 * "10.0.0.250-10.0.1.10", "10.0.0.8/29" (IPv6 alike, the range on the last
 * group), and "fwmark N [inet|inet6]"; each becomes a service key.
 */
import { isIP, isIPv6 } from 'node:net';
import type { Statement } from './lexer.js';
import type { Ctx } from './context.js';

/** Addresses one entry may expand to (more is a mistake, not a plan). */
const MAX_EXPANSION = 65536;

export type GroupEntry = { address: string; port?: number } | { fwmark: number; family?: 'inet' | 'inet6' };

function v4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
function v4num(a: string): number {
  return a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** Expands an address range text to its addresses; undefined when it is not one. */
export function expandRange(text: string): string[] | undefined {
  if (isIP(text)) return [text];
  const cidr = /^(.+)\/(\d+)$/.exec(text);
  if (cidr && isIP(cidr[1]!) === 4) {
    const bits = Number(cidr[2]);
    if (bits > 32 || bits < 32 - 16) return undefined;
    const base = v4num(cidr[1]!) & (bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0);
    return Array.from({ length: 2 ** (32 - bits) }, (_, i) => v4((base + i) >>> 0));
  }
  const dash = text.lastIndexOf('-');
  if (dash < 0) return undefined;
  const first = text.slice(0, dash);
  const end = text.slice(dash + 1);
  if (isIP(first) === 4) {
    const lo = v4num(first);
    const hi = isIP(end) === 4 ? v4num(end) : /^\d+$/.test(end) && Number(end) < 256 ? lo - (lo % 256) + Number(end) : NaN;
    if (!(hi >= lo) || hi - lo >= MAX_EXPANSION) return undefined;
    return Array.from({ length: hi - lo + 1 }, (_, i) => v4(lo + i));
  }
  if (isIPv6(first) && /^[0-9a-fA-F]{1,4}$/.test(end)) {
    const colon = first.lastIndexOf(':');
    const lo = parseInt(first.slice(colon + 1) || '0', 16);
    const hi = parseInt(end, 16);
    if (!(hi >= lo)) return undefined;
    return Array.from({ length: hi - lo + 1 }, (_, i) => `${first.slice(0, colon + 1)}${(lo + i).toString(16)}`);
  }
  return undefined;
}

export function groupEntries(ctx: Ctx, st: Statement): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const s of st.block ?? []) {
    const [w0, w1, w2] = s.words;
    if (w0 === 'fwmark') {
      const n = Number(w1);
      if (!Number.isInteger(n) || n < 1) ctx.problem(s, `fwmark needs a number, got ${JSON.stringify(w1 ?? '')}`);
      else out.push(w2 === 'inet' || w2 === 'inet6' ? { fwmark: n, family: w2 } : { fwmark: n });
      continue;
    }
    const addrs = expandRange(w0!);
    if (!addrs) {
      ctx.problem(s, `not an address, range or fwmark: ${JSON.stringify(w0)}`);
      continue;
    }
    const port = w1 === undefined ? undefined : Number(w1);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      ctx.problem(s, `not a port: ${JSON.stringify(w1)}`);
      continue;
    }
    for (const address of addrs) out.push(port === undefined ? { address } : { address, port });
  }
  return out;
}
