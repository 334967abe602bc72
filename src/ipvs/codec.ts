/**
 * IPVS attributes <-> library types. Encoding mirrors what ipvsadm sends
 * (16-byte addresses, network-order ports, the flags/mask pair). Decoding
 * here is for the small single replies (daemons, timeouts, info); service
 * and destination replies are decoded straight from the receive buffer by
 * scan.ts. Both accept what any kernel since 2.6.x sends and ignore
 * attributes they do not know.
 */
import { DecodeError } from '../errors.js';
import type { AttributeDecoder, AttributeEncoder } from '../netlink/attributes.js';
import { os } from '../netlink/endian.js';
import { formatAddress } from './address.js';
import { AF_INET6, CmdAttr, DaemonAttr, DaemonState, DestAttr, InfoAttr, SvcAttr } from './constants.js';
import type { DaemonWire, DestinationWire, ServiceKeyWire, ServiceWire } from './validate.js';
import type { Daemon, Info, Timeouts } from './types.js';

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
    flagsView.setUint32(0, s.flags >>> 0, os);
    flagsView.setUint32(4, 0xffffffff, os);
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

/** SYNCHRONOUS SCRATCH: struct ip_vs_flags is built here and copied into the message at once. */
const flagsScratch = new Uint8Array(8);
const flagsView = new DataView(flagsScratch.buffer);

// ---- decoding -------------------------------------------------------------

/** (names.ts holds it; kept here for the decoders' callers) */
export { schedulerFlagNames } from './names.js';

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
