/**
 * Batches and coalesced calls on the real kernel: one result per operation
 * in order, refusals that hide nothing, stopOnError, large loads that the
 * kernel then holds exactly, and full listings.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { BatchResult, ServiceSpec } from '../../src/index.js';
import { useNetns } from '../helpers/netns.js';

const t = useNetns('batch');
beforeEach(async () => {
  await t.ipvs.flush();
});

const saved = () => t.ns.exec('ipvsadm', ['-Sn']).split('\n').filter(Boolean).sort();
const outcome = (r: BatchResult) => (r.ok ? 'ok' : 'skipped' in r ? 'skipped' : r.error.code);
const svc = (i: number, port = 80): ServiceSpec & { address: string } => ({ protocol: 'tcp', address: `10.${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port, scheduler: 'rr' });

describe('batch', () => {
  it('returns one result per operation, in order, and a refusal hides none of the others', async () => {
    const a = svc(1);
    const b = svc(2);
    const r = await t.ipvs
      .batch()
      .addService(a)
      .addService(a) // EEXIST
      .addDestination(a, { address: '10.1.0.1', forwarding: 'masq', weight: 2 })
      .addDestination(svc(99), { address: '10.1.0.2' }) // ESRCH: no such service
      .addService({ protocol: 'udp', address: '2001:db8::1', port: 53, scheduler: 'sh', schedulerFlags: ['sh-port'] })
      .addService({ fwmark: 7, scheduler: 'wlc', persistent: 60 })
      .addDestination({ fwmark: 7 }, { address: '10.1.0.3', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } })
      .addDestination(a, { address: 'not an address' }) // EINVAL before sending
      .addService(b)
      .deleteService(svc(98)) // ESRCH
      .addDestination(b, { address: '10.1.0.4', port: 8080, forwarding: 'route', upperThreshold: 10, lowerThreshold: 5 })
      .run();
    expect(r.map((x) => x.operation)).toEqual([
      'addService', 'addService', 'addDestination', 'addDestination', 'addService', 'addService', 'addDestination', 'addDestination', 'addService', 'deleteService', 'addDestination',
    ]);
    expect(r.map(outcome)).toEqual(['ok', 'EEXIST', 'ok', 'ESRCH', 'ok', 'ok', 'ok', 'EINVAL', 'ok', 'ESRCH', 'ok']);
    expect(r[1]).toMatchObject({ ok: false, error: { kind: 'kernel', message: 'virtual service TCP 10.10.0.1:80 already exists' } });
    expect(r[7]).toMatchObject({ ok: false, error: { kind: 'input', field: 'address' } });
    expect(saved()).toEqual([
      '-A -f 7 -s wlc -p 60',
      '-A -t 10.10.0.1:80 -s rr',
      '-A -t 10.10.0.2:80 -s rr',
      '-A -u [2001:db8::1]:53 -s sh -b sh-port',
      '-a -f 7 -r 10.1.0.3:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum',
      '-a -t 10.10.0.1:80 -r 10.1.0.1:80 -m -w 2',
      '-a -t 10.10.0.2:80 -r 10.1.0.4:8080 -g -w 1',
    ].sort());
    // (thresholds are not in the save format)
    expect(await t.ipvs.listDestinations(b)).toEqual([expect.objectContaining({ address: '10.1.0.4', upperThreshold: 10, lowerThreshold: 5 })]);
  });

  it('with stopOnError, sends nothing after the first failure', async () => {
    const r = await t.ipvs
      .batch({ stopOnError: true })
      .addService(svc(1))
      .addService(svc(1)) // EEXIST
      .addService(svc(2))
      .addDestination(svc(1), { address: '10.1.0.1' })
      .run();
    expect(r.map(outcome)).toEqual(['ok', 'EEXIST', 'skipped', 'skipped']);
    expect(saved()).toEqual(['-A -t 10.10.0.1:80 -s rr']);
  });

  it('updates with merged settings, deletes, zeroes and sets timeouts in one batch', async () => {
    await t.ipvs.addService({ ...svc(1), persistent: 300 });
    await t.ipvs.addDestination(svc(1), { address: '10.1.0.1', forwarding: 'masq', weight: 3, upperThreshold: 9 });
    await t.ipvs.addDestination(svc(1), { address: '10.1.0.2', forwarding: 'masq' });
    const r = await t.ipvs
      .batch()
      .updateService({ ...svc(1), scheduler: 'wrr' }) // keeps persistence
      .updateDestination(svc(1), { address: '10.1.0.1', weight: 5 }) // keeps masq and the threshold
      .deleteDestination(svc(1), { address: '10.1.0.2' })
      .zero(svc(1))
      .setTimeouts({ tcp: 901 })
      .run();
    expect(r.map(outcome)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(saved()).toEqual(['-A -t 10.10.0.1:80 -s wrr -p 300', '-a -t 10.10.0.1:80 -r 10.1.0.1:80 -m -w 5']);
    expect(await t.ipvs.listDestinations(svc(1))).toEqual([expect.objectContaining({ address: '10.1.0.1', weight: 5, upperThreshold: 9 })]);
    expect((await t.ipvs.getTimeouts()).tcp).toBe(901);
  });

  it('loads thousands of services, and the kernel holds exactly them; the listing lists exactly them', async () => {
    const n = 3000;
    const b = t.ipvs.batch();
    const want: string[] = [];
    for (let i = 0; i < n; i++) {
      const s = svc(i);
      b.addService(s);
      want.push(`-A -t ${s.address}:80 -s rr`);
      for (let j = 0; j < 2; j++) {
        const rs = `172.16.${(2 * i + j) >> 8}.${(2 * i + j) & 255}`;
        b.addDestination(s, { address: rs, forwarding: 'masq', weight: j + 1 });
        want.push(`-a -t ${s.address}:80 -r ${rs}:80 -m -w ${j + 1}`);
      }
    }
    const r = await b.run();
    expect(r).toHaveLength(3 * n);
    expect(r.every((x) => x.ok)).toBe(true);
    expect(saved()).toEqual(want.sort());
    const listed = await t.ipvs.listServices({ withDestinations: true });
    expect(listed).toHaveLength(n);
    const fromListing = listed.flatMap((s) => [
      `-A -t ${s.address}:${s.port} -s ${s.scheduler}`,
      ...(s.destinations ?? []).map((d) => `-a -t ${s.address}:${s.port} -r ${d.address}:${d.port} -m -w ${d.weight}`),
    ]);
    expect(fromListing.sort()).toEqual(want);
  });
});

describe('concurrent calls', () => {
  it('each call made in the same turn gets its own outcome', async () => {
    const calls = [];
    for (let i = 0; i < 500; i++) calls.push(t.ipvs.addService(svc(i % 400))); // the last 100 repeat
    const out = await Promise.allSettled(calls);
    expect(out.slice(0, 400).every((o) => o.status === 'fulfilled')).toBe(true);
    expect(out.slice(400).map((o) => (o.status === 'rejected' ? (o.reason as { code: string }).code : 'ok'))).toEqual(new Array(100).fill('EEXIST'));
    expect((out[450] as PromiseRejectedResult).reason).toMatchObject({ kind: 'kernel', operation: 'addService', message: 'virtual service TCP 10.10.0.50:80 already exists' });
    expect(saved()).toHaveLength(400);
  });

  it('a call sends its input as it was when called (one spec object reused is fine)', async () => {
    const spec = { protocol: 'tcp' as const, address: '', port: 80, scheduler: 'rr' };
    const dest = { address: '', forwarding: 'masq' as const, weight: 1 };
    const calls = [];
    for (let i = 0; i < 3; i++) {
      spec.address = `10.20.0.${i}`;
      calls.push(t.ipvs.addService(spec));
      dest.address = `172.16.9.${i}`;
      dest.weight = i + 1;
      calls.push(t.ipvs.addDestination(spec, dest));
    }
    spec.address = 'changed after the calls';
    await Promise.all(calls);
    expect(saved()).toEqual(
      [0, 1, 2].flatMap((i) => [`-A -t 10.20.0.${i}:80 -s rr`, `-a -t 10.20.0.${i}:80 -r 172.16.9.${i}:80 -m -w ${i + 1}`]).sort(),
    );
  });

  it('sequential awaits and concurrent reads and changes all agree with the kernel', async () => {
    for (let i = 0; i < 20; i++) await t.ipvs.addService(svc(i));
    const [list, dests, missing] = await Promise.all([
      t.ipvs.listServices(),
      Promise.all([t.ipvs.addDestination(svc(0), { address: '10.1.0.1' }), t.ipvs.addDestination(svc(0), { address: '10.1.0.2' })]).then(() => t.ipvs.listDestinations(svc(0))),
      t.ipvs.getService(svc(1000)),
    ]);
    expect(list).toHaveLength(20);
    expect(dests.map((d) => d.address).sort()).toEqual(['10.1.0.1', '10.1.0.2']);
    expect(missing).toBeUndefined();
  });

  it('a bad call rejects alone; the calls around it go through', async () => {
    const out = await Promise.allSettled([
      t.ipvs.addService(svc(1)),
      t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.1', port: 70000 }),
      t.ipvs.addService(svc(2)),
    ]);
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((out[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'EINVAL', field: 'port' });
    expect(saved()).toHaveLength(2);
  });
});
