/**
 * Service and destination replies decoded straight from the receive buffer,
 * the library's only decoder for them. Tests hold it to a second, naive
 * decoder behind AttributeDecoder (test/unit/support/reference-decoders.ts):
 * the same results and the same decode errors, without the objects that one
 * builds on the way (message, payload views, one AttributeDecoder and its
 * index per level). Bench row "library, listServices({ withDestinations:
 * true })" at N = 10,000 is dominated by garbage collection, so all that is
 * allocated here is the result: the entry, its Stats, the scheduler-flag
 * array and the strings.
 *
 * Attributes are walked by offset. The last attribute of each type wins and
 * an attribute's size is checked only when its value is read, exactly as
 * AttributeDecoder does, so that the same inputs succeed and fail.
 */
import { DecodeError } from '../errors.js';
import { GENL_HDRLEN } from '../genetlink/genl.js';
import { attrLength, readU64, stringEnd } from '../netlink/attributes.js';
import { NLA_HDRLEN, NLA_TYPE_MASK, align } from '../netlink/constants.js';
import { os } from '../netlink/endian.js';
import { formatAddress } from './address.js';
import { CmdAttr, DestAttr, StatsAttr, SvcAttr, SvcFlag } from './constants.js';
import { FORWARDING_NAMES, PROTOCOL_NAMES, TUNNEL_NAMES, checksumName, familyName, schedulerFlagNames } from './names.js';
import type { AddressFamily, Destination, Service, Stats } from './types.js';

/**
 * SYNCHRONOUS SCRATCH (module-level on purpose; nothing survives a call that
 * matters): header offset of the last attribute of each type in the level
 * being read, -1 when absent (types past the end are ignored). Decoding is
 * synchronous and never re-entered; the stats nest gets its own array
 * because it is read while its parent's is in use.
 */
const level = new Int32Array(16);
const statsLevel = new Int32Array(StatsAttr.OUTBPS + 1);

/** Indexes the attributes in [start, end) into `slots`; bounds are checked as AttributeDecoder does. */
function walk(view: DataView, start: number, end: number, where: string, slots: Int32Array): void {
  slots.fill(-1);
  for (let off = start; off + NLA_HDRLEN <= end; ) {
    const len = attrLength(view, off, start, end, where);
    const type = view.getUint16(off + 2, os) & NLA_TYPE_MASK;
    if (type < slots.length) slots[type] = off;
    off += align(len);
  }
}

/** Payload length of the attribute whose header is at `at`. */
const lengthAt = (view: DataView, at: number): number => view.getUint16(at, os) - NLA_HDRLEN;

/** Indexes the top level, then the nest of type `nest` in it; false when there is no such nest. */
function walkNest(view: DataView, start: number, end: number, where: string, nest: number): boolean {
  if (end - start < GENL_HDRLEN) throw new DecodeError(`${where}: generic netlink payload of ${end - start} bytes`);
  walk(view, start + GENL_HDRLEN, end, where, level);
  const at = level[nest]!;
  if (at < 0) return false;
  walk(view, at + NLA_HDRLEN, at + NLA_HDRLEN + lengthAt(view, at), where, level);
  return true;
}

/** A `size`-byte unsigned integer (`le`: byte order), -1 when absent; a decode error when of another size. */
function uint(view: DataView, slots: Int32Array, type: number, size: 1 | 2 | 4, le: boolean, where: string): number {
  const at = slots[type]!;
  if (at < 0) return -1;
  const len = lengthAt(view, at);
  if (len !== size) throw new DecodeError(`${where}: attribute ${type} is not a u${size * 8}; length ${len}`);
  return size === 4 ? view.getUint32(at + NLA_HDRLEN, le) : size === 2 ? view.getUint16(at + NLA_HDRLEN, le) : view.getUint8(at + NLA_HDRLEN);
}

const orZero = (v: number): number => (v < 0 ? 0 : v);

/** A required attribute's value, from uint(). */
function need(v: number, type: number, where: string): number {
  if (v < 0) throw new DecodeError(`${where}: attribute ${type} is missing`);
  return v;
}

/** A u64 counter, 0n when absent; zero and small values take AttributeDecoder.u64's cheap paths. */
function u64(view: DataView, type: number, where: string): bigint {
  const at = statsLevel[type]!;
  if (at < 0) return 0n;
  const len = lengthAt(view, at);
  if (len !== 8) throw new DecodeError(`${where}: attribute ${type} is not a u64; length ${len}`);
  return readU64(view, at + NLA_HDRLEN);
}

/** One counter of the nest walked into statsLevel: u64 in stats64; u32 in the old nest, but for the byte counters. */
function counter(view: DataView, type: number, wide: boolean, where: string): bigint {
  if (wide || type === StatsAttr.INBYTES || type === StatsAttr.OUTBYTES) return u64(view, type, where);
  const v = uint(view, statsLevel, type, 4, os, where);
  return v <= 0 ? 0n : BigInt(v);
}

/** The 64-bit stats nest, else the 32-bit one (kernels before 4.1), else zeros. `where*` are constants (no string building). */
function stats(view: DataView, stats64: number, stats32: number, where64: string, where32: string): Stats {
  const s64 = level[stats64]!;
  const s32 = level[stats32]!;
  const at = s64 >= 0 ? s64 : s32;
  const where = s64 >= 0 ? where64 : where32;
  if (at >= 0) walk(view, at + NLA_HDRLEN, at + NLA_HDRLEN + lengthAt(view, at), where, statsLevel);
  else statsLevel.fill(-1);
  const wide = s64 >= 0;
  return {
    connections: counter(view, StatsAttr.CONNS, wide, where),
    packetsIn: counter(view, StatsAttr.INPKTS, wide, where),
    packetsOut: counter(view, StatsAttr.OUTPKTS, wide, where),
    bytesIn: counter(view, StatsAttr.INBYTES, wide, where),
    bytesOut: counter(view, StatsAttr.OUTBYTES, wide, where),
    cps: counter(view, StatsAttr.CPS, wide, where),
    packetsInPerSecond: counter(view, StatsAttr.INPPS, wide, where),
    packetsOutPerSecond: counter(view, StatsAttr.OUTPPS, wide, where),
    bytesInPerSecond: counter(view, StatsAttr.INBPS, wide, where),
    bytesOutPerSecond: counter(view, StatsAttr.OUTBPS, wide, where),
  };
}

/**
 * SYNCHRONOUS SCRATCH: short strings and dotted quads are written here and
 * read back as one latin1 string (bench row "listServices": building them
 * by concatenation leaves an intermediate string behind per piece).
 */
const scratch = Buffer.alloc(32);
/**
 * SYNCHRONOUS SCRATCH: the last string read per attribute type (a listing
 * repeats its scheduler names, and equal bytes need no new string); only
 * which equal string is returned depends on it.
 */
const recent: string[] = new Array<string>(16).fill('');

/** As AttributeDecoder.string: up to the first NUL, UTF-8 (ASCII being the common case). */
function string(data: Uint8Array, view: DataView, type: number): string | undefined {
  const at = level[type]!;
  if (at < 0) return undefined;
  const start = at + NLA_HDRLEN;
  const e = stringEnd(data, start, start + lengthAt(view, at));
  const ascii = e >= 0;
  const end = ascii ? e : -1 - e;
  const n = end - start;
  if (!ascii || n > scratch.length) return textDecoder.decode(data.subarray(start, end));
  const last = recent[type]!;
  let same = last.length === n;
  for (let i = 0; same && i < n; i++) same = last.charCodeAt(i) === data[start + i];
  if (same) return last;
  for (let i = 0; i < n; i++) scratch[i] = data[start + i]!;
  return (recent[type] = scratch.toString('latin1', 0, n));
}
const textDecoder = new TextDecoder('utf-8', { fatal: false });

/** Writes the decimal digits of a byte to scratch at `at`; returns the offset after them. */
function digits(v: number, at: number): number {
  if (v >= 100) scratch[at++] = 48 + ((v / 100) | 0);
  if (v >= 10) scratch[at++] = 48 + (((v / 10) | 0) % 10);
  scratch[at] = 48 + (v % 10);
  return at + 1;
}

/** a.b.c.d, as formatAddress and numberToMask write it. */
function dotted(a: number, b: number, c: number, d: number): string {
  let n = digits(a, 0);
  scratch[n++] = 46;
  n = digits(b, n);
  scratch[n++] = 46;
  n = digits(c, n);
  scratch[n++] = 46;
  n = digits(d, n);
  return scratch.toString('latin1', 0, n);
}

function family(af: number, where: string): AddressFamily {
  const f = familyName(af);
  if (f === undefined) throw new DecodeError(`${where}: unknown address family ${af}`);
  return f;
}

/** The address in attribute `type` (at least 4 or 16 bytes); IPv4 is formatted without a view. */
function address(data: Uint8Array, view: DataView, type: number, fam: AddressFamily, where: string): string {
  const at = level[type]!;
  if (at < 0) throw new DecodeError(`${where}: attribute ${type} is missing`);
  const len = lengthAt(view, at);
  const p = at + NLA_HDRLEN;
  if (len < (fam === 'inet' ? 4 : 16)) throw new DecodeError(`${where}: attribute ${type} is not an ${fam} address; length ${len}`);
  if (fam === 'inet') return dotted(data[p]!, data[p + 1]!, data[p + 2]!, data[p + 3]!);
  return formatAddress('inet6', data.subarray(p, p + 16));
}

/**
 * Decodes one service reply straight from the receive buffer. `start`/`end`
 * bound the generic netlink payload of ONE netlink message: `start` points
 * at the 4-byte genl header (just after the 16-byte nlmsghdr) and `end` is
 * the message end. `view` is a DataView over the same bytes as `data` (same
 * byteOffset).
 */
export function scanService(data: Uint8Array, view: DataView, start: number, end: number): Service {
  const W = 'service';
  if (!walkNest(view, start, end, W, CmdAttr.SERVICE)) throw new DecodeError('service reply without IPVS_CMD_ATTR_SERVICE');
  // Read in a fixed order (the reference decoder's), so that a reply with several faults always names the same one.
  const fam = family(need(uint(view, level, SvcAttr.AF, 2, os, W), SvcAttr.AF, W), W);
  const scheduler = string(data, view, SvcAttr.SCHED_NAME) ?? '';
  const flagsAt = level[SvcAttr.FLAGS]!;
  let flags = 0;
  if (flagsAt >= 0) {
    const len = lengthAt(view, flagsAt);
    if (len < 4) throw new DecodeError(`service: attribute ${SvcAttr.FLAGS} is not struct ip_vs_flags; length ${len}`);
    flags = view.getUint32(flagsAt + NLA_HDRLEN, os);
  }
  const timeout = orZero(uint(view, level, SvcAttr.TIMEOUT, 4, os, W));
  let netmask: string | number;
  if (fam === 'inet6') {
    const n = uint(view, level, SvcAttr.NETMASK, 4, os, W);
    netmask = n < 0 ? 128 : n;
  } else {
    const n = uint(view, level, SvcAttr.NETMASK, 4, false, W);
    netmask = n < 0 || n === 0xffffffff ? '255.255.255.255' : dotted(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  const st = stats(view, SvcAttr.STATS64, SvcAttr.STATS, 'service stats64', 'service stats');
  const onePacket = (flags & SvcFlag.ONEPACKET) !== 0;
  const fwmark = uint(view, level, SvcAttr.FWMARK, 4, os, W);
  let svc: Service;
  // (one literal per key kind: key fields first, in one allocation)
  if (fwmark > 0) {
    svc = { family: fam, fwmark, scheduler, schedulerFlags: schedulerFlagNames(scheduler, flags), netmask, onePacket, flags, timeout, stats: st };
  } else {
    const proto = need(uint(view, level, SvcAttr.PROTOCOL, 2, os, W), SvcAttr.PROTOCOL, W);
    const protocol = PROTOCOL_NAMES.get(proto);
    if (!protocol) throw new DecodeError(`service: unknown protocol ${proto}`);
    const addr = address(data, view, SvcAttr.ADDR, fam, W);
    const port = need(uint(view, level, SvcAttr.PORT, 2, false, W), SvcAttr.PORT, W);
    svc = {
      family: fam, protocol, address: addr, port,
      scheduler, schedulerFlags: schedulerFlagNames(scheduler, flags), netmask, onePacket, flags, timeout, stats: st,
    };
  }
  if (flags & SvcFlag.PERSISTENT) svc.persistent = timeout;
  const pe = string(data, view, SvcAttr.PE_NAME);
  if (pe) svc.pe = pe;
  return svc;
}

/** Like scanService, for a destination reply; `serviceFamily` stands in when the reply has no address family (kernels before 3.18). */
export function scanDestination(data: Uint8Array, view: DataView, start: number, end: number, serviceFamily: AddressFamily): Destination {
  const W = 'destination';
  if (!walkNest(view, start, end, W, CmdAttr.DEST)) throw new DecodeError('destination reply without IPVS_CMD_ATTR_DEST');
  const af = uint(view, level, DestAttr.ADDR_FAMILY, 2, os, W);
  const fam = af <= 0 ? serviceFamily : family(af, W);
  const fwd = orZero(uint(view, level, DestAttr.FWD_METHOD, 4, os, W)) & 0x7;
  const forwarding = FORWARDING_NAMES.get(fwd);
  if (!forwarding) throw new DecodeError(`destination: unknown forwarding method ${fwd}`);
  const addr = address(data, view, DestAttr.ADDR, fam, W);
  const port = need(uint(view, level, DestAttr.PORT, 2, false, W), DestAttr.PORT, W);
  const d: Destination = {
    family: fam,
    address: addr,
    port,
    forwarding,
    weight: orZero(uint(view, level, DestAttr.WEIGHT, 4, os, W)),
    upperThreshold: orZero(uint(view, level, DestAttr.U_THRESH, 4, os, W)),
    lowerThreshold: orZero(uint(view, level, DestAttr.L_THRESH, 4, os, W)),
    activeConnections: orZero(uint(view, level, DestAttr.ACTIVE_CONNS, 4, os, W)),
    inactiveConnections: orZero(uint(view, level, DestAttr.INACT_CONNS, 4, os, W)),
    persistentConnections: orZero(uint(view, level, DestAttr.PERSIST_CONNS, 4, os, W)),
    stats: stats(view, DestAttr.STATS64, DestAttr.STATS, 'destination stats64', 'destination stats'),
  };
  // (TUN_TYPE's size is checked whatever the forwarding, as the reference decoder does)
  const tunType = uint(view, level, DestAttr.TUN_TYPE, 1, os, W);
  if (forwarding === 'tunnel' && tunType >= 0) {
    const type = TUNNEL_NAMES.get(tunType);
    if (!type) throw new DecodeError(`destination: unknown tunnel type ${tunType}`);
    const flags = orZero(uint(view, level, DestAttr.TUN_FLAGS, 2, os, W));
    d.tunnel = { type, port: orZero(uint(view, level, DestAttr.TUN_PORT, 2, false, W)), checksum: checksumName(flags) };
  }
  return d;
}

