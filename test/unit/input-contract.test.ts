// The input contract, by property: whatever a caller passes to any public
// method of a handle, a batch or Ipvs.open (any JS value, deep and cyclic
// objects, bigints, symbols, proxies and getters that throw, null-prototype
// objects, arrays where objects are expected, valid specs with one field
// replaced), the call either goes through or fails with an IpvsError; an
// input error names its field and nothing reached the kernel.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeValue } from '../../src/errors.js';
import { Ipvs, IpvsError } from '../../src/index.js';
import { type FakeKernel, fakeKernel } from '../helpers/fake-kernel.js';

// --- the fake kernel (test/helpers/fake-kernel.ts, the one client-level fake) ---

/** Messages a fake kernel has been sent, over all its sockets. */
const sentTo = (kernel: FakeKernel): number => kernel.sockets.reduce((n, s) => n + s.sent.length, 0);

/** A handle on a fake kernel, with the count of messages it has been sent since the last reset. */
async function openOnFakeKernel(): Promise<{ ipvs: Ipvs; sent: () => number; reset: () => void }> {
  const kernel = fakeKernel();
  const ipvs = await Ipvs.open({ nativeBinding: kernel });
  let base = sentTo(kernel);
  return { ipvs, sent: () => sentTo(kernel) - base, reset: () => void (base = sentTo(kernel)) };
}

// Options without nativeBinding load the addon the library finds by itself:
// in the open test below, that is a fake kernel too, never the real addon.
const defaults = vi.hoisted(() => ({ binding: undefined as unknown }));
vi.mock('../../src/native.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/native.js')>();
  return { ...m, loadNative: (b?: Parameters<typeof m.loadNative>[0]) => (b === undefined && defaults.binding ? (defaults.binding as ReturnType<typeof m.loadNative>) : m.loadNative(b)) };
});

// --- values ---
// (each boxed as { v }: fast-check probes the values it makes, which a
// revoked or throwing proxy would not survive)
type Box = { v: unknown };
const box = (a: fc.Arbitrary<unknown>): fc.Arbitrary<Box> => a.map((v) => ({ v }), (b) => (b as Box).v);
const made = (make: () => unknown): fc.Arbitrary<Box> => fc.constant(null).map(() => ({ v: make() }));

const boom = () => {
  throw new Error('boom');
};
/** A proxy whose every trap throws (typeof still says 'object'). */
const throwingProxy = () =>
  new Proxy({}, { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom });
const revokedProxy = () => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
};
const cyclic = () => {
  const o: Record<string, unknown> = { a: 1n };
  o.self = o;
  return o;
};
let depth = 0;
const deep = () => {
  let o: Record<string, unknown> = { end: Symbol('x') };
  for (let i = 0; i < 2000 + (depth++ % 7); i++) o = { o };
  return o;
};

/** Never a valid value of any field. */
const badValue: fc.Arbitrary<Box> = fc.oneof(
  box(fc.bigInt()),
  box(fc.string({ maxLength: 5 }).map((s) => Symbol(s))),
  made(throwingProxy),
  made(revokedProxy),
);

/** Anything at all (some of it valid where it lands). */
const anyValue: fc.Arbitrary<Box> = fc.oneof(
  { weight: 4, arbitrary: box(fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withDate: true, withObjectString: true, maxDepth: 4 })) },
  { weight: 2, arbitrary: badValue },
  { weight: 1, arbitrary: box(fc.constantFrom<unknown>(Object.create(null), [], [{}], () => 1, '', 'toString', '__proto__', -0, NaN, Infinity, 2 ** 32, 1.5)) },
  { weight: 1, arbitrary: made(deep) },
  { weight: 1, arbitrary: made(cyclic) },
);

/** Never a valid argument where an object is needed (nor where one may be left out). */
const badArgument: fc.Arbitrary<Box> = fc.oneof(
  badValue,
  box(fc.constantFrom<unknown>(null, 0, 1, 'tcp', '10.0.0.1', true, () => ({ protocol: 'tcp' }))),
  fc.array(anyValue, { maxLength: 3 }).map((a) => ({ v: a.map((b) => b.v) })),
);

// --- valid inputs and how to spoil one field ---

type Spec = Record<string, unknown>;
const SERVICES: Spec[] = [
  { protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr', persistent: 300, netmask: '255.255.255.0', onePacket: false, schedulerFlags: ['sh-port'], pe: 'sip' },
  { protocol: 'udp', address: '2001:db8::1', port: 53, netmask: 64, persistent: true },
  { fwmark: 7, family: 'inet6', scheduler: 'wlc' },
];
/** Keys and real server keys: methods that take them read nothing else. */
const KEYS: Spec[] = [{ protocol: 'sctp', address: '10.0.0.2', port: 9 }, { protocol: 'udp', address: '2001:db8::1', port: 53 }, { fwmark: 1, family: 'inet' }];
const DEST_KEYS: Spec[] = [{ address: '10.1.0.2', port: 8080 }, { address: '2001:db8::5' }];
const DESTS: Spec[] = [
  { address: '10.1.0.2', port: 8080, forwarding: 'masq', weight: 2, upperThreshold: 10, lowerThreshold: 5 },
  { address: '10.1.0.3', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } },
];
const DAEMON: Spec = { state: 'backup', interface: 'eth0', syncId: 3, syncMaxLen: 1400, mcastGroup: '239.0.0.9', mcastPort: 8848, mcastTtl: 2 };
const TIMEOUTS: Spec = { tcp: 900, tcpFin: 120, udp: 300 };

/** Every field path of a spec the checks read (nested objects included). */
function paths(spec: Spec, prefix = ''): string[] {
  return Object.entries(spec).flatMap(([k, v]) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? [prefix + k, ...paths(v as Spec, `${prefix + k}.`)] : [prefix + k]));
}

/** `spec` with the field at `path` replaced by `value`, or by a getter that throws. */
function spoil(spec: Spec, path: string, value: unknown, getter: boolean): Spec {
  const [head, ...rest] = path.split('.');
  const out: Spec = { ...spec };
  if (rest.length > 0) out[head!] = spoil(spec[head!] as Spec, rest.join('.'), value, getter);
  else if (getter) Object.defineProperty(out, head!, { get: boom, enumerable: true });
  else out[head!] = value;
  return out;
}

/**
 * An input for one argument: `valid` itself (also behind a proxy that
 * throws on anything but reading a field, and with an unknown field added),
 * a field replaced by anything, a field refused for sure (then `refused`
 * names it), or a bad whole argument.
 */
interface Input {
  value: unknown;
  /** The field that must be refused, '' for the argument itself; undefined when the input may be fine. */
  refused?: string;
  /** A valid input, whatever it is wrapped in. */
  clean?: boolean;
}
/** An Input that fast-check can print (its own printer would trip on the proxies). */
function input(value: unknown, more: { refused?: string; clean?: boolean } = {}): Input {
  const i: Input = { value, ...more };
  Object.defineProperty(i, fc.toStringMethod, { value: () => `${describeValue(value)}${more.refused !== undefined ? ` (refused: ${more.refused || 'argument'})` : ''}` });
  return i;
}
function inputs(valids: Spec[], opts: { optional?: boolean } = {}): fc.Arbitrary<Input> {
  const base = fc.constantFrom(...valids);
  return fc.oneof(
    base.map((v) => input(v, { clean: true })),
    base.map((v) => input(new Proxy(v, { has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom }), { clean: true })),
    fc.tuple(base, fc.string({ maxLength: 8 }), anyValue).map(([v, k, x]) => input(k in v || k === '__proto__' ? v : { ...v, [k]: x.v }, { clean: true })),
    base.chain((v) => fc.tuple(fc.constant(v), fc.constantFrom(...paths(v)), anyValue)).map(([v, path, x]) => input(spoil(v, path, x.v, false))),
    base.chain((v) => fc.tuple(fc.constant(v), fc.constantFrom(...paths(v)), badValue, fc.boolean())).map(([v, path, x, getter]) => input(spoil(v, path, x.v, getter), { refused: path })),
    badArgument.map((x) => input(x.v, { refused: '' })),
    ...(opts.optional ? [fc.constant(null).map(() => input(undefined, { clean: true }))] : []),
  );
}

// --- the contract ---

type Outcome = { ok: true } | { ok: false; error: unknown };

/** Runs a call that must return a promise (never throw), and its outcome. */
async function outcome(call: () => Promise<unknown>): Promise<Outcome> {
  let p: Promise<unknown>;
  try {
    p = call();
  } catch (e) {
    throw new Error(`threw instead of rejecting: ${String(e)}`);
  }
  try {
    await p;
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * The contract for one outcome: a failure is an IpvsError; an input error
 * names a field and sent nothing; inputs refused for sure were refused, and
 * naming the field spoiled.
 */
function holds(o: Outcome, sent: number, inputs: Input[], operation?: string): void {
  const refused = inputs.find((i) => i.refused !== undefined)?.refused;
  // (the field is known when every other argument is valid)
  const named = refused && inputs.every((i) => i.clean || i.refused !== undefined) && inputs.filter((i) => i.refused !== undefined).length === 1;
  if (o.ok) {
    expect(refused, 'a bad input was taken').toBeUndefined();
    return;
  }
  const e = o.error;
  expect(e, String(e)).toBeInstanceOf(IpvsError);
  if (!(e instanceof IpvsError)) return;
  if (e.kind !== 'input') {
    expect(refused, `a bad input reached the kernel: ${e.message}`).toBeUndefined();
    return;
  }
  expect({ code: e.code, errno: e.errno, sent }).toEqual({ code: 'EINVAL', errno: 22, sent: 0 });
  expect(typeof e.field === 'string' && e.field.length > 0, `no field: ${e.message}`).toBe(true);
  expect(e.message.length).toBeGreaterThan(0);
  if (operation) expect(e.operation).toBe(operation);
  if (named) expect(e.field === refused || e.field!.startsWith(`${refused}.`), `${e.field} for ${refused}: ${e.message}`).toBe(true);
}

const RUNS = { numRuns: 150 };

describe('every public method refuses bad input with an IpvsError naming the field, and sends nothing', () => {
  let k: Awaited<ReturnType<typeof openOnFakeKernel>>;
  beforeAll(async () => {
    k = await openOnFakeKernel();
  });
  afterAll(() => k.ipvs.close());

  const service = inputs(SERVICES);
  const key = inputs(KEYS);
  const dest = inputs(DESTS);
  const destKey = inputs(DEST_KEYS);
  const direct: Array<[string, fc.Arbitrary<Input[]>, (ipvs: Ipvs, a: unknown[]) => Promise<unknown>]> = [
    ['addService', fc.tuple(service), (i, [a]) => i.addService(a as never)],
    ['updateService', fc.tuple(service), (i, [a]) => i.updateService(a as never)],
    ['deleteService', fc.tuple(key), (i, [a]) => i.deleteService(a as never)],
    ['getService', fc.tuple(key), (i, [a]) => i.getService(a as never)],
    ['listServices', fc.tuple(inputs([{ withDestinations: true }], { optional: true })), (i, [a]) => i.listServices(a as never)],
    ['addDestination', fc.tuple(key, dest), (i, [a, b]) => i.addDestination(a as never, b as never)],
    ['updateDestination', fc.tuple(key, dest), (i, [a, b]) => i.updateDestination(a as never, b as never)],
    ['deleteDestination', fc.tuple(key, destKey), (i, [a, b]) => i.deleteDestination(a as never, b as never)],
    ['listDestinations', fc.tuple(key), (i, [a]) => i.listDestinations(a as never)],
    ['zero', fc.tuple(inputs(KEYS, { optional: true })), (i, [a]) => i.zero(a as never)],
    ['setTimeouts', fc.tuple(inputs([TIMEOUTS])), (i, [a]) => i.setTimeouts(a as never)],
    ['startDaemon', fc.tuple(inputs([DAEMON, { state: 'master', interface: 'lo' }])), (i, [a]) => i.startDaemon(a as never)],
    ['stopDaemon', fc.tuple(inputs([{ state: 'master' }])), (i, [a]) => i.stopDaemon(a as never)],
  ];

  it('the cases found by hand: bad scheduler flags and bigints anywhere', async () => {
    const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 };
    const cases: Array<[() => Promise<unknown>, string, string]> = [
      [() => k.ipvs.addService({ ...svc, schedulerFlags: true } as never), 'addService', 'schedulerFlags'],
      [() => k.ipvs.addService({ ...svc, schedulerFlags: 3 } as never), 'addService', 'schedulerFlags'],
      [() => k.ipvs.addService({ ...svc, netmask: 24n } as never), 'addService', 'netmask'],
      [() => k.ipvs.addService({ ...svc, address: 10n } as never), 'addService', 'address'],
      [() => k.ipvs.addService({ ...svc, scheduler: 1n } as never), 'addService', 'scheduler'],
      [() => k.ipvs.addDestination(svc as never, { address: '10.1.0.1', forwarding: 1n } as never), 'addDestination', 'forwarding'],
      [() => k.ipvs.startDaemon({ state: 1n, interface: 'eth0' } as never), 'startDaemon', 'state'],
      [() => k.ipvs.updateService({ ...svc, persistent: 5n } as never), 'updateService', 'persistent'],
    ];
    for (const [call, operation, field] of cases) {
      k.reset();
      const e = await call().then(() => undefined, (x: unknown) => x);
      expect(e, `${operation} ${field}`).toBeInstanceOf(IpvsError);
      expect(e).toMatchObject({ kind: 'input', code: 'EINVAL', operation, field });
      expect(k.sent()).toBe(0);
    }
    const e = await k.ipvs.addService({ ...svc, netmask: 24n } as never).catch((x: IpvsError) => x);
    expect(e!.message).toBe('addService: netmask 24n is not a dotted IPv4 netmask');
  });

  for (const [name, args, call] of direct) {
    it(name, async () => {
      await fc.assert(
        fc.asyncProperty(args, async (given) => {
          k.reset();
          const o = await outcome(() => call(k.ipvs, given.map((g) => g.value)));
          holds(o, k.sent(), given, name);
        }),
        RUNS,
      );
    });
  }

  it('batch options', () => {
    fc.assert(
      fc.property(inputs([{ stopOnError: true }], { optional: true }), (given) => {
        k.reset();
        let o: Outcome;
        try {
          k.ipvs.batch(given.value as never);
          o = { ok: true };
        } catch (error) {
          o = { ok: false, error };
        }
        holds(o, k.sent(), [given], 'batch');
      }),
      RUNS,
    );
  });

  const queued: Array<[string, fc.Arbitrary<Input[]>, (b: ReturnType<Ipvs['batch']>, a: unknown[]) => unknown]> = [
    ['addService', fc.tuple(service), (b, [a]) => b.addService(a as never)],
    ['updateService', fc.tuple(service), (b, [a]) => b.updateService(a as never)],
    ['deleteService', fc.tuple(key), (b, [a]) => b.deleteService(a as never)],
    ['addDestination', fc.tuple(key, dest), (b, [a, c]) => b.addDestination(a as never, c as never)],
    ['updateDestination', fc.tuple(key, dest), (b, [a, c]) => b.updateDestination(a as never, c as never)],
    ['deleteDestination', fc.tuple(key, destKey), (b, [a, c]) => b.deleteDestination(a as never, c as never)],
    ['zero', fc.tuple(inputs(KEYS, { optional: true })), (b, [a]) => b.zero(a as never)],
    ['setTimeouts', fc.tuple(inputs([TIMEOUTS])), (b, [a]) => b.setTimeouts(a as never)],
  ];

  for (const [name, args, queue] of queued) {
    it(`batch ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(args, fc.boolean(), async (given, stopOnError) => {
          k.reset();
          const b = k.ipvs.batch({ stopOnError });
          queue(b, given.map((g) => g.value));
          const results = await b.run();
          expect(results).toHaveLength(1);
          const r = results[0]!;
          expect(r.operation).toBe(name);
          holds(r.ok ? { ok: true } : { ok: false, error: 'error' in r ? r.error : r }, k.sent(), given, name);
        }),
        RUNS,
      );
    });
  }
});

describe('Ipvs.open refuses bad options with an IpvsError naming the option, and opens nothing', () => {
  const kernel = fakeKernel();
  beforeAll(() => void (defaults.binding = kernel));
  afterAll(() => void (defaults.binding = undefined));

  it('open', async () => {
    // (the addon as a bundler loads it: an object whose NetlinkSocket is the socket class)
    const valid: Spec = { nativeBinding: { NetlinkSocket: kernel.NetlinkSocket }, timeoutMs: 2000, netns: '/proc/self/ns/net', debug: false };
    const bindings = fc.constantFrom<unknown>('', '/nonexistent/ipvs.node', 'node:os');
    const options = fc.oneof(
      inputs([valid, { netns: 'blue', debug: () => undefined }], { optional: true }),
      fc.oneof(badValue, box(bindings)).map((x) => input({ ...valid, nativeBinding: x.v }, { refused: 'nativeBinding' })),
    );
    await fc.assert(
      fc.asyncProperty(options, async (given: Input) => {
        const before = sentTo(kernel);
        const o = await outcome(() => Ipvs.open(given.value as never).then((ipvs) => ipvs.close()));
        holds(o, sentTo(kernel) - before, [given], 'open');
      }),
      RUNS,
    );
  });
});
