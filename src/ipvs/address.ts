/**
 * IP address text <-> bytes. Formatting follows glibc's inet_ntop, which is
 * what ipvsadm prints, so listings compare byte for byte.
 */
import { isIPv6 } from 'node:net';
import type { AddressFamily } from './types.js';

export interface ParsedAddress {
  family: AddressFamily;
  /** 4 bytes for inet, 16 for inet6. */
  bytes: Uint8Array;
}

/** Parses an IPv4 or IPv6 literal; undefined when it is neither. */
export function parseAddress(text: string): ParsedAddress | undefined {
  // (node's isIPv6 takes a zone id, "fe80::1%eth0"; IPVS keeps no scope for an address)
  if (text.includes('%')) return undefined;
  const v4 = ipv4Bytes(text);
  if (v4) return { family: 'inet', bytes: v4 };
  if (isIPv6(text)) return { family: 'inet6', bytes: parseIPv6(text) };
  return undefined;
}

/** What `ipv4` returns for anything that is not a dotted quad (no 32-bit integer is this). */
export const NOT_IPV4 = 2 ** 32;

/**
 * A dotted-quad IPv4 address as a signed 32-bit integer, by hand (the common
 * case, without regex or arrays): exactly what isIPv4 accepts, four decimal
 * octets of 0-255 without leading zeros; NOT_IPV4 for anything else (which
 * then takes the general path). The fast lane (fast.ts) encodes from the
 * number (bench rows "library, batch()" and "ipvs -R"); batch-fast.test.ts
 * holds it equal to node's isIPv4. Signed, because V8 keeps int32 values
 * unboxed: an unsigned 172.16.0.1 would be a heap number, one allocation
 * per address.
 */
export function ipv4(text: unknown): number {
  if (typeof text !== 'string' || text.length > 15) return NOT_IPV4;
  let addr = 0;
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part === 3) return NOT_IPV4;
      addr = addr * 256 + value;
      part++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return NOT_IPV4; // leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return NOT_IPV4;
    } else {
      return NOT_IPV4;
    }
  }
  if (digits === 0 || part !== 3) return NOT_IPV4;
  return (addr * 256 + value) | 0;
}

/** The same, as its 4 bytes (glibc's inet_pton(AF_INET): the CLI's inetPton4 is this). */
export function ipv4Bytes(text: string): Uint8Array | undefined {
  const n = ipv4(text);
  if (n === NOT_IPV4) return undefined;
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

function parseIPv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  let s = text;
  // A trailing dotted quad becomes two groups.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4Bytes(tail) ?? new Uint8Array(4); // (isIPv6 took it: a dotted quad)
    s = `${s.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [left, right] = s.includes('::') ? s.split('::') : [s, undefined];
  const head = left ? left.split(':') : [];
  const rest = right ? right.split(':') : [];
  const groups = right === undefined ? head : [...head, ...Array(8 - head.length - rest.length).fill('0'), ...rest];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** Whether an address is a multicast group: 224.0.0.0/4, ff00::/8. */
export function isMulticast(family: AddressFamily, bytes: Uint8Array): boolean {
  return family === 'inet' ? (bytes[0]! & 0xf0) === 0xe0 : bytes[0] === 0xff;
}

/** Formats 4 or 16 address bytes (extra bytes of a 16-byte IPv4 slot are ignored). */
export function formatAddress(family: AddressFamily, bytes: Uint8Array): string {
  if (family === 'inet') return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  return formatIPv6(bytes);
}

/** RFC 5952 shortening with glibc's embedded-IPv4 forms (::ffff:a.b.c.d, ::a.b.c.d). */
export function formatIPv6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** Dotted IPv4 netmask <-> prefix length. */
export function prefixToMask(prefix: number): string {
  return numberToMask(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

/** A dotted IPv4 netmask as a 32-bit number (0 for text that is not a dotted quad). */
export function maskToNumber(mask: string): number {
  const n = ipv4(mask);
  return n === NOT_IPV4 ? 0 : n >>> 0;
}

/** A 32-bit mask (or address) as a dotted quad. */
export function numberToMask(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}
