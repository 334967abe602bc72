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
 * (which then words the error). Unit tests (batch-fast.test.ts) hold the
 * two paths to that. Bench rows "seq", "conc" and "batch()" (and ipvs -R)
 * go through here: no validated objects, no attribute encoder per message.
 * The rules are rules.ts's and the names names.ts's, shared with the
 * general path; only the layouts are spelled out as offsets.
 */
import { GENL_HDRLEN, writeGenlHeader } from '../genetlink/genl.js';
import { type ByteWriter, writeAttrHeader } from '../netlink/attributes.js';
import { NLA_F_NESTED, NLMSG_HDRLEN, NLM_F_DUMP, NLM_F_REQUEST } from '../netlink/constants.js';
import { os } from '../netlink/endian.js';
import { writeHeader } from '../netlink/message.js';
import { AF_INET, CmdAttr, Cmd, DestAttr, IPVS_GENL_VERSION, SvcAttr, SvcFlag } from './constants.js';
import { NOT_IPV4, ipv4 } from './address.js';
import { FORWARDING, PROTOCOLS, lookup } from './names.js';
import { DEFAULT_FORWARDING, DEFAULT_SCHEDULER, DEFAULT_WEIGHT, isName, isPort, isThreshold, isWeight, persistenceTimeout } from './rules.js';
import type { DestinationKey, DestinationSpec, ServiceKey, ServiceSpec } from './types.js';

const fill = Uint8Array.prototype.fill;

/** The protocol number of an IPv4 address-keyed service, else -1 (fwmark or anything unusual). */
function keyProtocol(key: ServiceKey): number {
  if (key === null || typeof key !== 'object') return -1;
  const k = key as { protocol?: unknown; fwmark?: unknown };
  if (k.fwmark !== undefined) return -1;
  return lookup(PROTOCOLS, k.protocol) ?? -1;
}

/** Room for `n` bytes, zeroed; returns where. */
function room(w: ByteWriter, n: number): number {
  if (w.length + n > w.buf.length) return w.reserve(n);
  const at = w.length;
  w.length += n;
  fill.call(w.buf, 0, at, at + n);
  return at;
}

/** The netlink and genl headers of an IPVS request (seq is filled in when sent). */
function header(w: ByteWriter, at: number, len: number, family: number, cmd: number, flags: number): void {
  writeHeader(w.view, at, len, family, flags, 0);
  writeGenlHeader(w.buf, at + NLMSG_HDRLEN, cmd, IPVS_GENL_VERSION);
}

const attrHead = writeAttrHeader;

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
  if (addr === NOT_IPV4 || !isPort(s.port)) return false;
  // (a netmask of all ones, and an empty pe, are what the defaults send: ipvs -R gives them)
  const mask = spec.netmask;
  if (mask !== undefined && mask !== '255.255.255.255' && mask !== 32) return false;
  if ((spec.pe !== undefined && spec.pe !== '') || (spec.schedulerFlags !== undefined && (!Array.isArray(spec.schedulerFlags) || spec.schedulerFlags.length > 0))) return false;
  const scheduler = spec.scheduler ?? DEFAULT_SCHEDULER;
  if (!isName(scheduler)) return false;
  const timeout = persistenceTimeout(spec.persistent);
  if (timeout < 0) return false;
  if (spec.onePacket !== undefined && typeof spec.onePacket !== 'boolean') return false;
  const svcFlags = (timeout > 0 ? SvcFlag.PERSISTENT : 0) | (spec.onePacket ? SvcFlag.ONEPACKET : 0);
  const schedLen = 4 + scheduler.length + 1;
  const schedRoom = (schedLen + 3) & ~3;
  const nestLen = 4 + KEY_LEN + schedRoom + 12 + 8 + 8;
  const len = NLMSG_HDRLEN + GENL_HDRLEN + nestLen;
  const at = room(w, len);
  const v = w.view;
  const buf = w.buf;
  header(w, at, len, family, Cmd.NEW_SERVICE, flags);
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
  if (addr === NOT_IPV4 || !isPort(k.port)) return false;
  const len = NLMSG_HDRLEN + GENL_HDRLEN + 4 + KEY_LEN;
  const at = room(w, len);
  const v = w.view;
  header(w, at, len, family, cmd, flags);
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
  if (svcAddr === NOT_IPV4 || !isPort(k.port)) return false;
  if (dest === null || typeof dest !== 'object') return false;
  const addr = ipv4(dest.address);
  const port = dest.port ?? k.port;
  if (addr === NOT_IPV4 || !isPort(port)) return false;
  let fwd = 0;
  let weight = 0;
  let upper = 0;
  let lower = 0;
  if (!keyOnly) {
    const d = dest as DestinationSpec;
    if (d.tunnel !== undefined) return false;
    const f = lookup(FORWARDING, d.forwarding ?? DEFAULT_FORWARDING);
    if (f === undefined) return false;
    fwd = f;
    const wt = d.weight ?? DEFAULT_WEIGHT;
    const up = d.upperThreshold ?? 0;
    const lo = d.lowerThreshold ?? 0;
    if (!isWeight(wt) || !isThreshold(up) || !isThreshold(lo) || lo > up) return false;
    weight = wt;
    upper = up;
    lower = lo;
  }
  const destLen = 4 + 20 + 8 + (keyOnly ? 0 : 32) + 8;
  const len = NLMSG_HDRLEN + GENL_HDRLEN + 4 + KEY_LEN + destLen;
  const at = room(w, len);
  const v = w.view;
  header(w, at, len, family, keyOnly ? Cmd.DEL_DEST : Cmd.NEW_DEST, flags);
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
