// scanService / scanDestination (src/ipvs/scan.ts) against a second, naive
// decoder (support/reference-decoders.ts, behind decodeGenl): the same
// result (property order included) or the same DecodeError, for real kernel
// replies, random valid replies and random damage to them.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/errors.js';
import { decodeGenl, writeGenl } from '../../src/genetlink/genl.js';
import { decodeDestination, decodeService } from './support/reference-decoders.js';
import { CmdAttr, DestAttr, StatsAttr, SvcAttr } from '../../src/ipvs/constants.js';
import { scanDestination, scanService } from '../../src/ipvs/scan.js';
import type { AddressFamily } from '../../src/ipvs/types.js';
import { type AttributeEncoder, ByteWriter } from '../../src/netlink/attributes.js';
import { parseMessages } from '../../src/netlink/message.js';
import { loadFixture } from './support/fixtures.js';

type Kind = 'service' | 'inet' | 'inet6';
type Outcome = { ok: true; value: unknown } | { ok: false; message: string };

function outcome(fn: () => unknown): Outcome {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    // Anything but a DecodeError fails the test.
    if (!(e instanceof DecodeError)) throw e;
    return { ok: false, message: e.message };
  }
}

/** Decodes one whole netlink message (`msg`) both ways; the scan reads it inside a larger buffer, between junk. */
function both(msg: Uint8Array, kind: Kind, prefix = 3): [Outcome, Outcome] {
  const m = parseMessages(msg)[0]!;
  const codec = outcome(() =>
    kind === 'service' ? decodeService(decodeGenl(m, 'service').attrs) : decodeDestination(decodeGenl(m, 'destination').attrs, kind),
  );
  const len = 16 + m.payload.length;
  const big = new Uint8Array(prefix + len + 24).fill(0xa5);
  big.set(msg.subarray(0, len), prefix);
  const data = big.subarray(1); // a non-zero byteOffset
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const at = prefix - 1;
  const scan = outcome(() =>
    kind === 'service' ? scanService(data, view, at + 16, at + len) : scanDestination(data, view, at + 16, at + len, kind),
  );
  return [codec, scan];
}

/** The two outcomes are the same: equal values with the same property order, or errors with the same text. */
function expectSame([codec, scan]: [Outcome, Outcome]): void {
  expect(scan).toStrictEqual(codec);
  if (codec.ok && scan.ok) expect(inspect(scan.value, { depth: null })).toBe(inspect(codec.value, { depth: null }));
}

// ---- real kernel replies ------------------------------------------------------

describe('kernel captures', () => {
  const dir = fileURLToPath(new URL('../fixtures/kernel/', import.meta.url));
  const names = readdirSync(dir).filter((n) => n.endsWith('.txt')).map((n) => n.slice(0, -4));

  it('every message decodes the same both ways; every service and destination reply decodes', () => {
    let services = 0;
    let destinations = 0;
    for (const name of names) {
      for (const d of loadFixture(name).datagrams) {
        // (one capture of `ip` sends trailing zeros after its message: stop there)
        const view = new DataView(d.bytes.buffer, d.bytes.byteOffset, d.bytes.byteLength);
        for (let off = 0, len = 0; off + 16 <= d.bytes.length; off += (len + 3) & ~3) {
          len = view.getUint32(off, true);
          if (len < 16 || off + len > d.bytes.length) break;
          const msg = d.bytes.subarray(off, off + len);
          const m = parseMessages(msg)[0]!;
          const results = (['service', 'inet', 'inet6'] as const).map((k) => both(msg, k));
          results.forEach(expectSame);
          // Replies (the kernel answers dumps with NEW_SERVICE / NEW_DEST) must decode.
          if (d.dir !== 'recv' || m.type <= 0x10 || m.payload.length < 4) continue; // (0x10: nlctrl)
          if (m.payload[0] === 1) {
            expect(results[0]![1].ok, `${name}: service reply`).toBe(true);
            services++;
          }
          if (m.payload[0] === 5) {
            expect(results[1]![1].ok && results[2]![1].ok, `${name}: destination reply`).toBe(true);
            destinations++;
          }
        }
      }
    }
    expect(services).toBeGreaterThanOrEqual(10);
    expect(destinations).toBeGreaterThanOrEqual(10);
  });
});

// ---- random valid replies -------------------------------------------------------

/** One attribute, written by the library's own encoder. */
type Put = (e: AttributeEncoder) => void;

const u8s = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const u32 = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffffffff }));
const u16 = fc.integer({ min: 0, max: 0xffff });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const name = fc.oneof(
  fc.constantFrom('', 'rr', 'wlc', 'sh', 'mh', 'sip'),
  fc.stringMatching(/^[a-z0-9_-]{0,15}$/),
  fc.string({ maxLength: 40, unit: 'binary' }), // non-ASCII and long names take TextDecoder
);

/** Counters of every magnitude AttributeDecoder.u64 tells apart: zero, below 2^32, above. */
const counter = fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 0xffffffffn }), fc.bigInt({ min: 0x100000000n, max: (1n << 64n) - 1n }));

/** A stats nest: a random subset of the counters (u64, or u32 but for the byte counters in the old nest), with padding. */
const statsNest = (type: number, wide: boolean): fc.Arbitrary<Put> =>
  fc.tuple(fc.subarray([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, StatsAttr.PAD]), fc.array(counter, { minLength: 11, maxLength: 11 })).map(
    ([types, v]) => (e) =>
      e.nested(type, (n) => {
        for (const t of types) {
          if (t === StatsAttr.PAD) n.bytes(t, new Uint8Array(0));
          else if (wide || t === StatsAttr.INBYTES || t === StatsAttr.OUTBYTES) n.u64(t, v[t]!);
          else n.u32(t, Number(v[t]! & 0xffffffffn));
        }
      }),
  );

/** Attributes no decoder knows: unknown types (some past 255), any payload. */
const unknown = (from: number): fc.Arbitrary<Put> =>
  fc.tuple(fc.oneof(fc.integer({ min: from, max: 40 }), fc.integer({ min: 256, max: 0x3fff })), u8s(0, 20)).map(([t, b]) => (e) => e.bytes(t, b));

/** Shuffles the attributes of a level and adds unknown ones. */
const level = (known: Put[], from: number): fc.Arbitrary<Put[]> =>
  fc.array(unknown(from), { maxLength: 3 }).chain((u) => fc.shuffledSubarray([...known, ...u], { minLength: known.length + u.length }));

/**
 * The attribute, sometimes after an earlier one of the same type with another
 * value, of any size: only the last counts.
 */
const withStale = (type: number, put: Put): fc.Arbitrary<Put> =>
  opt(u8s(0, 12)).map((b): Put => (b === undefined ? put : (e) => {
    e.bytes(type, b);
    put(e);
  }));

/** The attributes of one nest, and whether the whole is a valid entry (undefined: not worked out). */
interface Entry {
  puts: Put[];
  valid: boolean | undefined;
}

/**
 * The known attributes (by type) in random order among unknown ones, one of
 * them maybe after a stale duplicate; now and then one integer of `sizes`
 * (type -> payload size) is written with a wrong size, which the decoders
 * must refuse exactly when they read it.
 */
function entry(puts: Map<number, Put>, sizes: Map<number, number>, stale: number, from: number, valid: boolean): fc.Arbitrary<Entry> {
  const sized = [...sizes.keys()].filter((t) => puts.has(t));
  const resize = fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 4 },
    { arbitrary: sized.length ? fc.tuple(fc.constantFrom(...sized), u8s(0, 8)) : fc.constant(undefined), weight: 1 },
  );
  return resize.chain((wrong) => {
    if (wrong) puts.set(wrong[0], (e) => e.bytes(wrong[0], wrong[1]));
    const real = puts.get(stale);
    const rest = [...puts].filter(([t]) => t !== stale).map(([, p]) => p);
    return (real ? withStale(stale, real).map((p) => [...rest, p]) : fc.constant(rest)).chain((known) =>
      level(known, from).map((l) => ({ puts: l, valid: wrong ? undefined : valid })),
    );
  });
}

const SERVICE_SIZES = new Map<number, number>([[SvcAttr.AF, 2], [SvcAttr.PROTOCOL, 2], [SvcAttr.PORT, 2], [SvcAttr.FWMARK, 4],
  [SvcAttr.FLAGS, 8], [SvcAttr.TIMEOUT, 4], [SvcAttr.NETMASK, 4]]);
const DEST_SIZES = new Map<number, number>([[DestAttr.ADDR_FAMILY, 2], [DestAttr.PORT, 2], [DestAttr.FWD_METHOD, 4],
  [DestAttr.WEIGHT, 4], [DestAttr.U_THRESH, 4], [DestAttr.L_THRESH, 4], [DestAttr.ACTIVE_CONNS, 4], [DestAttr.INACT_CONNS, 4],
  [DestAttr.PERSIST_CONNS, 4], [DestAttr.TUN_TYPE, 1], [DestAttr.TUN_PORT, 2], [DestAttr.TUN_FLAGS, 2]]);

const serviceEntry: fc.Arbitrary<Entry> = fc
  .record({
    af: fc.constantFrom(2, 10),
    fwmark: opt(u32),
    key: opt(fc.record({ proto: fc.constantFrom(6, 17, 132), addr: fc.oneof(u8s(16, 16), u8s(4, 4)), port: u16 })),
    sched: opt(name),
    flags: opt(fc.tuple(u32, u32)),
    timeout: opt(u32),
    netmask: opt(u32),
    s64: opt(statsNest(SvcAttr.STATS64, true)),
    s32: opt(statsNest(SvcAttr.STATS, false)),
    pe: opt(name),
    stale: fc.constantFrom(SvcAttr.SCHED_NAME, SvcAttr.TIMEOUT, SvcAttr.NETMASK, SvcAttr.FWMARK, SvcAttr.PORT, SvcAttr.STATS64),
  })
  .chain((s) => {
    const puts = new Map<number, Put>([[SvcAttr.AF, (e) => e.u16(SvcAttr.AF, s.af)]]);
    if (s.fwmark !== undefined) puts.set(SvcAttr.FWMARK, (e) => e.u32(SvcAttr.FWMARK, s.fwmark!));
    if (s.key) {
      const k = s.key;
      puts.set(SvcAttr.PROTOCOL, (e) => e.u16(SvcAttr.PROTOCOL, k.proto));
      puts.set(SvcAttr.ADDR, (e) => e.bytes(SvcAttr.ADDR, k.addr));
      puts.set(SvcAttr.PORT, (e) => e.u16be(SvcAttr.PORT, k.port));
    }
    if (s.sched !== undefined) puts.set(SvcAttr.SCHED_NAME, (e) => e.string(SvcAttr.SCHED_NAME, s.sched!));
    // struct ip_vs_flags { flags, mask } in host order
    if (s.flags) puts.set(SvcAttr.FLAGS, (e) => e.bytes(SvcAttr.FLAGS, new Uint8Array(Uint32Array.from(s.flags!).buffer)));
    if (s.timeout !== undefined) puts.set(SvcAttr.TIMEOUT, (e) => e.u32(SvcAttr.TIMEOUT, s.timeout!));
    if (s.netmask !== undefined) {
      puts.set(SvcAttr.NETMASK, (e) => (s.af === 10 ? e.u32(SvcAttr.NETMASK, s.netmask!) : e.u32be(SvcAttr.NETMASK, s.netmask!)));
    }
    if (s.s64) puts.set(SvcAttr.STATS64, s.s64);
    if (s.s32) puts.set(SvcAttr.STATS, s.s32);
    if (s.pe !== undefined) puts.set(SvcAttr.PE_NAME, (e) => e.string(SvcAttr.PE_NAME, s.pe!));
    // a key (a non-zero fwmark, or protocol + address + port), an address long enough for the family
    const valid = (s.fwmark !== undefined && s.fwmark !== 0) || (s.key !== undefined && (s.af === 2 || s.key.addr.length === 16));
    return entry(puts, SERVICE_SIZES, s.stale, SvcAttr.STATS64 + 1, valid);
  });

const destEntry = (serviceFamily: AddressFamily): fc.Arbitrary<Entry> => fc
  .record({
    af: fc.constantFrom(undefined, 0, 2, 10),
    addr16: fc.boolean(),
    addr: u8s(16, 16),
    port: u16,
    fwd: opt(fc.tuple(fc.integer({ min: 0, max: 4 }), u32).map(([m, hi]) => ((hi & ~7) | m) >>> 0)),
    counts: fc.array(opt(u32), { minLength: 6, maxLength: 6 }),
    s64: opt(statsNest(DestAttr.STATS64, true)),
    s32: opt(statsNest(DestAttr.STATS, false)),
    tunType: opt(fc.integer({ min: 0, max: 2 })),
    tunPort: opt(u16),
    tunFlags: opt(fc.oneof(fc.integer({ min: 0, max: 3 }), u16)),
    stale: fc.constantFrom(DestAttr.ADDR, DestAttr.PORT, DestAttr.WEIGHT, DestAttr.STATS, DestAttr.TUN_TYPE),
  })
  .chain((d) => {
    const puts = new Map<number, Put>([
      [DestAttr.ADDR, (e) => e.bytes(DestAttr.ADDR, d.addr16 ? d.addr : d.addr.subarray(0, 4))],
      [DestAttr.PORT, (e) => e.u16be(DestAttr.PORT, d.port)],
    ]);
    if (d.af !== undefined) puts.set(DestAttr.ADDR_FAMILY, (e) => e.u16(DestAttr.ADDR_FAMILY, d.af!));
    if (d.fwd !== undefined) puts.set(DestAttr.FWD_METHOD, (e) => e.u32(DestAttr.FWD_METHOD, d.fwd!));
    const counts = [DestAttr.WEIGHT, DestAttr.U_THRESH, DestAttr.L_THRESH, DestAttr.ACTIVE_CONNS, DestAttr.INACT_CONNS, DestAttr.PERSIST_CONNS];
    counts.forEach((t, i) => {
      if (d.counts[i] !== undefined) puts.set(t, (e) => e.u32(t, d.counts[i]!));
    });
    if (d.s64) puts.set(DestAttr.STATS64, d.s64);
    if (d.s32) puts.set(DestAttr.STATS, d.s32);
    if (d.tunType !== undefined) puts.set(DestAttr.TUN_TYPE, (e) => e.u8(DestAttr.TUN_TYPE, d.tunType!));
    if (d.tunPort !== undefined) puts.set(DestAttr.TUN_PORT, (e) => e.u16be(DestAttr.TUN_PORT, d.tunPort!));
    if (d.tunFlags !== undefined) puts.set(DestAttr.TUN_FLAGS, (e) => e.u16(DestAttr.TUN_FLAGS, d.tunFlags!));
    // ADDR_FAMILY (else the service's family) says how long ADDR must be
    const fam = d.af === 2 ? 'inet' : d.af === 10 ? 'inet6' : serviceFamily;
    return entry(puts, DEST_SIZES, d.stale, DestAttr.TUN_FLAGS + 1, d.addr16 || fam === 'inet');
  });

/**
 * A whole reply: the nest among unknown top-level attributes, sometimes after
 * a stale nest of the same type (only the last counts).
 */
function reply(nest: number, attrs: Put[], top: Put[] = [], staleNest?: Put[]): Uint8Array {
  const w = new ByteWriter(64);
  writeGenl(w, 0x1c, nest === CmdAttr.SERVICE ? 1 : 5, 1, false, (e) => {
    for (const p of top) p(e);
    if (staleNest) e.nested(nest, (n) => staleNest.forEach((p) => p(n)));
    e.nested(nest, (n) => attrs.forEach((p) => p(n)));
  });
  return w.bytes();
}

const topUnknown = fc.array(fc.oneof(unknown(4), fc.constant<Put>((e) => e.u32(CmdAttr.TIMEOUT_TCP, 7))), { maxLength: 2 });
const serviceReply = fc
  .tuple(serviceEntry, topUnknown, opt(serviceEntry))
  .map(([a, top, stale]) => ({ msg: reply(CmdAttr.SERVICE, a.puts, top, stale?.puts), valid: a.valid }));
const destReply = fc
  .constantFrom<AddressFamily>('inet', 'inet6')
  .chain((fam) => fc.tuple(destEntry(fam), topUnknown, opt(destEntry(fam)), fc.constant(fam)))
  .map(([a, top, stale, fam]) => ({ msg: reply(CmdAttr.DEST, a.puts, top, stale?.puts), valid: a.valid, fam }));

// Case counts: a generated case (chained records) costs milliseconds; at these
// counts each test took ~2 s with the machine at load 10 (at 1,000-2,000 cases
// they took 3-5 s and hit the 5 s bound under load).
describe('random valid replies', () => {
  it('services decode equal both ways', () => {
    fc.assert(
      fc.property(serviceReply, fc.nat({ max: 7 }), ({ msg, valid }, prefix) => {
        const r = both(msg, 'service', prefix + 1);
        if (valid !== undefined) expect(r[0].ok).toBe(valid);
        expectSame(r);
      }),
      { numRuns: 300 },
    );
  });

  it('destinations decode equal both ways', () => {
    fc.assert(
      fc.property(destReply, fc.nat({ max: 7 }), ({ msg, valid, fam }, prefix) => {
        const r = both(msg, fam, prefix + 1);
        if (valid !== undefined) expect(r[0].ok).toBe(valid);
        expectSame(r);
      }),
      { numRuns: 300 },
    );
  });
});

// ---- damaged replies --------------------------------------------------------

/** Damage within the genl payload: byte flips, small u16 values (lengths, types), truncation. */
const damage = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), x: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ op: fc.constant('u16' as const), at: fc.nat(), x: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ op: fc.constant('cut' as const), at: fc.nat(), x: fc.constant(0) }),
  ),
  { minLength: 1, maxLength: 4 },
);

function damaged(msg: Uint8Array, ops: Array<{ op: 'flip' | 'u16' | 'cut'; at: number; x: number }>): Uint8Array {
  let b = Uint8Array.from(msg);
  for (const { op, at, x } of ops) {
    const i = 16 + (at % Math.max(1, b.length - 16));
    if (op === 'flip' && i < b.length) b[i]! ^= x;
    if (op === 'u16' && i + 1 < b.length) {
      const p = i & ~1;
      b[p] = x;
      b[p + 1] = 0;
    }
    if (op === 'cut') b = b.slice(0, i);
  }
  // nlmsg_len follows a cut: the message ends where the bytes do
  new DataView(b.buffer).setUint32(0, b.length, true);
  return b;
}

describe('damaged replies', () => {
  it('both ways fail alike, with a DecodeError, or decode equal', () => {
    const anyReply = fc.oneof(
      serviceReply.map((s) => s.msg),
      destReply.map((d) => d.msg),
      fc.uint8Array({ maxLength: 80 }).map((p) => {
        const b = new Uint8Array(16 + p.length);
        b.set(p, 16);
        return b;
      }),
    );
    let failures = 0;
    let successes = 0;
    fc.assert(
      fc.property(anyReply, damage, fc.nat({ max: 5 }), (msg, ops, prefix) => {
        const b = damaged(msg, ops);
        for (const kind of ['service', 'inet', 'inet6'] as const) {
          const r = both(b, kind, prefix + 1);
          expectSame(r);
          if (r[0].ok) successes++;
          else failures++;
        }
      }),
      { numRuns: 800 },
    );
    // the damage is neither always fatal nor always harmless
    expect(failures).toBeGreaterThan(400);
    expect(successes).toBeGreaterThan(120);
  });

  it('names the fault as decodeService and decodeDestination do', () => {
    // A wrong-sized port, a missing address: scan and codec word them the same.
    const bad = reply(CmdAttr.SERVICE, [(e) => e.u16(SvcAttr.AF, 2), (e) => e.u16(SvcAttr.PROTOCOL, 6), (e) => e.bytes(SvcAttr.ADDR, new Uint8Array(16)), (e) => e.u32(SvcAttr.PORT, 80)]);
    const r = both(bad, 'service');
    expectSame(r);
    expect(r[1]).toEqual({ ok: false, message: 'service: attribute 4 is not a u16; length 4' });
    const noAddr = reply(CmdAttr.DEST, [(e) => e.u16be(DestAttr.PORT, 80)]);
    expect(both(noAddr, 'inet')[1]).toEqual({ ok: false, message: 'destination: attribute 1 is missing' });
  });
});
