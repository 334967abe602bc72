/**
 * apply's fast ways held to their naive twins: the service index (numbers
 * sorted once) against a Map of identity strings, and the plan's services
 * added whole against the change list spelled out.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ServiceIndex, numericKey } from '../../src/state/service-index.js';
import { canonicalDesired } from '../../src/state/desired.js';
import { diff, planChanges } from '../../src/state/diff.js';
import { checkDesired } from '../../src/state/validate.js';
import { execute } from '../../src/state/apply.js';
import { DrainTracker } from '../../src/state/drain.js';
import { IpvsError } from '../../src/errors.js';
import type { Service } from '../../src/ipvs/types.js';
import type { BatchResult } from '../../src/batch.js';

type Key = { protocol: 'tcp' | 'udp' | 'sctp'; address: string; port: number } | { fwmark: number; family: 'inet' | 'inet6' };

const v4 = fc.tuple(fc.constantFrom(10, 192), fc.nat(3), fc.nat(3), fc.nat(255)).map(([a, b, c, d]) => `${a}.${b}.${c}.${d}`);
const v6 = fc.constantFrom('2001:db8::1', '2001:db8::2', 'fd00::a');
const keyArb: fc.Arbitrary<Key> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ protocol: fc.constantFrom('tcp', 'udp', 'sctp'), address: v4, port: fc.constantFrom(0, 80, 443, 65535) }) },
  { weight: 1, arbitrary: fc.record({ protocol: fc.constantFrom('tcp', 'udp'), address: v6, port: fc.constantFrom(80, 443) }) },
  { weight: 1, arbitrary: fc.record({ fwmark: fc.nat(4), family: fc.constantFrom('inet', 'inet6') }) },
) as fc.Arbitrary<Key>;

const idOf = (k: Key): string => ('fwmark' in k ? `fwm|${k.fwmark}|${k.family}` : `${k.protocol}|${k.address}|${k.port}`);
const listedOf = (k: Key): Service =>
  ('fwmark' in k ? { fwmark: k.fwmark, family: k.family } : { ...k, family: k.address.includes(':') ? 'inet6' : 'inet' }) as unknown as Service;

describe('the service index and its naive twin (a Map of identity strings)', () => {
  const numeric = (k: Key): number => ('fwmark' in k ? -1 : numericKey(k.protocol, k.address, k.port));
  // (sorted: keys in increasing order, as `ipvs export` writes them, take the way without a sort)
  it.each([false, true])('finds the same service for every key, present or not, and the same services listed twice (sorted: %s)', (sorted) => {
    fc.assert(
      fc.property(fc.array(keyArb, { maxLength: 60 }).map((ks) => (sorted ? [...ks].sort((a, b) => numeric(a) - numeric(b)) : ks)), fc.array(keyArb, { maxLength: 20 }), (keys, probes) => {
        const naive = new Map<string, number>();
        const naiveTwins: Array<[number, number]> = [];
        const index = new ServiceIndex(1); // (grows as it is filled)
        const stringTwins: Array<[number, number]> = [];
        keys.forEach((k, i) => {
          const id = idOf(k);
          const first = naive.get(id);
          if (first === undefined) naive.set(id, i);
          else naiveTwins.push([i, first]);
          const n = numeric(k);
          if (n >= 0) index.addKey(i, n);
          else {
            const prev = index.addId(i, id);
            if (prev >= 0) stringTwins.push([i, prev]);
          }
        });
        const twins = [...index.seal(), ...stringTwins].sort((a, b) => a[0] - b[0]);
        expect(twins).toEqual(naiveTwins);
        for (const k of [...keys, ...probes]) expect(index.findListed(listedOf(k))).toBe(naive.get(idOf(k)) ?? -1);
      }),
      { numRuns: 300 },
    );
  });

  it('gives distinct numbers to distinct IPv4 keys at the edges, and none to others', () => {
    const a = numericKey('sctp', '255.255.255.255', 65535);
    expect(Number.isSafeInteger(a)).toBe(true);
    expect(new Set([a, numericKey('udp', '255.255.255.255', 65535), numericKey('sctp', '255.255.255.254', 65535), numericKey('sctp', '255.255.255.255', 65534), numericKey('tcp', '0.0.0.0', 0)]).size).toBe(5);
    expect([numericKey('tcp', '2001:db8::1', 80), numericKey('icmp', '10.0.0.1', 80), numericKey('tcp', '10.0.0.1', 70000), numericKey('tcp', '10.0.0.01', 80)]).toEqual([-1, -1, -1, -1]);
  });
});

describe('services added whole and their spelled-out changes', () => {
  it('a canonical service is used as the caller wrote it; others are copied, never changed', () => {
    const plain = { protocol: 'tcp' as const, address: '10.0.0.1', port: 80, destinations: [{ address: '10.1.0.2' }, { address: '10.1.0.10' }] };
    expect(canonicalDesired(plain)).toBe(plain);
    const unsorted = { protocol: 'tcp' as const, address: '2001:DB8::1', port: 80, destinations: [{ address: '10.1.0.10', port: 81 }, { address: '10.1.0.10' }, { address: '2001:DB8::2', forwarding: 'tunnel' as const }] };
    const before = JSON.stringify(unsorted);
    const c = canonicalDesired(unsorted);
    expect(c).not.toBe(unsorted);
    expect(JSON.stringify(unsorted)).toBe(before);
    expect(c).toMatchObject({ address: '2001:db8::1', destinations: [{ address: '10.1.0.10' }, { address: '10.1.0.10', port: 81 }, { address: '2001:db8::2' }] });
  });

  it('the plan lists each added service, then the other servers, then its servers in reverse order, every setting spelled out', () => {
    const wanted = checkDesired({ services: [{ protocol: 'udp', address: '10.0.0.2', port: 53, scheduler: 'rr', destinations: [{ address: '10.1.0.3', weight: 2 }, { address: '10.1.0.2' }] }, { fwmark: 7 }] });
    const changes = planChanges(diff({ current: [], desired: wanted, owned: () => true, options: {} }));
    expect(changes).toEqual([
      { op: 'addService', service: { protocol: 'udp', address: '10.0.0.2', port: 53, scheduler: 'rr', schedulerFlags: [], persistent: false, netmask: '255.255.255.255', onePacket: false } },
      { op: 'addService', service: { fwmark: 7, family: 'inet', scheduler: 'wlc', schedulerFlags: [], persistent: false, netmask: '255.255.255.255', onePacket: false } },
      { op: 'addDestination', service: { protocol: 'udp', address: '10.0.0.2', port: 53 }, destination: { address: '10.1.0.3', port: 53, forwarding: 'route', weight: 2, upperThreshold: 0, lowerThreshold: 0 } },
      { op: 'addDestination', service: { protocol: 'udp', address: '10.0.0.2', port: 53 }, destination: { address: '10.1.0.2', port: 53, forwarding: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 } },
    ]);
  });
});

describe('apply of services added whole and its naive twin (one result per spelled-out change)', () => {
  /** Batches that record what is queued, in order, and refuse the adds of `refused` services. */
  function recorder(refused: string) {
    const sent: string[] = [];
    const client = {
      batch: () => {
        const ops: Array<[string, unknown, unknown]> = [];
        const b = {
          addService: (s: unknown) => (ops.push(['addService', s, undefined]), b),
          addDestination: (s: unknown, d: unknown) => (ops.push(['addDestination', s, d]), b),
          run: async (): Promise<BatchResult[]> =>
            ops.map(([op, s, d]) => {
              const svc = s as { address: string };
              sent.push(`${op} ${svc.address}${d ? ` ${(d as { address: string }).address}` : ''}`);
              return op === 'addService' && svc.address === refused
                ? { ok: false, operation: op, error: new IpvsError(`${op}: No such file or directory (ENOENT)`, { kind: 'kernel', errno: 2, operation: op }) }
                : { ok: true, operation: op };
            }),
        };
        return b;
      },
    };
    return { client, sent };
  }

  it('sends each service, then the servers of those added, and reports each change of the plan in its order', async () => {
    const state = { services: ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((address, i) => ({ protocol: 'tcp' as const, address, port: 80, destinations: [{ address: `10.1.${i}.2` }, { address: `10.1.${i}.1` }] })) };
    const plan = diff({ current: [], desired: checkDesired(state), owned: () => true, options: {} });
    const { client, sent } = recorder('10.0.0.2');
    const r = await execute(client as never, plan, new DrainTracker(client as never));
    expect(sent).toEqual([
      'addService 10.0.0.1', 'addService 10.0.0.2', 'addService 10.0.0.3',
      'addDestination 10.0.0.1 10.1.0.2', 'addDestination 10.0.0.1 10.1.0.1', 'addDestination 10.0.0.3 10.1.2.2', 'addDestination 10.0.0.3 10.1.2.1',
    ]);
    expect({ sent: r.sent, failed: r.failed }).toEqual({ sent: 7, failed: 3 });
    // the naive twin: the plan spelled out, one result each, in its order
    expect(r.changes.map((c) => c.change)).toEqual(planChanges(plan));
    expect(r.changes.map((c) => (c.ok ? 'ok' : 'error' in c ? c.error.code : c.skipped))).toEqual([
      'ok', 'ENOENT', 'ok', 'ok', 'ok', 'its virtual service could not be added', 'its virtual service could not be added', 'ok', 'ok',
    ]);
    expect(r.changes).toBe(r.changes); // (made once)
    expect(JSON.parse(JSON.stringify(r)).changes).toHaveLength(9);
  });
});
