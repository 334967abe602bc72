/**
 * Library listings as ipvsadm's entries (numbers and address words), which
 * is what its comparators and printf formats work on.
 */
import { NOT_IPV4, ipv4 } from '../ipvs/address.js';
import { AF_INET, AF_INET6 } from '../ipvs/constants.js';
import { FORWARDING, PROTOCOLS, TUNNEL_CHECKSUMS, TUNNEL_TYPES, lookup } from '../ipvs/names.js';
import type { Destination, Service, Stats } from '../ipvs/types.js';
import { addressBytes } from './cparse.js';

/**
 * An address as ipvsadm compares it: four 32-bit words in network order
 * (IPv4 in w0, the others zero), kept as int32 (the comparators' wrapped
 * differences come out the same, and V8 keeps them unboxed), and as the
 * text the library gave, which is what inet_ntop prints for it.
 */
export interface AddrWords {
  text: string;
  w0: number;
  w1: number;
  w2: number;
  w3: number;
}

export interface SvcRow extends AddrWords {
  af: number;
  protocol: number;
  port: number;
  fwmark: number;
  sched: string;
  flags: number;
  timeout: number;
  /** IPv4: 32-bit mask number; IPv6: prefix length. */
  netmask: number;
  pe: string;
  stats: Stats;
  /** The library's object, for --json. */
  service: Service;
}

export interface DestRow extends AddrWords {
  af: number;
  port: number;
  connFlags: number;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  active: number;
  inactive: number;
  persistent: number;
  tunType: number;
  tunPort: number;
  tunFlags: number;
  stats: Stats;
  destination: Destination;
}


/** Sets `row`'s address words from the library's text ('' for none: all zero). */
function setWords(row: AddrWords, text: string): void {
  row.text = text;
  const v4 = ipv4(text);
  if (v4 !== NOT_IPV4) {
    row.w0 = v4;
    return;
  }
  if (text === '') return;
  const b = addressBytes(text);
  const word = (i: number) => (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
  row.w0 = word(0);
  if (b.length < 16) return;
  row.w1 = word(4);
  row.w2 = word(8);
  row.w3 = word(12);
}

export function svcRow(s: Service): SvcRow {
  const af = s.family === 'inet6' ? AF_INET6 : AF_INET;
  let netmask: number;
  if (typeof s.netmask === 'number') netmask = s.netmask;
  else {
    const n = ipv4(s.netmask);
    netmask = n !== NOT_IPV4 ? n >>> 0 : 0xffffffff;
  }
  const row: SvcRow = {
    af,
    protocol: s.fwmark !== undefined ? 0 : lookup(PROTOCOLS, s.protocol) ?? 0,
    text: '',
    w0: 0,
    w1: 0,
    w2: 0,
    w3: 0,
    port: s.port ?? 0,
    fwmark: s.fwmark ?? 0,
    sched: s.scheduler,
    flags: s.flags,
    timeout: s.timeout,
    netmask,
    pe: s.pe ?? '',
    stats: s.stats,
    service: s,
  };
  if (s.fwmark === undefined) setWords(row, s.address ?? '');
  return row;
}

export function destRow(d: Destination): DestRow {
  const row: DestRow = {
    af: d.family === 'inet6' ? AF_INET6 : AF_INET,
    text: '',
    w0: 0,
    w1: 0,
    w2: 0,
    w3: 0,
    port: d.port,
    connFlags: lookup(FORWARDING, d.forwarding) ?? 0,
    weight: d.weight,
    uThreshold: d.upperThreshold,
    lThreshold: d.lowerThreshold,
    active: d.activeConnections,
    inactive: d.inactiveConnections,
    persistent: d.persistentConnections,
    tunType: d.tunnel ? lookup(TUNNEL_TYPES, d.tunnel.type) ?? 0 : 0,
    tunPort: d.tunnel?.port ?? 0,
    tunFlags: d.tunnel ? lookup(TUNNEL_CHECKSUMS, d.tunnel.checksum ?? 'none') ?? 0 : 0,
    stats: d.stats,
    destination: d,
  };
  setWords(row, d.address);
  return row;
}
