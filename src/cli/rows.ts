/**
 * Library listings as ipvsadm's entries (numbers and address bytes), which
 * is what its comparators and printf formats work on.
 */
import { AF_INET, AF_INET6, ConnFlag, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, TunnelType } from '../ipvs/constants.js';
import type { Destination, Service, Stats } from '../ipvs/types.js';
import { addressBytes } from './cparse.js';

export interface SvcRow {
  af: number;
  protocol: number;
  /** 16 bytes, an IPv4 address in the first 4 (zero for fwmark services). */
  addr: Uint8Array;
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

export interface DestRow {
  af: number;
  addr: Uint8Array;
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

const PROTO: Record<string, number> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, sctp: IPPROTO_SCTP };
const FWD: Record<string, number> = {
  masq: ConnFlag.MASQ, local: ConnFlag.LOCALNODE, tunnel: ConnFlag.TUNNEL, route: ConnFlag.DROUTE, bypass: ConnFlag.BYPASS,
};
const TUN: Record<string, number> = { ipip: TunnelType.IPIP, gue: TunnelType.GUE, gre: TunnelType.GRE };
const CSUM: Record<string, number> = { none: 0, csum: 1, remcsum: 2 };

function addr16(text: string | undefined): Uint8Array {
  const out = new Uint8Array(16);
  if (text !== undefined) out.set(addressBytes(text));
  return out;
}

export function svcRow(s: Service): SvcRow {
  const af = s.family === 'inet6' ? AF_INET6 : AF_INET;
  let netmask: number;
  if (typeof s.netmask === 'number') netmask = s.netmask;
  else {
    const b = addressBytes(s.netmask);
    netmask = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }
  return {
    af,
    protocol: s.fwmark !== undefined ? 0 : PROTO[s.protocol ?? ''] ?? 0,
    addr: addr16(s.fwmark !== undefined ? undefined : s.address),
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
}

export function destRow(d: Destination): DestRow {
  return {
    af: d.family === 'inet6' ? AF_INET6 : AF_INET,
    addr: addr16(d.address),
    port: d.port,
    connFlags: FWD[d.forwarding] ?? 0,
    weight: d.weight,
    uThreshold: d.upperThreshold,
    lThreshold: d.lowerThreshold,
    active: d.activeConnections,
    inactive: d.inactiveConnections,
    persistent: d.persistentConnections,
    tunType: d.tunnel ? TUN[d.tunnel.type] ?? 0 : 0,
    tunPort: d.tunnel?.port ?? 0,
    tunFlags: d.tunnel ? CSUM[d.tunnel.checksum ?? 'none'] ?? 0 : 0,
    stats: d.stats,
    destination: d,
  };
}
