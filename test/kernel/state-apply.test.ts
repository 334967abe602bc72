/**
 * Declarative apply on the real kernel: round trip, idempotence (requests
 * counted), minimality (one change per changed field), ownership, refusals
 * mid-apply and before sending, and order across histories.
 */
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Ipvs, StateError, type DesiredState, type DesiredService } from '../../src/index.js';
import { createNetns, useNetns } from '../helpers/netns.js';

const t = useNetns('state');
beforeEach(async () => {
  await t.ipvs.flush();
});

const saved = (ns = t.ns) => ns.exec('ipvsadm', ['-Sn']).split('\n').filter(Boolean).sort();

/** Counts what a handle is asked to do: listings, batches and the requests in them, single calls. */
function counting(ipvs: Ipvs) {
  const n = { listings: 0, batches: 0, requests: 0, calls: 0 };
  const listServices = ipvs.listServices.bind(ipvs);
  const batch = ipvs.batch.bind(ipvs);
  ipvs.listServices = (o) => (n.listings++, listServices(o));
  ipvs.batch = (o) => {
    n.batches++;
    const b = batch(o);
    const run = b.run.bind(b);
    b.run = () => ((n.requests += b.size), run());
    return b;
  };
  for (const m of ['addService', 'updateService', 'deleteService', 'addDestination', 'updateDestination', 'deleteDestination', 'flush'] as const) {
    const f = (ipvs[m] as (...a: unknown[]) => Promise<void>).bind(ipvs);
    (ipvs as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => (n.calls++, f(...a));
  }
  return n;
}

/** Every kind of setting the file format has. */
const RICH: DesiredState = {
  services: [
    {
      protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'wrr', persistent: 300, netmask: '255.255.255.0',
      destinations: [
        { address: '10.1.0.2', port: 8080, forwarding: 'masq', weight: 3, upperThreshold: 100, lowerThreshold: 10 },
        { address: '10.1.0.3', port: 8080, forwarding: 'masq', weight: 0 },
        { address: '10.1.0.4', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } },
        { address: '10.1.0.5', forwarding: 'tunnel', tunnel: { type: 'gre', checksum: 'remcsum' } },
        { address: '10.1.0.6', forwarding: 'tunnel' },
      ],
    },
    { protocol: 'udp', address: '10.0.0.1', port: 53, scheduler: 'sh', schedulerFlags: ['sh-port'], onePacket: true, destinations: [{ address: '10.1.0.2' }, { address: '10.1.0.3', weight: 2 }] },
    { protocol: 'udp', address: '10.0.0.2', port: 5060, scheduler: 'rr', persistent: 60, pe: 'sip', destinations: [{ address: '10.1.0.9', forwarding: 'masq' }] },
    { protocol: 'sctp', address: '2001:db8::1', port: 3868, scheduler: 'mh', schedulerFlags: ['mh-fallback', 'mh-port'], persistent: true, netmask: 64, destinations: [{ address: '2001:db8:1::2' }, { address: '2001:db8:1::10', port: 3869, forwarding: 'masq' }] },
    { fwmark: 7, scheduler: 'lc', destinations: [{ address: '10.1.0.7', weight: 5 }] },
    { fwmark: 8, family: 'inet6', scheduler: 'wlc', destinations: [{ address: '2001:db8:1::7', forwarding: 'masq' }] },
    { protocol: 'tcp', address: '10.0.0.3', port: 443 },
  ],
};

describe('apply', () => {
  it('round trip: a state applied, exported and applied to an empty namespace is the same state (ipvsadm -Sn)', async () => {
    const r = await t.ipvs.apply(RICH);
    expect(r.failed, JSON.stringify(r.changes.filter((c) => !c.ok))).toBe(0);
    const exported = await t.ipvs.snapshot();
    const other = createNetns('state-rt');
    const ipvs = await other.open();
    try {
      const r2 = await ipvs.apply(exported);
      expect(r2.failed).toBe(0);
      expect(saved(other)).toEqual(saved());
      expect(await ipvs.snapshot()).toEqual(exported);
      // and the export holds every setting asked for (thresholds are not in -Sn)
      expect(exported.services.find((s) => 'port' in s && s.port === 80)!.destinations![0]).toEqual({ address: '10.1.0.2', port: 8080, forwarding: 'masq', weight: 3, upperThreshold: 100, lowerThreshold: 10 });
    } finally {
      ipvs.close();
      other.remove();
    }
  });

  it('idempotence: the second plan is empty and the second apply sends nothing (one listing each)', async () => {
    await t.ipvs.apply(RICH);
    const n = counting(t.ipvs);
    expect((await t.ipvs.plan(RICH)).changes).toEqual([]);
    const r = await t.ipvs.apply(RICH);
    expect(r).toMatchObject({ changes: [], sent: 0, failed: 0 });
    expect(n).toEqual({ listings: 2, batches: 0, requests: 0, calls: 0 });
    // and the export, applied back, is a no-op too
    expect((await t.ipvs.plan(await t.ipvs.snapshot())).changes).toEqual([]);
  });

  const base: DesiredService = {
    protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr',
    destinations: [{ address: '10.1.0.2', forwarding: 'masq' }, { address: '10.1.0.3', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } }],
  };
  const withDest = (i: number, d: object): DesiredService => ({ ...base, destinations: base.destinations!.map((x, j) => (j === i ? { ...x, ...d } : x)) });
  const MINIMAL: [string, DesiredService, string, string[]][] = [
    ['scheduler', { ...base, scheduler: 'wrr' }, 'updateService', ['scheduler']],
    ['persistence', { ...base, persistent: 120 }, 'updateService', ['persistent']],
    ['netmask', { ...base, persistent: 120, netmask: 24 }, 'updateService', ['persistent', 'netmask']],
    ['scheduler flags', { ...base, schedulerFlags: ['flag-3'] }, 'updateService', ['schedulerFlags']],
    ['persistence engine', { ...base, persistent: 60, pe: 'sip' }, 'updateService', ['persistent', 'pe']],
    ['weight', withDest(0, { weight: 5 }), 'updateDestination', ['weight']],
    ['forwarding', withDest(0, { forwarding: 'route' }), 'updateDestination', ['forwarding']],
    ['thresholds', withDest(0, { upperThreshold: 9 }), 'updateDestination', ['upperThreshold']],
    ['tunnel settings', withDest(1, { tunnel: { type: 'gue', port: 6081, checksum: 'remcsum' } }), 'updateDestination', ['tunnel']],
    ['tunnel type', withDest(1, { tunnel: { type: 'gre' } }), 'updateDestination', ['tunnel']],
    ['set of real servers (one that sorts first added)', { ...base, destinations: [...base.destinations!, { address: '10.1.0.1' }] }, 'addDestination', []],
    ['a removed real server', { ...base, destinations: [base.destinations![1]!] }, 'deleteDestination', []],
    ['a new service', { ...base, port: 81 }, 'addService', []],
  ];
  it('a real server that sorts after listed ones is added with the re-adds that keep the order, marked as such', async () => {
    await t.ipvs.apply({ services: [base] });
    const p = await t.ipvs.plan({ services: [{ ...base, destinations: [...base.destinations!, { address: '10.1.0.9' }] }] });
    expect(p.changes.filter((c) => !('reason' in c && c.reason))).toEqual([{ op: 'addDestination', service: expect.anything(), destination: expect.objectContaining({ address: '10.1.0.9' }) }]);
    expect(p.changes.map((c) => `${c.op} ${'destination' in c ? c.destination.address : ''}`)).toEqual([
      'deleteDestination 10.1.0.3', 'deleteDestination 10.1.0.2', 'addDestination 10.1.0.9', 'addDestination 10.1.0.3', 'addDestination 10.1.0.2',
    ]);
  });

  it.each(MINIMAL)('minimality: a changed %s is exactly one %s', async (_name, changed, op, fields) => {
    await t.ipvs.apply({ services: [base] });
    const p = await t.ipvs.plan({ services: [changed] });
    if (op === 'addService') {
      // (the port is the service's identity: the old one goes, the new one comes with its servers)
      expect(p.changes.map((c) => c.op)).toEqual(['deleteService', 'addService', 'addDestination', 'addDestination']);
    } else {
      expect(p.changes).toHaveLength(1);
      expect(p.changes[0]).toMatchObject({ op, ...(fields.length ? { fields } : {}) });
    }
    const n = counting(t.ipvs);
    const r = await t.ipvs.apply({ services: [changed] });
    expect(r.failed, JSON.stringify(r.changes)).toBe(0);
    expect(n.requests).toBe(p.changes.length);
    expect((await t.ipvs.plan({ services: [changed] })).changes).toEqual([]);
  });

  it('ownership: services outside the owned CIDRs and fwmarks survive an apply of an empty state', async () => {
    await t.ipvs.apply(RICH);
    const before = saved();
    const r = await t.ipvs.apply({ services: [] }, { owns: { cidrs: ['10.0.0.1/32'], fwmarks: [{ from: 8, to: 100 }] } });
    expect(r.changes.map((c) => c.change.op)).toEqual(['deleteService', 'deleteService', 'deleteService']);
    const after = saved();
    expect(after.filter((l) => l.startsWith('-A'))).toEqual(['-A -f 7 -s lc', '-A -t 10.0.0.3:443 -s wlc', '-A -u 10.0.0.2:5060 -s rr -p 60 --pe sip', '-A --sctp-service [2001:db8::1]:3868 -s mh -p 360 -M 64 -b mh-fallback,mh-port'].sort());
    expect(after.every((l) => before.includes(l))).toBe(true);
    // a predicate owns exactly what it accepts
    await t.ipvs.apply({ services: [] }, { owns: { predicate: (k) => 'protocol' in k && k.protocol === 'sctp' } });
    expect(saved().some((l) => l.includes('--sctp-service'))).toBe(false);
    expect(saved().filter((l) => l.startsWith('-A'))).toHaveLength(3);
    // a desired service outside what is owned is refused before anything is sent
    await expect(t.ipvs.apply({ services: [base] }, { owns: { cidrs: ['192.168.0.0/16'] } })).rejects.toThrow(/services\[0\]: virtual service TCP 10.0.0.1:80 is outside what this apply owns/);
  });

  it('refuses an invalid state before sending anything, naming every bad entry', async () => {
    const n = counting(t.ipvs);
    const bad = {
      services: [
        { protocol: 'tcp', address: '10.0.0.1', port: 80, destinations: [{ address: '10.1.0.2', weight: -1 }, { address: '10.1.0.3' }, { address: '10.1.0.3' }] },
        { protocol: 'tcp', address: '10.0.0.300', port: 80 },
        { protocol: 'tcp', address: '10.0.0.1', port: 80 },
        { fwmark: 3, schedular: 'rr' },
      ],
    } as unknown as DesiredState;
    const e = await t.ipvs.apply(bad).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StateError);
    expect((e as StateError).problems.map((p) => p.path)).toEqual([
      'services[0].destinations[0].weight',
      'services[0].destinations[2]',
      'services[1].address',
      'services[2]',
      'services[3].schedular',
    ]);
    expect((e as StateError).message).toMatch(/services\[0\].destinations\[2\]: real server 10.1.0.3:80 is listed twice/);
    expect(n).toEqual({ listings: 0, batches: 0, requests: 0, calls: 0 });
  });

  it('a change the kernel refuses is reported with its words; the rest goes on, and servers of a failed service are skipped', async () => {
    const r = await t.ipvs.apply({
      services: [
        { protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'nosuchsched', destinations: [{ address: '10.1.0.2' }] },
        { protocol: 'tcp', address: '10.0.0.2', port: 80, scheduler: 'rr', destinations: [{ address: '10.1.0.2' }] },
      ],
    });
    expect(r.failed).toBe(2);
    expect(r.changes.map((c) => [c.change.op, c.ok ? 'ok' : 'error' in c ? c.error.code : 'skipped'])).toEqual([
      ['addService', 'ENOENT'], ['addService', 'ok'], ['addDestination', 'skipped'], ['addDestination', 'ok'],
    ]);
    expect(r.changes[0]).toMatchObject({ ok: false, error: { kind: 'kernel', message: expect.stringMatching(/scheduler/) } });
    expect(saved()).toEqual(['-A -t 10.0.0.2:80 -s rr', '-a -t 10.0.0.2:80 -r 10.1.0.2:80 -g -w 1']);
  });
});

describe('deterministic order', () => {
  const extra: ReturnType<typeof createNetns>[] = [];
  afterAll(() => extra.forEach((n) => n.remove()));

  it('two namespaces that reach one state through different histories list real servers in the same order', async () => {
    const svc = (addrs: string[]): DesiredState => ({ services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'mh', destinations: addrs.map((a) => ({ address: a, forwarding: 'tunnel' as const })) }] });
    const listOrder = (ns: ReturnType<typeof createNetns>) => ns.exec('ipvsadm', ['-Ln', '--nosort']).split('\n').filter((l) => l.includes('->') && !l.includes('RemoteAddress')).map((l) => l.trim().split(/\s+/)[1]);
    const a = createNetns('state-oa');
    const b = createNetns('state-ob');
    extra.push(a, b);
    const ia = await a.open();
    const ib = await b.open();
    try {
      const final = ['10.1.0.9', '10.1.0.10', '10.1.0.2', '10.1.0.30', '2001:db8::1'];
      // a: everything at once; b: a history of adds and removes whose adds come out of order
      await ia.apply(svc(final));
      let reAdded = 0;
      for (const step of [['10.1.0.30', '10.1.0.5'], ['10.1.0.30', '10.1.0.10', '2001:db8::1'], ['10.1.0.30', '10.1.0.10', '2001:db8::1', '10.1.0.31'], final]) {
        const r = await ib.apply(svc(step));
        expect(r.failed).toBe(0);
        reAdded += r.changes.filter((c) => c.change.op === 'deleteDestination' && 'reason' in c.change && c.change.reason).length;
      }
      expect(reAdded).toBeGreaterThan(0);
      const expected = ['10.1.0.2:80', '10.1.0.9:80', '10.1.0.10:80', '10.1.0.30:80', '[2001:db8::1]:80'];
      expect(listOrder(a)).toEqual(expected);
      expect(listOrder(b)).toEqual(expected);
      // without new servers nothing is re-added
      expect((await ib.plan(svc(final))).changes).toEqual([]);
    } finally {
      ia.close();
      ib.close();
    }
  });
});

describe('property: random desired states applied in sequence', () => {
  const ADDRS = ['10.0.0.1', '10.0.0.2', '2001:db8::1'];
  const RIPS = ['10.1.0.9', '10.1.0.10', '10.1.0.2', '10.1.0.30', '10.1.0.4'];
  const destArb = fc.record({ address: fc.constantFrom(...RIPS), port: fc.constantFrom(80, 8080), forwarding: fc.constantFrom('masq' as const, 'route' as const), weight: fc.integer({ min: 0, max: 3 }) });
  const serviceArb = fc.record({
    key: fc.oneof(
      fc.record({ protocol: fc.constantFrom('tcp' as const, 'udp' as const), address: fc.constantFrom(...ADDRS), port: fc.constantFrom(80, 443) }),
      fc.record({ fwmark: fc.integer({ min: 1, max: 3 }) }),
    ),
    scheduler: fc.constantFrom('rr', 'wrr', 'wlc', 'sh', 'mh'),
    persistent: fc.constantFrom(0, 60),
    dests: fc.uniqueArray(destArb, { selector: (d) => `${d.address}|${d.port}`, maxLength: 4 }),
  });
  const stateArb = fc.uniqueArray(serviceArb, { selector: (s) => JSON.stringify(s.key), maxLength: 5 }).map((list): DesiredState => ({
    services: list.map((s) => ({
      ...s.key, scheduler: s.scheduler, persistent: s.persistent,
      // (an IPv4 server of an IPv6 service needs tunnel forwarding; keep the families apart)
      destinations: 'address' in s.key && s.key.address.includes(':') ? s.dests.map((d) => ({ ...d, address: `2001:db8:1::${d.address.split('.')[3]}` })) : s.dests,
    })),
  }));

  /** The naive expectation: what a snapshot must show for a desired state (defaults filled, sorted). */
  const expected = (d: DesiredState) =>
    d.services.map((s) => JSON.stringify({
      key: 'fwmark' in s ? { fwmark: s.fwmark } : { protocol: s.protocol, address: s.address, port: s.port },
      scheduler: s.scheduler, persistent: s.persistent || 0,
      dests: (s.destinations ?? []).map((x) => `${x.address}|${x.port}|${x.forwarding}|${x.weight}`).sort(),
    })).sort();
  const actual = (d: DesiredState) => expected({ services: d.services.map((s) => ({ ...s, persistent: s.persistent ?? 0 })) });

  /** Size of the true difference between two states: services and servers added, removed or changed. */
  function difference(before: DesiredState, after: DesiredState): number {
    const idOf = (s: DesiredService) => ('fwmark' in s ? `f${s.fwmark}` : `${s.protocol}|${s.address}|${s.port}`);
    const a = new Map(before.services.map((s) => [idOf(s), s]));
    const b = new Map(after.services.map((s) => [idOf(s), s]));
    let n = 0;
    for (const [id, s] of a) if (!b.has(id)) n++;
    for (const [id, s] of b) {
      const old = a.get(id);
      if (!old) {
        n += 1 + (s.destinations?.length ?? 0);
        continue;
      }
      if (old.scheduler !== s.scheduler || (old.persistent || 0) !== (s.persistent || 0)) n++;
      const od = new Map((old.destinations ?? []).map((x) => [`${x.address}|${x.port}`, x]));
      const nd = new Map((s.destinations ?? []).map((x) => [`${x.address}|${x.port}`, x]));
      for (const k of od.keys()) if (!nd.has(k)) n++;
      for (const [k, x] of nd) {
        const o = od.get(k);
        if (!o || o.forwarding !== x.forwarding || o.weight !== x.weight) n++;
      }
    }
    return n;
  }

  /** Whether every service lists its servers in the documented order (IPv4 first, address bytes, port). */
  async function inOrder(): Promise<boolean> {
    const key = (a: string, p: number) => (a.includes(':') ? `6${a.split(':').pop()!.padStart(4, '0')}` : `4${a.split('.').map((x) => x.padStart(3, '0')).join('')}`) + String(p).padStart(5, '0');
    for (const s of await t.ipvs.listServices({ withDestinations: true })) {
      const k = s.destinations!.map((d) => key(d.address, d.port));
      if (k.join() !== [...k].sort().join()) return false;
    }
    return true;
  }

  it('ends equal to the last state, each apply making exactly the true difference (order re-adds aside)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stateArb, { minLength: 2, maxLength: 5 }), async (states) => {
        await t.ipvs.flush();
        for (const d of states) {
          const before = await t.ipvs.snapshot();
          const r = await t.ipvs.apply(d);
          expect(r.failed, JSON.stringify(r.changes.filter((c) => !c.ok))).toBe(0);
          const core = r.changes.filter((c) => !('reason' in c.change && c.change.reason));
          expect(core.length).toBe(difference(before, d));
          expect(actual(await t.ipvs.snapshot())).toEqual(expected(d));
          expect(await inOrder()).toBe(true);
        }
        expect((await t.ipvs.plan(states.at(-1)!)).changes).toEqual([]);
      }),
      { numRuns: 25, seed: 1207 },
    );
  });
});
