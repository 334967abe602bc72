/**
 * Netlink attributes (struct nlattr: u16 length, u16 type, payload, padding
 * to 4 bytes). The encoder computes every length and pad itself; the decoder
 * bounds-checks every slice and its typed getters check exact sizes.
 *
 * Byte order: netlink integers are host order (little-endian on every
 * platform this runs on is not assumed: we use the machine's order), and the
 * `*be` variants are network order, which IPVS uses for ports and IPv4
 * netmasks.
 */
import { DecodeError } from '../errors.js';
import { NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, align } from './constants.js';
import { os } from './endian.js';

const utf8 = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** A growable byte buffer that netlink messages are written into. */
export class ByteWriter {
  buf: Buffer;
  view: DataView;
  length = 0;

  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Reserves `n` bytes (zeroed) and returns their offset. */
  reserve(n: number): number {
    const need = this.length + n;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
      this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    }
    const at = this.length;
    const buf = this.buf;
    // (a loop beats Buffer#fill for the few bytes of an attribute)
    if (n <= 64) for (let i = at; i < need; i++) buf[i] = 0;
    else buf.fill(0, at, need);
    this.length = need;
    return at;
  }

  /** An attribute encoder over this writer (one per writer, not one per message). */
  encoder(): AttributeEncoder {
    return (this.attrs ??= new AttributeEncoder(this));
  }
  private attrs: AttributeEncoder | undefined;

  /** The bytes written so far (a copy, safe to keep). */
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

/** Writes struct nlattr at `at`: `len` counts the header and payload, not the padding. */
export function writeAttrHeader(v: DataView, at: number, len: number, type: number): void {
  v.setUint16(at, len, os);
  v.setUint16(at + 2, type, os);
}

/**
 * The length of the attribute at `off` in the level [start, end), checked
 * (a DecodeError naming `where` when it runs past the end). Every attribute
 * walk (AttributeDecoder, ipvs/scan.ts) reads lengths through this.
 */
export function attrLength(view: DataView, off: number, start: number, end: number, where: string): number {
  const len = view.getUint16(off, os);
  if (len < NLA_HDRLEN || off + len > end) {
    const type = view.getUint16(off + 2, os) & NLA_TYPE_MASK;
    throw new DecodeError(`${where}: attribute ${type} at offset ${off - start} has length ${len}, past the ${end - start}-byte buffer`);
  }
  return len;
}

/** A u64 payload at `at` (host order); zero and u32-sized values cost no BigInt conversion of 64 bits. */
export function readU64(view: DataView, at: number): bigint {
  const lo = view.getUint32(at + (os ? 0 : 4), os);
  const hi = view.getUint32(at + (os ? 4 : 0), os);
  if (hi === 0) return lo === 0 ? 0n : BigInt(lo);
  return view.getBigUint64(at, os);
}

/**
 * Where a string payload in [at, end) ends: at its first NUL, or at `end`.
 * Negative (minus one minus the end) when a byte is not ASCII.
 */
export function stringEnd(data: Uint8Array, at: number, end: number): number {
  let ascii = true;
  for (let i = at; i < end; i++) {
    const c = data[i]!;
    if (c === 0) return ascii ? i : -1 - i;
    if (c > 0x7f) ascii = false;
  }
  return ascii ? end : -1 - end;
}

/**
 * Writes attributes into a ByteWriter, in the spirit of mdlayher/netlink's
 * AttributeEncoder. Types above 0x3fff are refused: the top bits are flags.
 */
export class AttributeEncoder {
  constructor(readonly w: ByteWriter = new ByteWriter()) {}

  private header(type: number, payload: number, flags = 0): number {
    if (!Number.isInteger(type) || type < 0 || type > NLA_TYPE_MASK) throw new RangeError(`bad attribute type ${type}`);
    if (payload > 0xffff - NLA_HDRLEN) throw new RangeError(`attribute ${type} payload of ${payload} bytes does not fit`);
    const at = this.w.reserve(align(NLA_HDRLEN + payload));
    writeAttrHeader(this.w.view, at, NLA_HDRLEN + payload, type | flags);
    return at + NLA_HDRLEN;
  }

  u8(type: number, v: number): this {
    const at = this.header(type, 1);
    this.w.view.setUint8(at, v);
    return this;
  }
  u16(type: number, v: number): this {
    const at = this.header(type, 2);
    this.w.view.setUint16(at, v, os);
    return this;
  }
  u32(type: number, v: number): this {
    const at = this.header(type, 4);
    this.w.view.setUint32(at, v >>> 0, os);
    return this;
  }
  u64(type: number, v: bigint): this {
    const at = this.header(type, 8);
    this.w.view.setBigUint64(at, v, os);
    return this;
  }
  /** u16 in network byte order (ports). */
  u16be(type: number, v: number): this {
    const at = this.header(type, 2);
    this.w.view.setUint16(at, v, false);
    return this;
  }
  /** u32 in network byte order (IPv4 netmasks). */
  u32be(type: number, v: number): this {
    const at = this.header(type, 4);
    this.w.view.setUint32(at, v >>> 0, false);
    return this;
  }
  /** A NUL-terminated string. */
  string(type: number, s: string): this {
    if (s.length <= 64 && isAscii(s)) {
      // Short ASCII (scheduler and interface names): no intermediate array.
      const at = this.header(type, s.length + 1);
      const buf = this.w.buf;
      for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i);
      return this;
    }
    const b = utf8.encode(s);
    const at = this.header(type, b.length + 1);
    this.w.buf.set(b, at);
    return this;
  }
  bytes(type: number, b: Uint8Array): this {
    const at = this.header(type, b.length);
    const buf = this.w.buf;
    if (b.length <= 32) for (let i = 0; i < b.length; i++) buf[at + i] = b[i]!;
    else buf.set(b, at);
    return this;
  }
  /** A nested attribute: `fn` writes its children; the length is patched after. */
  nested(type: number, fn: (e: AttributeEncoder) => void): this {
    const start = this.w.length;
    this.header(type, 0, NLA_F_NESTED);
    fn(this);
    this.w.view.setUint16(start, this.w.length - start, os);
    return this;
  }
}

/**
 * The attributes of one level, by type (the last of a repeated type wins;
 * `all()` keeps every one in order). Unknown types are kept, never an error.
 *
 * Indexing keeps only offsets (no object per attribute) and reads through
 * one DataView. It is the naive twin that ipvs/scan.ts (bench row "library,
 * listServices") is held equal to; the small replies decode through it.
 */
export class AttributeDecoder {
  private readonly data: Uint8Array;
  private readonly view: DataView;
  /** Where this level's attributes lie in `data`. */
  private readonly start: number;
  private readonly end: number;
  /** Payload offset (in `data`) * 65536 + length, by type, for types below 256. */
  private readonly index: number[] = [];
  /** The same for larger types (rare). */
  private big: Map<number, [number, number]> | undefined;

  constructor(
    data: Uint8Array,
    /** Names the level in error messages, e.g. "service". */
    readonly where = 'attributes',
    /** (nested levels share their parent's bytes and view) */
    view?: DataView,
    start = 0,
    end = data.length,
  ) {
    this.data = data;
    this.view = view ?? new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.start = start;
    this.end = end;
    const v = this.view;
    let off = start;
    while (off + NLA_HDRLEN <= end) {
      const len = attrLength(v, off, start, end, where);
      const type = v.getUint16(off + 2, os) & NLA_TYPE_MASK;
      if (type < 256) this.index[type] = (off + NLA_HDRLEN) * 65536 + (len - NLA_HDRLEN);
      else (this.big ??= new Map()).set(type, [off + NLA_HDRLEN, len - NLA_HDRLEN]);
      off += align(len);
    }
  }

  /** Payload offset of `type`, or -1; its length goes to `this.found`. */
  private find(type: number): number {
    if (type < 256) {
      const e = this.index[type];
      if (e === undefined) return -1;
      this.found = e % 65536;
      return (e - this.found) / 65536;
    }
    const e = this.big?.get(type);
    if (!e) return -1;
    this.found = e[1];
    return e[0];
  }
  private found = 0;

  has(type: number): boolean {
    return this.find(type) >= 0;
  }
  all(): ReadonlyArray<readonly [number, Uint8Array]> {
    const list: Array<[number, Uint8Array]> = [];
    const { data, view } = this;
    for (let off = this.start; off + NLA_HDRLEN <= this.end; ) {
      const len = view.getUint16(off, os);
      list.push([view.getUint16(off + 2, os) & NLA_TYPE_MASK, data.subarray(off + NLA_HDRLEN, off + len)]);
      off += align(len);
    }
    return list;
  }
  raw(type: number): Uint8Array | undefined {
    const at = this.find(type);
    return at < 0 ? undefined : this.data.subarray(at, at + this.found);
  }

  /** Offset of a `size`-byte payload of `type`, -1 when absent; a decode error when of another size. */
  private sized(type: number, size: number, what: string): number {
    const at = this.find(type);
    if (at >= 0 && this.found !== size) throw new DecodeError(`${this.where}: attribute ${type} is not a ${what}; length ${this.found}`);
    return at;
  }

  u8(type: number): number | undefined {
    const at = this.sized(type, 1, 'u8');
    return at < 0 ? undefined : this.view.getUint8(at);
  }
  u16(type: number): number | undefined {
    const at = this.sized(type, 2, 'u16');
    return at < 0 ? undefined : this.view.getUint16(at, os);
  }
  u32(type: number): number | undefined {
    const at = this.sized(type, 4, 'u32');
    return at < 0 ? undefined : this.view.getUint32(at, os);
  }
  u64(type: number): bigint | undefined {
    const at = this.sized(type, 8, 'u64');
    if (at < 0) return undefined;
    return readU64(this.view, at);
  }
  u16be(type: number): number | undefined {
    const at = this.sized(type, 2, 'u16');
    return at < 0 ? undefined : this.view.getUint16(at, false);
  }
  u32be(type: number): number | undefined {
    const at = this.sized(type, 4, 'u32');
    return at < 0 ? undefined : this.view.getUint32(at, false);
  }
  /** A string, NUL-terminated or not. */
  string(type: number): string | undefined {
    const at = this.find(type);
    if (at < 0) return undefined;
    const data = this.data;
    const e = stringEnd(data, at, at + this.found);
    const ascii = e >= 0;
    const end = ascii ? e : -1 - e;
    if (ascii && end - at <= 32) {
      // (short ASCII names: no decoder call, no intermediate view)
      let s = '';
      for (let i = at; i < end; i++) s += String.fromCharCode(data[i]!);
      return s;
    }
    return textDecoder.decode(data.subarray(at, end));
  }
  nested(type: number, where?: string): AttributeDecoder | undefined {
    const at = this.find(type);
    return at < 0 ? undefined : new AttributeDecoder(this.data, where ?? `${this.where}.${type}`, this.view, at, at + this.found);
  }
  /** Like the getters above, but a missing attribute is a decode error. */
  need<T>(value: T | undefined, type: number): T {
    if (value === undefined) throw new DecodeError(`${this.where}: attribute ${type} is missing`);
    return value;
  }
}
