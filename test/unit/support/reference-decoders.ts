/**
 * A second decoder of service and destination replies, for tests only: the
 * naive way, behind AttributeDecoder, one attribute at a time. The library
 * decodes these replies with src/ipvs/scan.ts alone (straight from the
 * receive buffer); this is the oracle the scan tests hold it equal to
 * (test/unit/scan.test.ts), and it reads back the requests the encoders
 * write (test/unit/ipvs-requests.test.ts).
 */
import { DecodeError } from '../../../src/errors.js';
import { formatAddress, numberToMask } from '../../../src/ipvs/address.js';
import { schedulerFlagNames } from '../../../src/ipvs/codec.js';
import { AF_INET6, CmdAttr, DestAttr, StatsAttr, SvcAttr, SvcFlag } from '../../../src/ipvs/constants.js';
import type { AddressFamily, Destination, Forwarding, Protocol, Service, Stats, TunnelChecksum, TunnelKind } from '../../../src/ipvs/types.js';
import { FORWARDING, PROTOCOLS, TUNNEL_CHECKSUMS, TUNNEL_TYPES } from '../../../src/ipvs/validate.js';
import type { AttributeDecoder } from '../../../src/netlink/attributes.js';

const hostLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

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

