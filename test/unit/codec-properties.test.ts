// Property tests of the codec with fast-check:
// - random valid specs -> request bytes -> a kernel-like reply built from
//   those bytes -> decoded value equal to what the spec asked for;
// - random bytes and random attribute trees never make a decoder throw
//   anything but a clean IpvsError of kind 'decode'.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IpvsError } from '../../src/errors.js';
import { decodeGenl } from '../../src/genetlink/genl.js';
import { decodeDaemon, decodeInfo, decodeTimeouts } from '../../src/ipvs/codec.js';
import { destinationOf, serviceOf } from './support/scanned.js';
import * as requests from '../../src/ipvs/requests.js';
import type {
  DaemonSpec, Destination, DestinationSpec, Forwarding, Service, ServiceKey, ServiceSpec, Stats, TunnelSettings,
} from '../../src/ipvs/types.js';
import { AttributeDecoder } from '../../src/netlink/attributes.js';
import { type NetlinkMessage, parseDone, parseError, parseMessages } from '../../src/netlink/message.js';
import { type Bytes, type Node, be16, knest, nla, tree, u16, u32, u64, u8 } from './support/wire.js';

const FAMILY = 0x1c;
const RUNS = { numRuns: 400 };

// ---- addresses: generated as bytes, written in several text forms -----------

const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
const v6words = fc.array(word, { minLength: 8, maxLength: 8 });

/** IPv6 text: full, "::"-compressed at a random zero run, or with a dotted tail. */
const v6 = v6words.chain((w) =>
  fc.record({ bytes: fc.constant(w.flatMap((x) => be16(x))), text: fc.constantFrom(...v6texts(w)) }),
);
function v6texts(w: number[]): string[] {
  const hexw = w.map((x) => x.toString(16));
  const out = [hexw.join(':'), hexw.map((h) => h.toUpperCase()).join(':')];
  const zeroRun = w.findIndex((x) => x === 0);
  if (zeroRun >= 0) {
    let end = zeroRun;
    while (end < 8 && w[end] === 0) end++;
    out.push(`${hexw.slice(0, zeroRun).join(':')}::${hexw.slice(end).join(':')}`);
  }
  const quad = [w[6]! >> 8, w[6]! & 0xff, w[7]! >> 8, w[7]! & 0xff].join('.');
  out.push(`${hexw.slice(0, 6).join(':')}:${quad}`);
  return out;
}
const v4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }).map((b) => ({ bytes: b, text: b.join('.') }));
const anyAddress = fc.oneof(v4.map((a) => ({ ...a, family: 'inet' as const })), v6.map((a) => ({ ...a, family: 'inet6' as const })));
/** Multicast groups (224.0.0.0/4, ff00::/8), the only ones a sync daemon takes. */
const multicast = fc.oneof(
  v4.map((a) => {
    const bytes = [224 + (a.bytes[0]! & 15), ...a.bytes.slice(1)];
    return { bytes, text: bytes.join('.'), family: 'inet' as const };
  }),
  v6words.chain((w) => {
    const g = [0xff00 | (w[0]! & 0xff), ...w.slice(1)];
    return fc.record({ bytes: fc.constant(g.flatMap((x) => be16(x))), text: fc.constantFrom(...v6texts(g)), family: fc.constant('inet6' as const) });
  }),
);

/** The bytes of an address as text, the naive way (expands "::", dotted tails). */
function addressBytes(text: string): number[] {
  if (!text.includes(':')) return text.split('.').map(Number);
  let s = text;
  const last = s.lastIndexOf(':');
  const tail = s.slice(last + 1);
  if (tail.includes('.')) {
    const q = tail.split('.').map(Number);
    s = `${s.slice(0, last + 1)}${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
  }
  const [l, r] = s.split('::');
  const left = l ? l.split(':') : [];
  const right = r !== undefined && r ? r.split(':') : [];
  const words = r === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return words.flatMap((x) => be16(parseInt(x, 16)));
}

// ---- valid specs ------------------------------------------------------------

const schedulers = fc.oneof(
  fc.constantFrom('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,15}$/),
);
const FLAG_BITS = { 'sh-fallback': 8, 'sh-port': 16, 'mh-fallback': 8, 'mh-port': 16, 'flag-1': 8, 'flag-2': 16, 'flag-3': 32 } as const;
const schedFlags = fc.subarray(Object.keys(FLAG_BITS) as Array<keyof typeof FLAG_BITS>);

const keyArb = fc.oneof(
  fc.record({ protocol: fc.constantFrom('tcp', 'udp', 'sctp'), address: anyAddress, port: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ fwmark: fc.integer({ min: 1, max: 0xffffffff }), family: fc.option(fc.constantFrom('inet', 'inet6'), { nil: undefined }) }),
);

interface GenService {
  spec: ServiceSpec;
  family: 'inet' | 'inet6';
  /** The address bytes, for address keys. */
  addr?: number[];
}

const serviceArb: fc.Arbitrary<GenService> = keyArb.chain((k) => {
  const family = 'fwmark' in k ? (k.family ?? 'inet') : k.address.family;
  const netmask = family === 'inet6'
    ? fc.option(fc.integer({ min: 1, max: 128 }), { nil: undefined })
    : fc.option(fc.oneof(fc.integer({ min: 0, max: 32 }), v4.map((a) => a.text)), { nil: undefined });
  return fc.record({
    scheduler: fc.option(schedulers, { nil: undefined }),
    schedulerFlags: fc.option(schedFlags, { nil: undefined }),
    persistent: fc.option(fc.oneof(fc.boolean(), fc.constant(0), fc.integer({ min: 1, max: 31 * 86400 })), { nil: undefined }),
    netmask,
    onePacket: fc.option(fc.boolean(), { nil: undefined }),
    pe: fc.option(fc.oneof(fc.constant('sip'), fc.stringMatching(/^[A-Za-z0-9_-]{0,15}$/)), { nil: undefined }),
  }).map((o) => {
    const key: ServiceKey = 'fwmark' in k
      ? { fwmark: k.fwmark, ...(k.family ? { family: k.family } : {}) }
      : { protocol: k.protocol, address: k.address.text, port: k.port };
    const spec = { ...key } as ServiceSpec;
    for (const [name, v] of Object.entries(o)) if (v !== undefined) (spec as unknown as Record<string, unknown>)[name] = v;
    return { spec, family, ...('fwmark' in k ? {} : { addr: k.address.bytes }) };
  });
});

const statsArb = fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 10, maxLength: 10 });
const STAT_NAMES: Array<keyof Stats> = ['connections', 'packetsIn', 'packetsOut', 'bytesIn', 'bytesOut', 'cps',
  'packetsInPerSecond', 'packetsOutPerSecond', 'bytesInPerSecond', 'bytesOutPerSecond'];
const statsOf = (v: bigint[]): Stats => Object.fromEntries(STAT_NAMES.map((n, i) => [n, v[i]!])) as unknown as Stats;
/** The kernel's two stats nests: 64-bit, and 32-bit (u32 but for the u64 byte counters). */
const stats64 = (type: number, v: bigint[]) => knest(type, ...v.flatMap((x, i) => [nla(11, []), nla(i + 1, u64(x))]));
const stats32 = (type: number, v: bigint[]) =>
  knest(type, ...v.map((x, i) => (i === 3 || i === 4 ? nla(i + 1, u64(x)) : nla(i + 1, u32(Number(x & 0xffffffffn))))));

const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** What decoding the kernel's reply must give for a spec, worked out independently. */
function expectedService(g: GenService, stats: Stats): Service {
  const s = g.spec as ServiceSpec & Record<string, unknown>;
  const timeout = s.persistent === true ? 360 : typeof s.persistent === 'number' ? s.persistent : 0;
  const scheduler = s.scheduler ?? 'wlc';
  let flags = 0x2; // the kernel adds IP_VS_SVC_F_HASHED
  if (timeout > 0) flags |= 1;
  if (s.onePacket) flags |= 4;
  for (const f of s.schedulerFlags ?? []) flags |= FLAG_BITS[f as keyof typeof FLAG_BITS];
  const named = scheduler === 'sh' || scheduler === 'mh' ? scheduler : undefined;
  const schedulerFlags = [
    ...(flags & 8 ? [named ? `${named}-fallback` : 'flag-1'] : []),
    ...(flags & 16 ? [named ? `${named}-port` : 'flag-2'] : []),
    ...(flags & 32 ? ['flag-3'] : []),
  ];
  let netmask: string | number;
  if (g.family === 'inet6') netmask = (s.netmask as number | undefined) ?? 128;
  else if (s.netmask === undefined) netmask = '255.255.255.255';
  else if (typeof s.netmask === 'number') netmask = dotted(s.netmask === 0 ? 0 : (0xffffffff << (32 - s.netmask)) >>> 0);
  else netmask = s.netmask;
  const out: Record<string, unknown> = { family: g.family };
  if ('fwmark' in s && s.fwmark !== undefined) out.fwmark = s.fwmark;
  else Object.assign(out, { protocol: s.protocol, port: s.port });
  Object.assign(out, { scheduler, schedulerFlags, netmask, onePacket: !!s.onePacket, flags, timeout, stats });
  if (timeout > 0) out.persistent = timeout;
  if (s.pe) out.pe = s.pe;
  return out as unknown as Service;
}

/** The IPVS nest `type` of a request, as a naive attribute tree. */
function requestNest(message: Uint8Array, type: number): Node[] {
  const top = tree(parseMessages(message)[0]!.payload.subarray(4));
  return top.find((n) => n.type === type)!.children!;
}
const serialize = (nodes: Node[]): Bytes => nodes.flatMap((n) => (n.children ? knest(n.type, serialize(n.children)) : nla(n.type, n.payload!)));

describe('round trips through the codec', () => {
  it('ServiceSpec -> request -> kernel-like reply -> Service', () => {
    fc.assert(
      fc.property(serviceArb, statsArb, fc.boolean(), (g, st, old) => {
        const req = requests.addService(FAMILY, g.spec);
        // The kernel answers with the entry as stored: the same attributes,
        // the hashed flag set, and its counters (only 32-bit ones on old kernels).
        const entry = requestNest(req.message, 1).map((n) =>
          n.type === 7 ? { ...n, payload: [...u32((n.payload![0]! | (n.payload![1]! << 8) | (n.payload![2]! << 16) | (n.payload![3]! << 24)) | 2), ...n.payload!.slice(4)] } : n,
        );
        const values = old ? st.map((v, i) => (i === 3 || i === 4 ? v : v & 0xffffffffn)) : st;
        const reply = knest(1, serialize(entry), old ? stats32(10, values) : [...stats32(10, values), ...stats64(12, values)]);
        const svc = serviceOf(reply);
        const { address, ...rest } = svc;
        expect(rest).toEqual(expectedService(g, statsOf(values)));
        if (g.addr) expect(addressBytes(address!)).toEqual(g.addr);
        else expect(address).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('DestinationSpec -> request -> kernel-like reply -> Destination', () => {
    const tunnelArb: fc.Arbitrary<TunnelSettings> = fc.oneof(
      fc.record({ type: fc.constant('ipip' as const), port: fc.constantFrom(undefined, 0), checksum: fc.constantFrom(undefined, 'none' as const) }),
      fc.record({ type: fc.constant('gue' as const), port: fc.integer({ min: 1, max: 65535 }), checksum: fc.constantFrom(undefined, 'none' as const, 'csum' as const, 'remcsum' as const) }),
      fc.record({ type: fc.constant('gre' as const), port: fc.constantFrom(undefined, 0), checksum: fc.constantFrom(undefined, 'none' as const, 'csum' as const, 'remcsum' as const) }),
    ).map((t) => Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) as unknown as TunnelSettings);
    const destArb = fc.record({
      address: anyAddress,
      port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
      forwarding: fc.option(fc.constantFrom<Forwarding>('masq', 'route', 'tunnel', 'local', 'bypass'), { nil: undefined }),
      weight: fc.option(fc.integer({ min: 0, max: 0x7fffffff }), { nil: undefined }),
      thresholds: fc.option(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })), { nil: undefined }),
      tunnel: fc.option(tunnelArb, { nil: undefined }),
    });
    const counters = fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(serviceArb, destArb, counters, statsArb, (g, d, conns, st) => {
        const forwarding = d.tunnel ? 'tunnel' : d.forwarding;
        const [lower, upper] = d.thresholds ? [Math.min(...d.thresholds), Math.max(...d.thresholds)] : [undefined, undefined];
        const spec: DestinationSpec = { address: d.address.text };
        if (d.port !== undefined) spec.port = d.port;
        if (forwarding !== undefined) spec.forwarding = forwarding;
        if (d.weight !== undefined) spec.weight = d.weight;
        if (upper !== undefined) spec.upperThreshold = upper;
        if (lower !== undefined) spec.lowerThreshold = lower;
        if (d.tunnel) spec.tunnel = d.tunnel;
        const req = requests.addDestination(FAMILY, g.spec, spec);
        // The kernel's entry: what we sent, tunnel attributes always (zero by
        // default), connection counts and counters.
        const sentDest = requestNest(req.message, 2);
        const has = (t: number) => sentDest.some((n) => n.type === t);
        const reply = knest(2,
          serialize(sentDest),
          has(13) ? [] : [...nla(13, u8(0)), ...nla(14, be16(0)), ...nla(15, u16(0))],
          nla(7, u32(conns[0]!)), nla(8, u32(conns[1]!)), nla(9, u32(conns[2]!)),
          stats32(10, st), stats64(12, st));
        const got = destinationOf(reply, g.family);
        const svcPort = 'port' in g.spec ? g.spec.port : 0;
        const fwd = forwarding ?? 'route';
        const want: Destination = {
          family: d.address.family,
          address: got.address,
          port: d.port ?? svcPort,
          forwarding: fwd,
          weight: d.weight ?? 1,
          upperThreshold: upper ?? 0,
          lowerThreshold: lower ?? 0,
          activeConnections: conns[0]!,
          inactiveConnections: conns[1]!,
          persistentConnections: conns[2]!,
          stats: statsOf(st),
        };
        if (fwd === 'tunnel') want.tunnel = { type: d.tunnel?.type ?? 'ipip', port: d.tunnel?.port ?? 0, checksum: d.tunnel?.checksum ?? 'none' };
        expect(got).toEqual(want);
        expect(addressBytes(got.address)).toEqual(d.address.bytes);
      }),
      RUNS,
    );
  });

  it('DaemonSpec -> request -> Daemon', () => {
    const daemonArb = fc.record({
      state: fc.constantFrom('master' as const, 'backup' as const),
      interface: fc.stringMatching(/^[A-Za-z0-9._-]{1,15}$/),
      syncId: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
      syncMaxLen: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
      // An all-zero IPv6 group reads as none (old kernels send one): left out here.
      mcastGroup: fc.option(multicast, { nil: undefined }),
      mcastPort: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
      mcastTtl: fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(daemonArb, (d) => {
        const spec = Object.fromEntries(Object.entries({ ...d, mcastGroup: d.mcastGroup?.text }).filter(([, v]) => v !== undefined)) as unknown as DaemonSpec;
        const req = requests.startDaemon(FAMILY, spec);
        const got = decodeDaemon(decodeGenl(parseMessages(req.message)[0]!, 'daemon').attrs);
        const { mcastGroup, ...rest } = got;
        expect(rest).toEqual(Object.fromEntries(Object.entries({
          state: d.state, interface: d.interface, syncId: d.syncId ?? 0, syncMaxLen: d.syncMaxLen, mcastPort: d.mcastPort, mcastTtl: d.mcastTtl,
        }).filter(([, v]) => v !== undefined)));
        if (d.mcastGroup) expect(addressBytes(mcastGroup!)).toEqual(d.mcastGroup.bytes);
        else expect(mcastGroup).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('Timeouts -> request -> Timeouts', () => {
    const t = fc.option(fc.integer({ min: 0, max: 0x7fffffff }), { nil: undefined });
    fc.assert(
      fc.property(t, t, t, (tcp, tcpFin, udp) => {
        const spec = Object.fromEntries(Object.entries({ tcp, tcpFin, udp }).filter(([, v]) => v !== undefined));
        const req = requests.setTimeouts(FAMILY, spec);
        expect(decodeTimeouts(decodeGenl(parseMessages(req.message)[0]!, 't').attrs)).toEqual({ tcp: tcp ?? 0, tcpFin: tcpFin ?? 0, udp: udp ?? 0 });
      }),
      RUNS,
    );
  });
});

// ---- robustness ------------------------------------------------------------

/** Runs `fn`; it may return anything, or throw only an IpvsError of kind 'decode'. */
function cleanly(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof IpvsError) || e.kind !== 'decode' || e.code !== 'EDECODE') throw e;
  }
}

/** Random attribute trees: random types (mostly the IPVS ones) and payloads of telling sizes. */
const attrTree: fc.Arbitrary<Bytes> = fc.letrec<{ attrs: Bytes; attr: Bytes }>((tie) => ({
  attr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(fc.integer({ min: 0, max: 16 }), fc.oneof(
      fc.uint8Array({ maxLength: 24 }).map((b) => [...b]),
      fc.constantFrom(1, 2, 4, 8, 16).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => [...b])),
    ), fc.boolean()).map(([t, p, flag]) => nla(t, p, flag ? 0x8000 : 0)),
    fc.tuple(fc.integer({ min: 0, max: 16 }), tie('attrs')).map(([t, children]) => knest(t, children)),
  ),
  attrs: fc.array(tie('attr'), { maxLength: 6 }).map((a) => a.flat()),
})).attrs;

/** Random bytes, sometimes cut or bit-flipped from a plausible tree. */
const fuzzBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  attrTree.map((b) => Uint8Array.from(b)),
  fc.tuple(attrTree, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, cut, at, x]) => {
    const out = Uint8Array.from(b.slice(0, b.length ? cut % (b.length + 1) : 0));
    if (out.length) out[at % out.length] = out[at % out.length]! ^ x;
    return out;
  }),
);

function decodeEverything(data: Uint8Array): void {
  cleanly(() => {
    const a = new AttributeDecoder(data, 'fuzz');
    for (let t = 0; t <= 16; t++) {
      const getters: Array<() => unknown> = [() => a.u8(t), () => a.u16(t), () => a.u32(t), () => a.u64(t), () => a.u16be(t),
        () => a.u32be(t), () => a.string(t), () => a.raw(t), () => a.has(t), () => a.nested(t)?.all()];
      for (const get of getters) cleanly(get);
    }
    a.all();
  });
  cleanly(() => serviceOf(data));
  cleanly(() => destinationOf(data, 'inet'));
  cleanly(() => destinationOf(data, 'inet6'));
  cleanly(() => decodeDaemon(new AttributeDecoder(data)));
  cleanly(() => decodeInfo(new AttributeDecoder(data)));
  cleanly(() => decodeTimeouts(new AttributeDecoder(data)));
}

describe('random input never throws anything but a decode error', () => {
  it('AttributeDecoder and the IPVS decoders', () => {
    fc.assert(fc.property(fuzzBytes, decodeEverything), { numRuns: 1000 });
  });

  it('the IPVS decoders on well-formed nests of random attributes', () => {
    // One level deeper than random bytes usually get: a real nest of the
    // right type at the top, random attributes inside.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), attrTree, (type, inner) => decodeEverything(Uint8Array.from(knest(type, inner)))),
      { numRuns: 1000 },
    );
  });

  it('parseMessages, parseError, parseDone and the genl header', () => {
    const header = fc.record({
      type: fc.constantFrom(1, 2, 3, 0x10, 0x1c),
      flags: fc.constantFrom(0, 0x100, 0x200, 0x300, 0x2, 0x22),
    });
    const message = fc.tuple(header, fuzzBytes, fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined })).map(([h, body, lenOverride]) => {
      const b = [...u32(lenOverride ?? 16 + body.length), ...u16(h.type), ...u16(h.flags), ...u32(0), ...u32(0), ...body];
      return Uint8Array.from(b);
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 120 }), message), (data) => {
        let msgs: NetlinkMessage[] = [];
        cleanly(() => {
          msgs = parseMessages(data);
        });
        for (const m of msgs) {
          cleanly(() => parseError(m));
          cleanly(() => parseDone(m));
          cleanly(() => decodeGenl(m, 'fuzz'));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('errors from decoding say they are decode errors and carry no errno', () => {
    let err: unknown;
    try {
      serviceOf([...nla(1, []), 0xff, 0, 1, 0]);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ name: 'IpvsError', kind: 'decode', code: 'EDECODE', errno: 0, operation: 'decode' });
  });
});
