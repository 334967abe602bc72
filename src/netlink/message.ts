/**
 * Netlink message framing: struct nlmsghdr (u32 len, u16 type, u16 flags,
 * u32 seq, u32 port id) followed by the payload, aligned to 4 bytes.
 */
import { DecodeError } from '../errors.js';
import { AttributeDecoder, ByteWriter } from './attributes.js';
import {
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  align,
} from './constants.js';
import { os } from './endian.js';

export interface NetlinkHeader {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

export interface NetlinkMessage extends NetlinkHeader {
  /** Everything after the 16-byte header, up to nlmsg_len. */
  payload: Uint8Array;
}

/** Writes struct nlmsghdr at `at` (host byte order; seq and port id as u32). */
export function writeHeader(v: DataView, at: number, len: number, type: number, flags: number, seq: number, pid = 0): void {
  v.setUint32(at, len, os);
  v.setUint16(at + 4, type, os);
  v.setUint16(at + 6, flags, os);
  v.setUint32(at + 8, seq >>> 0, os);
  v.setUint32(at + 12, pid >>> 0, os);
}

/**
 * The length of the message at `off` in a buffer of `end` bytes, checked:
 * a DecodeError when it is shorter than a header or runs past the end.
 * The receive path and parseMessages frame with it.
 */
export function frameLength(view: DataView, off: number, end: number): number {
  const len = view.getUint32(off, os);
  if (len < NLMSG_HDRLEN || off + len > end) throw new DecodeError(`netlink message at offset ${off} has length ${len}, past the ${end}-byte buffer`);
  return len;
}

/**
 * Whether the NLMSG_ERROR or NLMSG_DONE at `at` is a plain success (an ack,
 * or a dump's end, without extended-ack TLVs): the common case, read
 * without decoding it.
 */
export function isPlainSuccess(view: DataView, at: number, len: number, type: number, flags: number): boolean {
  if ((type !== NLMSG_ERROR && type !== NLMSG_DONE) || flags & NLM_F_ACK_TLVS) return false;
  return len < NLMSG_HDRLEN + 4 ? type === NLMSG_DONE : view.getInt32(at + NLMSG_HDRLEN, os) === 0;
}

/** Decodes the NLMSG_ERROR or NLMSG_DONE of `len` bytes at `at` in `data`. */
export function statusAt(data: Uint8Array, view: DataView, at: number, len: number, type: number, flags: number): NetlinkStatus {
  const m: NetlinkMessage = { type, flags, seq: view.getUint32(at + 8, os), pid: view.getUint32(at + 12, os), payload: data.subarray(at + NLMSG_HDRLEN, at + len) };
  return type === NLMSG_ERROR ? parseError(m) : parseDone(m);
}

/** A message's header in words, for debug output when no layer above describes it. */
export function describeHeader(bytes: Uint8Array): string {
  if (bytes.length < NLMSG_HDRLEN) return `${bytes.length} bytes (no netlink header)`;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return `type ${v.getUint16(4, os)} flags 0x${v.getUint16(6, os).toString(16)} seq ${v.getUint32(8, os)} len ${v.getUint32(0, os)}`;
}

/**
 * Writes a header, lets `body` write the payload, and patches the length.
 * Returns the offset of the message in the writer.
 */
export function writeMessage(w: ByteWriter, h: NetlinkHeader, body: (w: ByteWriter) => void): number {
  const at = w.reserve(NLMSG_HDRLEN);
  writeHeader(w.view, at, NLMSG_HDRLEN, h.type, h.flags, h.seq, h.pid);
  body(w);
  w.view.setUint32(at, w.length - at, os);
  // Keep the next message aligned.
  w.reserve(align(w.length) - w.length);
  return at;
}

/** Reads and rewrites the sequence number of an encoded message in place. */
export function setSeq(msg: Uint8Array, seq: number): void {
  new DataView(msg.buffer, msg.byteOffset, msg.byteLength).setUint32(8, seq >>> 0, os);
}

/** Splits a buffer of one or more messages; every length is checked. */
export function parseMessages(data: Uint8Array): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  while (off + NLMSG_HDRLEN <= data.length) {
    const len = frameLength(view, off, data.length);
    out.push({
      type: view.getUint16(off + 4, os),
      flags: view.getUint16(off + 6, os),
      seq: view.getUint32(off + 8, os),
      pid: view.getUint32(off + 12, os),
      payload: data.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align(len);
  }
  return out;
}

/** A decoded NLMSG_ERROR (an ack when error is 0) or NLMSG_DONE. */
export interface NetlinkStatus {
  /** 0 for success, else a positive errno. */
  errno: number;
  /** The extended-ack text (NLMSGERR_ATTR_MSG). */
  message?: string;
  /** The extended-ack offset into our request (NLMSGERR_ATTR_OFFS). */
  offset?: number;
}

/**
 * Decodes struct nlmsgerr: s32 error, the request's header (and its payload
 * unless NLM_F_CAPPED), then extended-ack TLVs when NLM_F_ACK_TLVS is set.
 */
export function parseError(m: NetlinkMessage): NetlinkStatus {
  const p = m.payload;
  if (p.length < 4 + NLMSG_HDRLEN) throw new DecodeError(`NLMSG_ERROR payload too short: ${p.length} bytes`);
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const error = view.getInt32(0, os);
  let tlvAt = 4 + NLMSG_HDRLEN;
  if (!(m.flags & NLM_F_CAPPED)) {
    // TLVs follow the echoed request; an echo whose length does not fit leaves none to read.
    const echoed = view.getUint32(4, os);
    tlvAt = echoed < NLMSG_HDRLEN || echoed > p.length - 4 ? p.length : 4 + align(echoed);
  }
  // The kernel sends a negative errno; an ack's 0 must stay 0, not -0.
  return withTlvs({ errno: error < 0 ? -error : error }, m.flags, p, tlvAt);
}

/** Decodes NLMSG_DONE: an s32 (negative errno when the dump failed) and TLVs. */
export function parseDone(m: NetlinkMessage): NetlinkStatus {
  const p = m.payload;
  if (p.length < 4) return { errno: 0 };
  const error = new DataView(p.buffer, p.byteOffset, p.byteLength).getInt32(0, os);
  return withTlvs({ errno: error < 0 ? -error : 0 }, m.flags, p, 4);
}

function withTlvs(s: NetlinkStatus, flags: number, p: Uint8Array, at: number): NetlinkStatus {
  if (!(flags & NLM_F_ACK_TLVS) || at >= p.length) return s;
  const tlv = new AttributeDecoder(p.subarray(at), 'extended ack');
  const message = tlv.string(NLMSGERR_ATTR_MSG);
  if (message !== undefined) s.message = message;
  const offset = tlv.has(NLMSGERR_ATTR_OFFS) ? tlv.u32(NLMSGERR_ATTR_OFFS) : undefined;
  if (offset !== undefined) s.offset = offset;
  return s;
}
