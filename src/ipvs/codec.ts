/**
 * IPVS attributes <-> library types. Encoding mirrors what ipvsadm sends
 * (16-byte addresses, network-order ports, the flags/mask pair); decoding
 * accepts what any kernel since 2.6.x sends and ignores attributes it does
 * not know.
 */
import { DecodeError } from '../errors.js';
import type { AttributeDecoder, AttributeEncoder } from '../netlink/attributes.js';
import { formatAddress, numberToMask } from './address.js';
import { AF_INET6, CmdAttr, DaemonAttr, DaemonState, DestAttr, InfoAttr, StatsAttr, SvcAttr, SvcFlag } from './constants.js';
import type { DaemonWire, DestinationWire, ServiceKeyWire, ServiceWire } from './validate.js';
import { FORWARDING, PROTOCOLS, TUNNEL_CHECKSUMS, TUNNEL_TYPES } from './validate.js';
import type { AddressFamily, Daemon, Destination, Forwarding, Info, Protocol, SchedulerFlag, Service, Stats, Timeouts, TunnelChecksum, TunnelKind } from './types.js';

// ---- encoding -------------------------------------------------------------

/** The key attributes of a service, inside IPVS_CMD_ATTR_SERVICE. */
export function putServiceKey(e: AttributeEncoder, k: ServiceKeyWire): void {
  e.u16(SvcAttr.AF, k.af);
  if (k.fwmark !== undefined) {
    e.u32(SvcAttr.FWMARK, k.fwmark);
  } else {
    e.u16(SvcAttr.PROTOCOL, k.protocol!);
    e.bytes(SvcAttr.ADDR, k.addr!);
    e.u16be(SvcAttr.PORT, k.port!);
  }
}

export function encodeServiceKey(e: AttributeEncoder, k: ServiceKeyWire): void {
  e.nested(CmdAttr.SERVICE, (n) => putServiceKey(n, k));
}

/** A full service entry, as NEW_SERVICE and SET_SERVICE need. */
export function encodeService(e: AttributeEncoder, s: ServiceWire): void {
  e.nested(CmdAttr.SERVICE, (n) => {
    putServiceKey(n, s);
    n.string(SvcAttr.SCHED_NAME, s.scheduler);
    if (s.pe !== undefined) n.string(SvcAttr.PE_NAME, s.pe);
    // struct ip_vs_flags { flags, mask }, through a scratch array (bytes() copies it;
    // a fresh array's .buffer would cost an ArrayBuffer per service)
    flagsView.setUint32(0, s.flags >>> 0, hostLE);
    flagsView.setUint32(4, 0xffffffff, hostLE);
    n.bytes(SvcAttr.FLAGS, flagsScratch);
    n.u32(SvcAttr.TIMEOUT, s.timeout);
    if (s.af === AF_INET6) n.u32(SvcAttr.NETMASK, s.netmask);
    else n.u32be(SvcAttr.NETMASK, s.netmask);
  });
}

/** The key of a destination (address, port, family), inside IPVS_CMD_ATTR_DEST. */
export function encodeDestinationKey(e: AttributeEncoder, d: Pick<DestinationWire, 'af' | 'addr' | 'port'>): void {
  e.nested(CmdAttr.DEST, (n) => {
    n.bytes(DestAttr.ADDR, d.addr);
    n.u16be(DestAttr.PORT, d.port);
    n.u16(DestAttr.ADDR_FAMILY, d.af);
  });
}

/** A full destination entry, as NEW_DEST and SET_DEST need. */
export function encodeDestination(e: AttributeEncoder, d: DestinationWire): void {
  e.nested(CmdAttr.DEST, (n) => {
    n.bytes(DestAttr.ADDR, d.addr);
    n.u16be(DestAttr.PORT, d.port);
    n.u32(DestAttr.FWD_METHOD, d.fwd);
    n.u32(DestAttr.WEIGHT, d.weight);
    n.u32(DestAttr.U_THRESH, d.upper);
    n.u32(DestAttr.L_THRESH, d.lower);
    n.u16(DestAttr.ADDR_FAMILY, d.af);
    if (d.tunType !== undefined) {
      n.u8(DestAttr.TUN_TYPE, d.tunType);
      n.u16be(DestAttr.TUN_PORT, d.tunPort ?? 0);
      n.u16(DestAttr.TUN_FLAGS, d.tunFlags ?? 0);
    }
  });
}

export function encodeDaemon(e: AttributeEncoder, d: DaemonWire): void {
  e.nested(CmdAttr.DAEMON, (n) => {
    n.u32(DaemonAttr.STATE, d.state);
    if (d.ifname !== undefined) n.string(DaemonAttr.MCAST_IFN, d.ifname);
    if (d.syncId !== undefined) n.u32(DaemonAttr.SYNC_ID, d.syncId);
    if (d.syncMaxLen !== undefined) n.u16(DaemonAttr.SYNC_MAXLEN, d.syncMaxLen);
    if (d.group4 !== undefined) n.bytes(DaemonAttr.MCAST_GROUP, d.group4);
    if (d.group6 !== undefined) n.bytes(DaemonAttr.MCAST_GROUP6, d.group6);
    if (d.mcastPort !== undefined) n.u16(DaemonAttr.MCAST_PORT, d.mcastPort);
    if (d.mcastTtl !== undefined) n.u8(DaemonAttr.MCAST_TTL, d.mcastTtl);
  });
}

export function encodeTimeouts(e: AttributeEncoder, t: Partial<Timeouts>): void {
  if (t.tcp !== undefined) e.u32(CmdAttr.TIMEOUT_TCP, t.tcp);
  if (t.tcpFin !== undefined) e.u32(CmdAttr.TIMEOUT_TCP_FIN, t.tcpFin);
  if (t.udp !== undefined) e.u32(CmdAttr.TIMEOUT_UDP, t.udp);
}

const hostLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const flagsScratch = new Uint8Array(8);
const flagsView = new DataView(flagsScratch.buffer);

// ---- decoding -------------------------------------------------------------

const PROTOCOL_NAMES = new Map<number, Protocol>(Object.entries(PROTOCOLS).map(([k, v]) => [v, k as Protocol]));
const FORWARDING_NAMES = new Map<number, Forwarding>(Object.entries(FORWARDING).map(([k, v]) => [v, k as Forwarding]));
const TUNNEL_NAMES = new Map<number, TunnelKind>(Object.entries(TUNNEL_TYPES).map(([k, v]) => [v, k as TunnelKind]));
const CHECKSUM_NAMES = new Map<number, TunnelChecksum>(Object.entries(TUNNEL_CHECKSUMS).map(([k, v]) => [v, k as TunnelChecksum]));

function family(af: number, where: string): AddressFamily {
  if (af === 2) return 'inet';
  if (af === AF_INET6) return 'inet6';
  throw new DecodeError(`${where}: unknown address family ${af}`);
}

function address(a: AttributeDecoder, type: number, fam: AddressFamily): string {
  const b = a.need(a.raw(type), type);
  const need = fam === 'inet' ? 4 : 16;
  if (b.length < need) throw new DecodeError(`${a.where}: attribute ${type} is not an ${fam} address; length ${b.length}`);
  return formatAddress(fam, b);
}

/** Prefers the 64-bit counters; falls back to the 32-bit ones of old kernels. */
export function decodeStats(parent: AttributeDecoder, stats64: number, stats32: number): Stats {
  const s64 = parent.nested(stats64, `${parent.where} stats64`);
  if (s64) {
    return {
      connections: s64.u64(StatsAttr.CONNS) ?? 0n,
      packetsIn: s64.u64(StatsAttr.INPKTS) ?? 0n,
      packetsOut: s64.u64(StatsAttr.OUTPKTS) ?? 0n,
      bytesIn: s64.u64(StatsAttr.INBYTES) ?? 0n,
      bytesOut: s64.u64(StatsAttr.OUTBYTES) ?? 0n,
      cps: s64.u64(StatsAttr.CPS) ?? 0n,
      packetsInPerSecond: s64.u64(StatsAttr.INPPS) ?? 0n,
      packetsOutPerSecond: s64.u64(StatsAttr.OUTPPS) ?? 0n,
      bytesInPerSecond: s64.u64(StatsAttr.INBPS) ?? 0n,
      bytesOutPerSecond: s64.u64(StatsAttr.OUTBPS) ?? 0n,
    };
  }
  const s32 = parent.nested(stats32, `${parent.where} stats`);
  if (!s32) return statsOf(() => 0n);
  return statsOf((t) => {
    if (t === StatsAttr.INBYTES || t === StatsAttr.OUTBYTES) return s32.u64(t) ?? 0n;
    return BigInt(s32.u32(t) ?? 0);
  });
}

function statsOf(g: (t: number) => bigint): Stats {
  return {
    connections: g(StatsAttr.CONNS),
    packetsIn: g(StatsAttr.INPKTS),
    packetsOut: g(StatsAttr.OUTPKTS),
    bytesIn: g(StatsAttr.INBYTES),
    bytesOut: g(StatsAttr.OUTBYTES),
    cps: g(StatsAttr.CPS),
    packetsInPerSecond: g(StatsAttr.INPPS),
    packetsOutPerSecond: g(StatsAttr.OUTPPS),
    bytesInPerSecond: g(StatsAttr.INBPS),
    bytesOutPerSecond: g(StatsAttr.OUTBPS),
  };
}

export function schedulerFlagNames(scheduler: string, flags: number): SchedulerFlag[] {
  const out: SchedulerFlag[] = [];
  const prefix = scheduler === 'sh' || scheduler === 'mh' ? scheduler : undefined;
  if (flags & SvcFlag.SCHED1) out.push(prefix ? (`${prefix}-fallback` as SchedulerFlag) : 'flag-1');
  if (flags & SvcFlag.SCHED2) out.push(prefix ? (`${prefix}-port` as SchedulerFlag) : 'flag-2');
  if (flags & SvcFlag.SCHED3) out.push('flag-3');
  return out;
}

/** Decodes the attributes of one IPVS_CMD_ATTR_SERVICE nest. */
export function decodeService(top: AttributeDecoder): Service {
  const a = top.nested(CmdAttr.SERVICE, 'service');
  if (!a) throw new DecodeError('service reply without IPVS_CMD_ATTR_SERVICE');
  const fam = family(a.need(a.u16(SvcAttr.AF), SvcAttr.AF), 'service');
  const scheduler = a.string(SvcAttr.SCHED_NAME) ?? '';
  const flagsRaw = a.raw(SvcAttr.FLAGS);
  if (flagsRaw !== undefined && flagsRaw.length < 4) throw new DecodeError(`service: attribute ${SvcAttr.FLAGS} is not struct ip_vs_flags; length ${flagsRaw.length}`);
  const flags = flagsRaw ? new DataView(flagsRaw.buffer, flagsRaw.byteOffset, 4).getUint32(0, hostLE) : 0;
  const timeout = a.u32(SvcAttr.TIMEOUT) ?? 0;
  const netmaskRaw = fam === 'inet6' ? a.u32(SvcAttr.NETMASK) ?? 128 : a.u32be(SvcAttr.NETMASK) ?? 0xffffffff;
  const stats = decodeStats(a, SvcAttr.STATS64, SvcAttr.STATS);
  // Key fields first, so printed objects read naturally (built in that
  // order: spreading a finished object to reorder it is slow).
  const svc = { family: fam } as Service;
  const fwmark = a.u32(SvcAttr.FWMARK);
  if (fwmark !== undefined && fwmark !== 0) {
    svc.fwmark = fwmark;
  } else {
    const proto = a.need(a.u16(SvcAttr.PROTOCOL), SvcAttr.PROTOCOL);
    const name = PROTOCOL_NAMES.get(proto);
    if (!name) throw new DecodeError(`service: unknown protocol ${proto}`);
    svc.protocol = name;
    svc.address = address(a, SvcAttr.ADDR, fam);
    svc.port = a.need(a.u16be(SvcAttr.PORT), SvcAttr.PORT);
  }
  svc.scheduler = scheduler;
  svc.schedulerFlags = schedulerFlagNames(scheduler, flags);
  svc.netmask = fam === 'inet6' ? netmaskRaw : numberToMask(netmaskRaw);
  svc.onePacket = (flags & SvcFlag.ONEPACKET) !== 0;
  svc.flags = flags;
  svc.timeout = timeout;
  svc.stats = stats;
  if (flags & SvcFlag.PERSISTENT) svc.persistent = timeout;
  const pe = a.string(SvcAttr.PE_NAME);
  if (pe) svc.pe = pe;
  return svc;
}

/** Decodes the attributes of one IPVS_CMD_ATTR_DEST nest. */
export function decodeDestination(top: AttributeDecoder, serviceFamily: AddressFamily): Destination {
  const a = top.nested(CmdAttr.DEST, 'destination');
  if (!a) throw new DecodeError('destination reply without IPVS_CMD_ATTR_DEST');
  const afRaw = a.u16(DestAttr.ADDR_FAMILY);
  const fam = afRaw === undefined || afRaw === 0 ? serviceFamily : family(afRaw, 'destination');
  const fwdRaw = (a.u32(DestAttr.FWD_METHOD) ?? 0) & 0x7;
  const forwarding = FORWARDING_NAMES.get(fwdRaw);
  if (!forwarding) throw new DecodeError(`destination: unknown forwarding method ${fwdRaw}`);
  const d: Destination = {
    family: fam,
    address: address(a, DestAttr.ADDR, fam),
    port: a.need(a.u16be(DestAttr.PORT), DestAttr.PORT),
    forwarding,
    weight: a.u32(DestAttr.WEIGHT) ?? 0,
    upperThreshold: a.u32(DestAttr.U_THRESH) ?? 0,
    lowerThreshold: a.u32(DestAttr.L_THRESH) ?? 0,
    activeConnections: a.u32(DestAttr.ACTIVE_CONNS) ?? 0,
    inactiveConnections: a.u32(DestAttr.INACT_CONNS) ?? 0,
    persistentConnections: a.u32(DestAttr.PERSIST_CONNS) ?? 0,
    stats: decodeStats(a, DestAttr.STATS64, DestAttr.STATS),
  };
  const tunType = a.u8(DestAttr.TUN_TYPE);
  if (forwarding === 'tunnel' && tunType !== undefined) {
    const type = TUNNEL_NAMES.get(tunType);
    if (!type) throw new DecodeError(`destination: unknown tunnel type ${tunType}`);
    const flags = a.u16(DestAttr.TUN_FLAGS) ?? 0;
    const checksum = flags & 2 ? 'remcsum' : flags & 1 ? 'csum' : 'none';
    d.tunnel = { type, port: a.u16be(DestAttr.TUN_PORT) ?? 0, checksum: CHECKSUM_NAMES.get(flags) ?? checksum };
  }
  return d;
}

export function decodeDaemon(top: AttributeDecoder): Daemon {
  const a = top.nested(CmdAttr.DAEMON, 'daemon');
  if (!a) throw new DecodeError('daemon reply without IPVS_CMD_ATTR_DAEMON');
  const state = a.need(a.u32(DaemonAttr.STATE), DaemonAttr.STATE);
  const d: Daemon = {
    state: state === DaemonState.BACKUP ? 'backup' : 'master',
    interface: a.string(DaemonAttr.MCAST_IFN) ?? '',
    syncId: a.u32(DaemonAttr.SYNC_ID) ?? 0,
  };
  const maxlen = a.u16(DaemonAttr.SYNC_MAXLEN);
  if (maxlen !== undefined) d.syncMaxLen = maxlen;
  const g4 = a.raw(DaemonAttr.MCAST_GROUP);
  const g6 = a.raw(DaemonAttr.MCAST_GROUP6);
  if (g6 !== undefined && g6.length === 16 && g6.some((b) => b !== 0)) d.mcastGroup = formatAddress('inet6', g6);
  else if (g4 !== undefined && g4.length === 4) d.mcastGroup = formatAddress('inet', g4);
  const port = a.u16(DaemonAttr.MCAST_PORT);
  if (port !== undefined) d.mcastPort = port;
  const ttl = a.u8(DaemonAttr.MCAST_TTL);
  if (ttl !== undefined) d.mcastTtl = ttl;
  return d;
}

export function decodeTimeouts(a: AttributeDecoder): Timeouts {
  return {
    tcp: a.u32(CmdAttr.TIMEOUT_TCP) ?? 0,
    tcpFin: a.u32(CmdAttr.TIMEOUT_TCP_FIN) ?? 0,
    udp: a.u32(CmdAttr.TIMEOUT_UDP) ?? 0,
  };
}

export function decodeInfo(a: AttributeDecoder): Info {
  const code = a.need(a.u32(InfoAttr.VERSION), InfoAttr.VERSION);
  return {
    version: `${(code >> 16) & 0xff}.${(code >> 8) & 0xff}.${code & 0xff}`,
    versionCode: code,
    connectionTableSize: a.u32(InfoAttr.CONN_TAB_SIZE) ?? 0,
  };
}
