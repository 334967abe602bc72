/**
 * The C library parsers ipvsadm leans on (strtol, atoi, inet_aton,
 * inet_pton, inet_ntop), reproduced so the CLI accepts and refuses exactly
 * the same argument text. Addresses are handled as bytes: 4 for IPv4, 16 for
 * IPv6.
 */
import { NOT_IPV4, formatAddress, formatIPv6, ipv4, ipv4Bytes } from '../ipvs/address.js';
import { AF_INET6 } from '../ipvs/constants.js';

const SPACE = /^[ \t\n\v\f\r]*/;

/**
 * ipvsadm's string_to_number: strtol base 10 over the whole string (leading
 * white space and a sign allowed), within [min, max]; -1 when it is not.
 */
export function stringToNumber(s: string, min: number, max: number): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(s);
  if (!m) return -1;
  const n = Number(m[2]) * (m[1] === '-' ? -1 : 1);
  return n >= min && n <= max ? n : -1;
}

/** C atoi: leading white space, optional sign, digits; 0 when none. Wraps like glibc on 64-bit long then int. */
export function atoi(s: string): number {
  const m = /^([+-]?)(\d*)/.exec(s.replace(SPACE, ''));
  if (!m || m[2] === '') return 0;
  const v = BigInt.asIntN(32, BigInt(m[2]!) * (m[1] === '-' ? -1n : 1n));
  return Number(v);
}

/**
 * glibc strtoul(s, &end, 0) from the start of `s` (no leading space: callers
 * check for a digit first). Returns the value and the characters consumed.
 */
function strtoul0(s: string): { value: number; used: number } {
  let base = 10;
  let i = 0;
  if (s[0] === '0' && (s[1] === 'x' || s[1] === 'X') && /[0-9a-fA-F]/.test(s[2] ?? '')) {
    base = 16;
    i = 2;
  } else if (s[0] === '0') base = 8;
  const digits = base === 16 ? /[0-9a-fA-F]/ : base === 8 ? /[0-7]/ : /[0-9]/;
  let v = 0;
  const start = i;
  while (i < s.length && digits.test(s[i]!)) {
    v = v * base + parseInt(s[i]!, base);
    if (v > 0xffffffffffff) v = Infinity; // far beyond any accepted part
    i++;
  }
  if (i === start && base === 8) return { value: 0, used: 1 }; // a lone "0"
  return { value: v, used: i };
}

/** glibc inet_aton: 1 to 4 parts, each decimal, octal or hex; trailing white space allowed. */
export function inetAton(s: string): Uint8Array | undefined {
  // A plain dotted quad (the common case) reads the same either way.
  const quad = ipv4(s);
  if (quad !== NOT_IPV4) return Uint8Array.of(quad >>> 24, (quad >>> 16) & 0xff, (quad >>> 8) & 0xff, quad & 0xff);
  const parts: number[] = [];
  let i = 0;
  let val = 0;
  for (;;) {
    if (!/[0-9]/.test(s[i] ?? '')) return undefined;
    const r = strtoul0(s.slice(i));
    if (r.value > 0xffffffff) return undefined;
    val = r.value;
    i += r.used;
    if (s[i] === '.') {
      if (parts.length > 2 || val > 0xff) return undefined;
      parts.push(val);
      i++;
    } else break;
  }
  const c = s[i];
  if (c !== undefined && !/^[ \t\n\v\f\r]$/.test(c)) return undefined;
  const max = [0xffffffff, 0xffffff, 0xffff, 0xff][parts.length]!;
  if (val > max) return undefined;
  let n = val;
  for (let k = 0; k < parts.length; k++) n += parts[k]! * 2 ** (8 * (3 - k));
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** glibc inet_pton(AF_INET): exactly four decimal parts, no leading zeros (the library's ipv4 reads it). */
export function inetPton4(s: string): Uint8Array | undefined {
  return ipv4Bytes(s);
}

/** glibc inet_pton(AF_INET6) (the BIND algorithm): no zone, optional trailing dotted quad. */
export function inetPton6(s: string): Uint8Array | undefined {
  // Fewer than two colons never make 16 bytes (IPv4 text, the common case, stops here).
  const colon = s.indexOf(':');
  if (colon < 0 || s.indexOf(':', colon + 1) < 0) return undefined;
  const out = new Uint8Array(16);
  let i = 0;
  if (s[0] === ':' && s[1] !== ':') return undefined;
  if (s[0] === ':') i = 1;
  let tp = 0;
  let colonp = -1;
  let curtok = i;
  let sawXdigit = false;
  let val = 0;
  let digits = 0;
  for (; i < s.length; i++) {
    const ch = s[i]!;
    const hex = '0123456789abcdef'.indexOf(ch.toLowerCase());
    if (hex >= 0 && ch !== '') {
      if (++digits > 4) return undefined;
      val = (val << 4) | hex;
      sawXdigit = true;
      continue;
    }
    if (ch === ':') {
      curtok = i + 1;
      if (!sawXdigit) {
        if (colonp >= 0) return undefined;
        colonp = tp;
        continue;
      } else if (i + 1 >= s.length) return undefined;
      if (tp + 2 > 16) return undefined;
      out[tp++] = (val >> 8) & 0xff;
      out[tp++] = val & 0xff;
      sawXdigit = false;
      digits = 0;
      val = 0;
      continue;
    }
    if (ch === '.' && tp + 4 <= 16) {
      const v4 = inetPton4(s.slice(curtok));
      if (!v4) return undefined;
      out.set(v4, tp);
      tp += 4;
      sawXdigit = false;
      break;
    }
    return undefined;
  }
  if (sawXdigit) {
    if (tp + 2 > 16) return undefined;
    out[tp++] = (val >> 8) & 0xff;
    out[tp++] = val & 0xff;
  }
  if (colonp >= 0) {
    if (tp === 16) return undefined;
    const n = tp - colonp;
    for (let k = 1; k <= n; k++) {
      out[16 - k] = out[colonp + n - k]!;
      out[colonp + n - k] = 0;
    }
    tp = 16;
  }
  return tp === 16 ? out : undefined;
}

/** inet_ntop for 4 or 16 bytes (glibc's output, which ipvsadm prints). */
export function inetNtop(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  return formatIPv6(bytes);
}

/** inet_ntop(af, bytes) on a 16-byte slot: IPv4 reads its first 4 bytes. */
export function inetNtopAf(af: number, bytes: Uint8Array): string {
  return formatAddress(af === AF_INET6 ? 'inet6' : 'inet', bytes);
}

/** Address text (as the library formats it) back to bytes. */
export function addressBytes(text: string): Uint8Array {
  return inetPton4(text) ?? inetPton6(text) ?? new Uint8Array(4);
}
