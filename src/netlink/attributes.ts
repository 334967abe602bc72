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
    this.buf.fill(0, at, need);
    this.length = need;
    return at;
  }

  /** The bytes written so far (a copy, safe to keep). */
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
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
    this.w.view.setUint16(at, NLA_HDRLEN + payload, os);
    this.w.view.setUint16(at + 2, type | flags, os);
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
    const b = utf8.encode(s);
    const at = this.header(type, b.length + 1);
    this.w.buf.set(b, at);
    return this;
  }
  bytes(type: number, b: Uint8Array): this {
    const at = this.header(type, b.length);
    this.w.buf.set(b, at);
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
 */
export class AttributeDecoder {
  private readonly map = new Map<number, Uint8Array>();
  private readonly list: Array<[number, Uint8Array]> = [];

  constructor(
    data: Uint8Array,
    /** Names the level in error messages, e.g. "service". */
    readonly where = 'attributes',
  ) {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let off = 0;
    while (off + NLA_HDRLEN <= data.length) {
      const len = view.getUint16(off, os);
      const type = view.getUint16(off + 2, os) & NLA_TYPE_MASK;
      if (len < NLA_HDRLEN || off + len > data.length) {
        throw new DecodeError(`${where}: attribute ${type} at offset ${off} has length ${len}, past the ${data.length}-byte buffer`);
      }
      const payload = data.subarray(off + NLA_HDRLEN, off + len);
      this.map.set(type, payload);
      this.list.push([type, payload]);
      off += align(len);
    }
  }

  has(type: number): boolean {
    return this.map.has(type);
  }
  all(): ReadonlyArray<readonly [number, Uint8Array]> {
    return this.list;
  }
  raw(type: number): Uint8Array | undefined {
    return this.map.get(type);
  }

  private sized(type: number, size: number, what: string): DataView | undefined {
    const b = this.map.get(type);
    if (b === undefined) return undefined;
    if (b.length !== size) throw new DecodeError(`${this.where}: attribute ${type} is not a ${what}; length ${b.length}`);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  u8(type: number): number | undefined {
    return this.sized(type, 1, 'u8')?.getUint8(0);
  }
  u16(type: number): number | undefined {
    return this.sized(type, 2, 'u16')?.getUint16(0, os);
  }
  u32(type: number): number | undefined {
    return this.sized(type, 4, 'u32')?.getUint32(0, os);
  }
  u64(type: number): bigint | undefined {
    return this.sized(type, 8, 'u64')?.getBigUint64(0, os);
  }
  u16be(type: number): number | undefined {
    return this.sized(type, 2, 'u16')?.getUint16(0, false);
  }
  u32be(type: number): number | undefined {
    return this.sized(type, 4, 'u32')?.getUint32(0, false);
  }
  /** A string, NUL-terminated or not. */
  string(type: number): string | undefined {
    const b = this.map.get(type);
    if (b === undefined) return undefined;
    const nul = b.indexOf(0);
    return textDecoder.decode(nul >= 0 ? b.subarray(0, nul) : b);
  }
  nested(type: number, where?: string): AttributeDecoder | undefined {
    const b = this.map.get(type);
    return b === undefined ? undefined : new AttributeDecoder(b, where ?? `${this.where}.${type}`);
  }
  /** Like the getters above, but a missing attribute is a decode error. */
  need<T>(value: T | undefined, type: number): T {
    if (value === undefined) throw new DecodeError(`${this.where}: attribute ${type} is missing`);
    return value;
  }
}
