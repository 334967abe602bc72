// Address text <-> bytes (src/ipvs/address.ts). IPv6 formatting must match
// glibc's inet_ntop, which ipvsadm prints with: the expected strings below
// are what inet_ntop(AF_INET6) returned for these bytes (glibc 2.36; the
// formatter also agreed with it on 200 000 random zero-heavy addresses).
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAddress, formatIPv6, maskToNumber, numberToMask, parseAddress, prefixToMask } from '../../src/ipvs/address.js';
import { hex } from './support/wire.js';

const GLIBC: Array<[string, string]> = [
  ['00000000000000000000000000000000', '::'],
  ['00000000000000000000000000000001', '::1'],
  ['00000000000000000000000000000002', '::2'],
  // Embedded IPv4: a run of exactly six zero words from the start ...
  ['00000000000000000000000001020304', '::1.2.3.4'],
  ['00000000000000000000000000010203', '::0.1.2.3'],
  ['00000000000000000000000000010000', '::0.1.0.0'],
  // ... or five and then ffff (IPv4-mapped).
  ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
  ['00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
  ['00000000000000000000ffff00000001', '::ffff:0.0.0.1'],
  // Anything else prints hex words.
  ['00000000000000000000fffe01020304', '::fffe:102:304'],
  ['00010000000000000000ffff01020304', '1::ffff:102:304'],
  ['00000000000000000001ffff01020304', '::1:ffff:102:304'],
  ['000000000000ffff0000000001020304', '::ffff:0:0:102:304'],
  ['0064ff9b000000000000000001020304', '64:ff9b::102:304'],
  // The longest zero run is compressed; of equal runs, the first.
  ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
  ['20010db800000000000100000000000a', '2001:db8::1:0:0:a'],
  ['20010000000000010000000000000001', '2001:0:0:1::1'],
  ['00000000000100000000000000000000', '0:0:1::'],
  // A single zero word is not compressed.
  ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
  ['00010000000000000000000000000000', '1::'],
  ['00000001000000000000000000000000', '0:1::'],
  ['fe800000000000000000000000000001', 'fe80::1'],
  ['20010db8000000000000000000000001', '2001:db8::1'],
  ['ffffffffffffffffffffffffffffffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
];

describe('IPv6 formatting matches glibc inet_ntop', () => {
  for (const [bytesHex, text] of GLIBC) {
    it(`${bytesHex} -> ${text}`, () => {
      const b = Uint8Array.from(hex(bytesHex));
      expect(formatIPv6(b)).toBe(text);
      expect(formatAddress('inet6', b)).toBe(text);
      // And the text parses back to the same bytes.
      const back = parseAddress(text)!;
      expect(back.family).toBe('inet6');
      expect([...back.bytes]).toEqual([...b]);
    });
  }
});

describe('IPv4 formatting', () => {
  it('dotted quad; extra bytes of a 16-byte slot are ignored', () => {
    expect(formatAddress('inet', Uint8Array.from([10, 0, 0, 1]))).toBe('10.0.0.1');
    expect(formatAddress('inet', Uint8Array.from([255, 255, 255, 255, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]))).toBe('255.255.255.255');
    expect(formatAddress('inet', new Uint8Array(4))).toBe('0.0.0.0');
  });
});

describe('parsing', () => {
  it('IPv4 literals give 4 bytes', () => {
    expect(parseAddress('10.0.0.1')).toEqual({ family: 'inet', bytes: Uint8Array.from([10, 0, 0, 1]) });
    expect(parseAddress('255.255.255.255')).toEqual({ family: 'inet', bytes: Uint8Array.from([255, 255, 255, 255]) });
  });

  it('IPv6 literals in every form give 16 bytes', () => {
    const cases: Array<[string, string]> = [
      ['::', '00000000000000000000000000000000'],
      ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
      ['0001:0002::', '00010002000000000000000000000000'],
      ['FE80::ABCD', 'fe80000000000000000000000000abcd'],
      ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
      ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
      ['::1.2.3.4', '00000000000000000000000001020304'],
      ['2001:db8::', '20010db8000000000000000000000000'],
    ];
    for (const [text, bytesHex] of cases) {
      const p = parseAddress(text)!;
      expect(p.family, text).toBe('inet6');
      expect(Buffer.from(p.bytes).toString('hex'), text).toBe(bytesHex);
    }
  });

  it('refuses a zone id (IPVS keeps no scope for an address)', () => {
    expect(parseAddress('fe80::1%eth0')).toBeUndefined();
    expect(parseAddress('fe80::1%1')).toBeUndefined();
  });

  it('anything else is not an address', () => {
    for (const bad of ['', '1.2.3', '256.1.1.1', '01.2.3.4', ' 1.2.3.4', '1.2.3.4 ', '1::2::3', '2001:db8::1/64', '[::1]',
      '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:1.2.3.4', 'localhost', '::ffff:01.2.3.4', '10.0.0.1:80']) {
      expect(parseAddress(bad), bad).toBeUndefined();
    }
  });
});

describe('IPv4 netmasks', () => {
  it('prefix length -> dotted', () => {
    expect([0, 1, 8, 16, 24, 25, 31, 32].map(prefixToMask)).toEqual([
      '0.0.0.0', '128.0.0.0', '255.0.0.0', '255.255.0.0', '255.255.255.0', '255.255.255.128', '255.255.255.254', '255.255.255.255',
    ]);
  });

  it('dotted <-> unsigned 32-bit number', () => {
    expect(maskToNumber('255.255.255.0')).toBe(0xffffff00);
    expect(maskToNumber('255.255.255.255')).toBe(0xffffffff);
    expect(maskToNumber('0.0.0.0')).toBe(0);
    expect(maskToNumber('128.0.0.1')).toBe(0x80000001);
    expect(numberToMask(0xffffff00)).toBe('255.255.255.0');
    expect(numberToMask(0xffffffff)).toBe('255.255.255.255');
    expect(numberToMask(0x80000001)).toBe('128.0.0.1');
    for (let p = 0; p <= 32; p++) expect(numberToMask(maskToNumber(prefixToMask(p)))).toBe(prefixToMask(p));
  });
});

describe('properties', () => {
  it('accepts exactly what node:net accepts, and reads IPv4 octets right', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.stringMatching(/^[0-9]{1,4}$/));
    const text = fc.oneof(
      fc.array(octet, { minLength: 1, maxLength: 5 }).map((a) => a.join('.')),
      fc.stringMatching(/^[0-9.]{0,16}$/),
      fc.stringMatching(/^[0-9a-fA-F:.]{0,40}$/),
    );
    fc.assert(
      fc.property(text, (t) => {
        const p = parseAddress(t);
        const kind = isIP(t);
        expect(p?.family, t).toBe(kind === 4 ? 'inet' : kind === 6 ? 'inet6' : undefined);
        if (kind === 4) expect([...p!.bytes]).toEqual(t.split('.').map(Number));
        if (kind === 6) expect(p!.bytes).toHaveLength(16);
      }),
      { numRuns: 3000 },
    );
  });

  it('formatting then parsing gives the bytes back', () => {
    const w = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(w, { minLength: 8, maxLength: 8 }), (words) => {
        const b = Uint8Array.from(words.flatMap((x) => [x >> 8, x & 0xff]));
        const text = formatIPv6(b);
        expect(isIP(text), text).toBe(6);
        expect([...parseAddress(text)!.bytes]).toEqual([...b]);
      }),
      { numRuns: 2000 },
    );
  });
});
