/**
 * The fast lane of batches: the most common changes (IPv4 services and real
 * servers with plain options) validated and encoded straight into the send
 * buffer, with no intermediate objects.
 *
 * Each function either writes exactly the bytes the general path
 * (validate.ts + codec.ts through requests.ts) would send, with the given
 * netlink flags (by default no NLM_F_ACK: the connection adds it where
 * needed), and returns true; or writes nothing and returns false, for anything it
 * does not handle: other input, and every input the general path refuses
 * (which then words the error). Unit tests hold the two paths to that.
 */
import type { ByteWriter } from '../netlink/attributes.js';
import { NLA_F_NESTED, NLMSG_HDRLEN, NLM_F_DUMP, NLM_F_REQUEST } from '../netlink/constants.js';
import { os } from '../netlink/endian.js';
import { AF_INET, CmdAttr, Cmd, DestAttr, IPVS_GENL_VERSION, SCHEDNAME_MAXLEN, SvcAttr, SvcFlag } from './constants.js';
import { NOT_IPV4, ipv4 } from './address.js';
import type { DestinationKey, DestinationSpec, ServiceKey, ServiceSpec } from './types.js';
import { DEFAULT_PERSISTENT_TIMEOUT, DEFAULT_SCHEDULER, FORWARDING, MAX_PERSISTENT_TIMEOUT, PROTOCOLS } from './validate.js';

const GENL_HDRLEN = 4;
const fill = Uint8Array.prototype.fill;

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** The protocol number of an IPv4 address-keyed service, else -1 (fwmark or anything unusual). */
function keyProtocol(key: ServiceKey): number {
  if (key === null || typeof key !== 'object') return -1;
  const k = key as { protocol?: unknown; fwmark?: unknown };
  if (k.fwmark !== undefined) return -1;
  switch (k.protocol) {
    case 'tcp':
      return PROTOCOLS.tcp;
    case 'udp':
      return PROTOCOLS.udp;
    case 'sctp':
      return PROTOCOLS.sctp;
    default:
      return -1;
  }
}

/** Room for `n` bytes, zeroed; returns where. */
function room(w: ByteWriter, n: number): number {
  if (w.length + n > w.buf.length) return w.reserve(n);
  const at = w.length;
  w.length += n;
  fill.call(w.buf, 0, at, at + n);
  return at;
}

function header(v: DataView, at: number, len: number, family: number, cmd: number, flags: number): void {
  v.setUint32(at, len, os);
  v.setUint16(at + 4, family, os);
  v.setUint16(at + 6, flags, os);
  v.setUint8(at + NLMSG_HDRLEN, cmd);
  v.setUint8(at + NLMSG_HDRLEN + 1, IPVS_GENL_VERSION);
}

function attrHead(v: DataView, at: number, len: number, type: number): void {
  v.setUint16(at, len, os);
  v.setUint16(at + 2, type, os);
}

/** A u16 attribute (8 bytes with padding) at `at`; `host`: host byte order, else network. */
function putU16(v: DataView, at: number, type: number, value: number, host: boolean): void {
  attrHead(v, at, 6, type);
  v.setUint16(at + 4, value, host && os);
}

/** A u32 attribute (8 bytes) at `at`; `host`: host byte order, else network. */
function putU32(v: DataView, at: number, type: number, value: number, host: boolean): void {
  attrHead(v, at, 8, type);
  v.setUint32(at + 4, value, host && os);
}

/** An IPv4 address attribute, in the 16-byte field ipvsadm sends (20 bytes; the rest stays zero). */
function putAddr4(v: DataView, at: number, type: number, addr: number): void {
  attrHead(v, at, 20, type);
  v.setUint32(at + 4, addr, false);
}

/** The service key attributes (AF, PROTOCOL, ADDR, PORT): 44 bytes at `at`. */
function putKey(v: DataView, at: number, protocol: number, addr: number, port: number): void {
  putU16(v, at, SvcAttr.AF, AF_INET, true);
  putU16(v, at + 8, SvcAttr.PROTOCOL, protocol, true);
  putAddr4(v, at + 16, SvcAttr.ADDR, addr);
  putU16(v, at + 36, SvcAttr.PORT, port, false);
}
const KEY_LEN = 44;

/** NEW_SERVICE for an IPv4 service with plain options (no scheduler flags, pe or netmask but all ones). */
export function writeAddService(w: ByteWriter, family: number, spec: ServiceSpec, flags = NLM_F_REQUEST): boolean {
  const protocol = keyProtocol(spec);
  if (protocol < 0) return false;
  const s = spec as ServiceSpec & { address?: unknown; port?: unknown };
  const addr = ipv4(s.address);
  if (addr === NOT_IPV4 || !isInt(s.port, 0, 65535)) return false;
  // (a netmask of all ones, and an empty pe, are what the defaults send: ipvs -R gives them)
  const mask = spec.netmask;
  if (mask !== undefined && mask !== '255.255.255.255' && mask !== 32) return false;
  if ((spec.pe !== undefined && spec.pe !== '') || (spec.schedulerFlags !== undefined && (!Array.isArray(spec.schedulerFlags) || spec.schedulerFlags.length > 0))) return false;
  const scheduler = spec.scheduler ?? DEFAULT_SCHEDULER;
  if (typeof scheduler !== 'string' || scheduler.length === 0 || scheduler.length >= SCHEDNAME_MAXLEN) return false;
  for (let i = 0; i < scheduler.length; i++) {
    const c = scheduler.charCodeAt(i);
    // [A-Za-z0-9_-]
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 45)) return false;
  }
  let timeout = 0;
  const p = spec.persistent;
  if (p === true) timeout = DEFAULT_PERSISTENT_TIMEOUT;
  else if (p !== undefined && p !== false && p !== 0) {
    if (!isInt(p, 1, MAX_PERSISTENT_TIMEOUT)) return false;
    timeout = p;
  }
  if (spec.onePacket !== undefined && typeof spec.onePacket !== 'boolean') return false;
  const svcFlags = (timeout > 0 ? SvcFlag.PERSISTENT : 0) | (spec.onePacket ? SvcFlag.ONEPACKET : 0);
  const schedLen = 4 + scheduler.length + 1;
  const schedRoom = (schedLen + 3) & ~3;
  const nestLen = 4 + KEY_LEN + schedRoom + 12 + 8 + 8;
  const len = NLMSG_HDRLEN + GENL_HDRLEN + nestLen;
  const at = room(w, len);
  const v = w.view;
  const buf = w.buf;
  header(v, at, len, family, Cmd.NEW_SERVICE, flags);
  let o = at + NLMSG_HDRLEN + GENL_HDRLEN;
  attrHead(v, o, nestLen, CmdAttr.SERVICE | NLA_F_NESTED);
  putKey(v, o + 4, protocol, addr, s.port);
  o += 4 + KEY_LEN;
  attrHead(v, o, schedLen, SvcAttr.SCHED_NAME);
  for (let i = 0; i < scheduler.length; i++) buf[o + 4 + i] = scheduler.charCodeAt(i);
  o += schedRoom;
  attrHead(v, o, 12, SvcAttr.FLAGS);
  v.setUint32(o + 4, svcFlags, os);
  v.setUint32(o + 8, 0xffffffff, os);
  putU32(v, o + 12, SvcAttr.TIMEOUT, timeout, true);
  putU32(v, o + 20, SvcAttr.NETMASK, 0xffffffff, false);
  return true;
}

/** A command whose only attribute is an IPv4 service's key (DEL_SERVICE, the GET_DEST dump). */
function writeKeyOnly(w: ByteWriter, family: number, key: ServiceKey, cmd: number, flags: number): boolean {
  const protocol = keyProtocol(key);
  if (protocol < 0) return false;
  const k = key as { address?: unknown; port?: unknown };
  const addr = ipv4(k.address);
  if (addr === NOT_IPV4 || !isInt(k.port, 0, 65535)) return false;
  const len = NLMSG_HDRLEN + GENL_HDRLEN + 4 + KEY_LEN;
  const at = room(w, len);
  const v = w.view;
  header(v, at, len, family, cmd, flags);
  attrHead(v, at + 20, 4 + KEY_LEN, CmdAttr.SERVICE | NLA_F_NESTED);
  putKey(v, at + 24, protocol, addr, k.port);
  return true;
}

/** DEL_SERVICE of an IPv4 service. */
export function writeDeleteService(w: ByteWriter, family: number, key: ServiceKey, flags = NLM_F_REQUEST): boolean {
  return writeKeyOnly(w, family, key, Cmd.DEL_SERVICE, flags);
}

/**
 * NEW_DEST of an IPv4 real server (no tunnel settings) in an IPv4 service;
 * with `keyOnly`, DEL_DEST of one.
 */
function writeDest(w: ByteWriter, family: number, key: ServiceKey, dest: DestinationSpec | DestinationKey, keyOnly: boolean, flags: number): boolean {
  const protocol = keyProtocol(key);
  if (protocol < 0) return false;
  const k = key as { address?: unknown; port?: unknown };
  const svcAddr = ipv4(k.address);
  if (svcAddr === NOT_IPV4 || !isInt(k.port, 0, 65535)) return false;
  if (dest === null || typeof dest !== 'object') return false;
  const addr = ipv4(dest.address);
  const port = dest.port ?? k.port;
  if (addr === NOT_IPV4 || !isInt(port, 0, 65535)) return false;
  let fwd = 0;
  let weight = 0;
  let upper = 0;
  let lower = 0;
  if (!keyOnly) {
    const d = dest as DestinationSpec;
    if (d.tunnel !== undefined) return false;
    switch (d.forwarding ?? 'route') {
      case 'masq':
        fwd = FORWARDING.masq;
        break;
      case 'route':
        fwd = FORWARDING.route;
        break;
      case 'tunnel':
        fwd = FORWARDING.tunnel;
        break;
      case 'local':
        fwd = FORWARDING.local;
        break;
      case 'bypass':
        fwd = FORWARDING.bypass;
        break;
      default:
        return false;
    }
    const wt = d.weight ?? 1;
    const up = d.upperThreshold ?? 0;
    const lo = d.lowerThreshold ?? 0;
    if (!isInt(wt, 0, 0x7fffffff) || !isInt(up, 0, 0xffffffff) || !isInt(lo, 0, 0xffffffff) || lo > up) return false;
    weight = wt;
    upper = up;
    lower = lo;
  }
  const destLen = 4 + 20 + 8 + (keyOnly ? 0 : 32) + 8;
  const len = NLMSG_HDRLEN + GENL_HDRLEN + 4 + KEY_LEN + destLen;
  const at = room(w, len);
  const v = w.view;
  header(v, at, len, family, keyOnly ? Cmd.DEL_DEST : Cmd.NEW_DEST, flags);
  attrHead(v, at + 20, 4 + KEY_LEN, CmdAttr.SERVICE | NLA_F_NESTED);
  putKey(v, at + 24, protocol, svcAddr, k.port);
  let o = at + 24 + KEY_LEN;
  attrHead(v, o, destLen, CmdAttr.DEST | NLA_F_NESTED);
  putAddr4(v, o + 4, DestAttr.ADDR, addr);
  putU16(v, o + 24, DestAttr.PORT, port, false);
  o += 32;
  if (!keyOnly) {
    putU32(v, o, DestAttr.FWD_METHOD, fwd, true);
    putU32(v, o + 8, DestAttr.WEIGHT, weight, true);
    putU32(v, o + 16, DestAttr.U_THRESH, upper, true);
    putU32(v, o + 24, DestAttr.L_THRESH, lower, true);
    o += 32;
  }
  putU16(v, o, DestAttr.ADDR_FAMILY, AF_INET, true);
  return true;
}

export function writeAddDestination(w: ByteWriter, family: number, key: ServiceKey, dest: DestinationSpec, flags = NLM_F_REQUEST): boolean {
  return writeDest(w, family, key, dest, false, flags);
}

export function writeDeleteDestination(w: ByteWriter, family: number, key: ServiceKey, dest: DestinationKey, flags = NLM_F_REQUEST): boolean {
  return writeDest(w, family, key, dest, true, flags);
}

/** The GET_DEST dump of an IPv4 service's real servers (listings ask for one per service). */
export function writeDumpDestinations(w: ByteWriter, family: number, key: ServiceKey): boolean {
  return writeKeyOnly(w, family, key, Cmd.GET_DEST, NLM_F_REQUEST | NLM_F_DUMP);
}
