// Netlink attributes (src/netlink/attributes.ts) against golden bytes: each
// encoder call gives the bytes written out by hand, and the decoder reads
// those bytes back to the value.
import { describe, expect, it } from 'vitest';
import { AttributeDecoder, AttributeEncoder, ByteWriter } from '../../src/netlink/attributes.js';
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER } from '../../src/netlink/constants.js';
import { be16, be32, bytes, hex, nla, nest, str, u16, u32, u64, u8 } from './support/wire.js';
import { decodeError } from './support/errors.js';

const enc = (fn: (e: AttributeEncoder) => void): number[] => {
  const e = new AttributeEncoder(new ByteWriter(4));
  fn(e);
  return [...e.w.bytes()];
};
const dec = (b: number[]) => new AttributeDecoder(Uint8Array.from(b), 'test');

describe('attribute encoding and decoding, golden bytes', () => {
  it('u8: length 5, one byte, three of padding', () => {
    const golden = hex(`
      05 00  # nla_len 5 = 4 header + 1
      08 00  # nla_type 8
      ab     # value
      00 00 00  # padding to 4`);
    expect(enc((e) => e.u8(8, 0xab))).toEqual(golden);
    expect(golden).toEqual(nla(8, u8(0xab)));
    expect(dec(golden).u8(8)).toBe(0xab);
  });

  it('u16 in host order (little-endian)', () => {
    const golden = hex('06 00 01 00  34 12  00 00');
    expect(enc((e) => e.u16(1, 0x1234))).toEqual(golden);
    expect(golden).toEqual(nla(1, u16(0x1234)));
    expect(dec(golden).u16(1)).toBe(0x1234);
  });

  it('u32 in host order; values above 2^31 stay unsigned', () => {
    const golden = hex('08 00 05 00  78 56 34 12');
    expect(enc((e) => e.u32(5, 0x12345678))).toEqual(golden);
    expect(dec(golden).u32(5)).toBe(0x12345678);
    const big = hex('08 00 05 00  ff ff ff ff');
    expect(enc((e) => e.u32(5, 0xffffffff))).toEqual(big);
    expect(big).toEqual(nla(5, u32(0xffffffff)));
    expect(dec(big).u32(5)).toBe(0xffffffff);
  });

  it('u64 as a bigint, exact beyond 2^53', () => {
    const v = 0x0102030405060708n;
    const golden = hex('0c 00 04 00  08 07 06 05 04 03 02 01');
    expect(enc((e) => e.u64(4, v))).toEqual(golden);
    expect(golden).toEqual(nla(4, u64(v)));
    expect(dec(golden).u64(4)).toBe(v);
    const max = 0xffffffffffffffffn;
    expect(dec(enc((e) => e.u64(4, max))).u64(4)).toBe(max);
  });

  it('u16 in network order (ports): 8080 is 1f 90', () => {
    const golden = hex('06 00 04 00  1f 90  00 00');
    expect(enc((e) => e.u16be(4, 8080))).toEqual(golden);
    expect(golden).toEqual(nla(4, be16(8080)));
    expect(dec(golden).u16be(4)).toBe(8080);
    expect(dec(golden).u16(4)).toBe(0x901f); // the same bytes read in host order
  });

  it('u32 in network order (IPv4 netmasks): 255.255.255.0 is ff ff ff 00', () => {
    const golden = hex('08 00 09 00  ff ff ff 00');
    expect(enc((e) => e.u32be(9, 0xffffff00))).toEqual(golden);
    expect(golden).toEqual(nla(9, be32(0xffffff00)));
    expect(dec(golden).u32be(9)).toBe(0xffffff00);
  });

  it('strings carry their NUL, which nla_len counts; padding follows', () => {
    const rr = hex(`
      07 00 06 00  # nla_len 7 = 4 + "rr" + NUL
      72 72 00     # "rr\\0"
      00           # padding`);
    expect(enc((e) => e.string(6, 'rr'))).toEqual(rr);
    expect(dec(rr).string(6)).toBe('rr');
    // Four characters: the NUL makes 9, three bytes of padding.
    const ipvs = hex('09 00 02 00  49 50 56 53 00  00 00 00');
    expect(enc((e) => e.string(2, 'IPVS'))).toEqual(ipvs);
    expect(ipvs).toEqual(nla(2, str('IPVS')));
    // Three characters: exactly aligned with the NUL.
    expect(enc((e) => e.string(6, 'wlc'))).toEqual(hex('08 00 06 00  77 6c 63 00'));
    // The empty string is just the NUL.
    const empty = hex('05 00 06 00  00  00 00 00');
    expect(enc((e) => e.string(6, ''))).toEqual(empty);
    expect(dec(empty).string(6)).toBe('');
    // UTF-8, counted in bytes.
    expect(enc((e) => e.string(1, 'é'))).toEqual(hex('07 00 01 00  c3 a9 00  00'));
  });

  it('decodes strings without a NUL, and stops at the first NUL', () => {
    expect(dec(hex('06 00 02 00  65 74 00 00')).string(2)).toBe('et');
    expect(dec(nla(2, [0x65, 0x74, 0x00, 0x78, 0x79])).string(2)).toBe('et');
  });

  it('raw bytes: a 16-byte address needs no padding', () => {
    const addr = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1];
    const golden = [...hex('14 00 03 00'), ...addr];
    expect(enc((e) => e.bytes(3, Uint8Array.from(addr)))).toEqual(golden);
    expect([...dec(golden).raw(3)!]).toEqual(addr);
  });

  it('an empty attribute is a bare header', () => {
    expect(enc((e) => e.bytes(7, new Uint8Array(0)))).toEqual(hex('04 00 07 00'));
    expect([...dec(hex('04 00 07 00')).raw(7)!]).toEqual([]);
    expect(dec(hex('04 00 07 00')).has(7)).toBe(true);
  });

  it('nests: NLA_F_NESTED set, nla_len covering the padded children', () => {
    const golden = hex(`
      18 00 01 80    # nla_len 24, nla_type 1 | NLA_F_NESTED
        06 00 01 00  # child 1: u16
        02 00 00 00  #   2, padding
        0c 00 02 80  # child 2: a nest, nla_len 12
          08 00 05 00  # grandchild: u32
          07 00 00 00  #   7`);
    const got = enc((e) =>
      e.nested(1, (n) => {
        n.u16(1, 2);
        n.nested(2, (m) => m.u32(5, 7));
      }),
    );
    expect(got).toEqual(golden);
    expect(golden).toEqual(nest(1, nla(1, u16(2)), nest(2, nla(5, u32(7)))));
    const top = dec(golden);
    const inner = top.nested(1)!;
    expect(inner.where).toBe('test.1');
    expect(inner.u16(1)).toBe(2);
    expect(inner.nested(2, 'deeper')!.u32(5)).toBe(7);
  });

  it('an empty nest is a bare header with the flag', () => {
    expect(enc((e) => e.nested(3, () => {}))).toEqual(hex('04 00 03 80'));
    expect(dec(hex('04 00 03 80')).nested(3)!.all()).toEqual([]);
  });

  it('attributes follow each other at aligned offsets', () => {
    const golden = [...nla(1, u8(1)), ...nla(2, str('abc')), ...nla(3, u16(3)), ...nla(4, u64(4n))];
    expect(enc((e) => e.u8(1, 1).string(2, 'abc').u16(3, 3).u64(4, 4n))).toEqual(golden);
    const d = dec(golden);
    expect([d.u8(1), d.string(2), d.u16(3), d.u64(4)]).toEqual([1, 'abc', 3, 4n]);
    expect(d.all().map(([t]) => t)).toEqual([1, 2, 3, 4]);
  });

  it('writes into a ByteWriter that already holds data, growing it as needed', () => {
    const w = new ByteWriter(2);
    w.reserve(3); // misaligned start on purpose: attributes do not realign
    w.buf.set([9, 9, 9], 0);
    new AttributeEncoder(w).u32(1, 1).string(2, 'x'.repeat(300));
    const b = [...w.bytes()];
    expect(b.slice(0, 3)).toEqual([9, 9, 9]);
    expect(b.slice(3, 11)).toEqual(nla(1, u32(1)));
    expect(b.slice(11)).toEqual(nla(2, str('x'.repeat(300))));
  });
});

describe('attribute decoder rules', () => {
  it('masks NLA_F_NESTED and NLA_F_NET_BYTEORDER out of the type', () => {
    const d = dec([...nla(1, u32(5), NLA_F_NESTED), ...nla(2, be16(80), NLA_F_NET_BYTEORDER)]);
    expect(d.has(1)).toBe(true);
    expect(d.has(2)).toBe(true);
    expect(d.u16be(2)).toBe(80);
  });

  it('keeps unknown types and the last of a repeated type; all() keeps every one in order', () => {
    const d = dec([...nla(9, u32(1)), ...nla(200, u8(2)), ...nla(9, u32(3))]);
    expect(d.u32(9)).toBe(3);
    expect(d.all().map(([t, p]) => [t, [...p]])).toEqual([
      [9, u32(1)],
      [200, [2]],
      [9, u32(3)],
    ]);
  });

  it('returns undefined for a missing attribute; need() names it', () => {
    const d = new AttributeDecoder(Uint8Array.from(nla(1, u8(1))), 'service');
    expect(d.u32(2)).toBeUndefined();
    expect(d.string(2)).toBeUndefined();
    expect(d.nested(2)).toBeUndefined();
    expect(d.raw(2)).toBeUndefined();
    expect(d.need(d.u8(1), 1)).toBe(1);
    const err = decodeError(() => d.need(d.u32(2), 2));
    expect(err.message).toBe('service: attribute 2 is missing');
  });

  it('refuses a typed read of the wrong size', () => {
    const d = new AttributeDecoder(Uint8Array.from([...nla(1, u16(1)), ...nla(2, u32(1)), ...nla(3, [1, 2, 3])]), 'dest');
    expect(decodeError(() => d.u32(1)).message).toBe('dest: attribute 1 is not a u32; length 2');
    expect(decodeError(() => d.u16(2)).message).toBe('dest: attribute 2 is not a u16; length 4');
    decodeError(() => d.u8(2));
    decodeError(() => d.u64(2));
    decodeError(() => d.u16be(3));
    decodeError(() => d.u32be(3));
  });

  it('refuses an attribute shorter than its header or past the buffer', () => {
    expect(decodeError(() => dec(hex('03 00 01 00'))).message).toMatch(/attribute 1 at offset 0 has length 3/);
    expect(decodeError(() => dec(hex('08 00 01 00 00 00'))).message).toMatch(/length 8, past the 6-byte buffer/);
    // A bad attribute after a good one.
    decodeError(() => dec([...nla(1, u32(1)), ...hex('ff 00 02 00')]));
  });

  it('reads the last attribute even when its padding was cut off', () => {
    // nla_len 5 in a 5-byte buffer: the padding is optional at the very end.
    expect(dec(hex('05 00 01 00 07')).u8(1)).toBe(7);
  });

  it('ignores trailing bytes too short for a header', () => {
    expect(dec([...nla(1, u8(1)), 0, 0]).all()).toHaveLength(1);
  });

  it('refuses attribute types that do not fit in 14 bits, and oversized payloads', () => {
    const e = new AttributeEncoder();
    expect(() => e.u8(0x4000, 1)).toThrow(RangeError);
    expect(() => e.u8(-1, 1)).toThrow(RangeError);
    expect(() => e.u8(1.5, 1)).toThrow(RangeError);
    expect(() => e.bytes(1, new Uint8Array(0xffff - 3))).toThrow(RangeError);
    // The largest payload that fits.
    const w = new ByteWriter();
    new AttributeEncoder(w).bytes(1, new Uint8Array(0xffff - 4));
    expect([...w.bytes().subarray(0, 4)]).toEqual(hex('ff ff 01 00'));
  });

  it('decodes from a view at an offset into a larger buffer', () => {
    const backing = new Uint8Array(64).fill(0xaa);
    backing.set(nla(4, be16(443)), 10);
    const d = new AttributeDecoder(backing.subarray(10, 18));
    expect(d.u16be(4)).toBe(443);
  });

  it('the bytes the encoder writes are a copy, safe to keep', () => {
    const w = new ByteWriter();
    const e = new AttributeEncoder(w);
    e.u32(1, 1);
    const first = w.bytes();
    e.u32(2, 2);
    w.buf.fill(0xff, 0, 4);
    expect([...first]).toEqual(nla(1, u32(1)));
    expect([...bytes(nla(1, u32(1)))]).toEqual([...first]);
  });
});
