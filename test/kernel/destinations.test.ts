/**
 * Real servers on the real kernel: every forwarding mode and tunnel type,
 * weights and thresholds, mixed families, updates and deletes.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Forwarding } from '../../src/index.js';
import { useNetns } from '../helpers/netns.js';

const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
const svc6 = { protocol: 'udp', address: '2001:db8::1', port: 53 } as const;

const t = useNetns('dest');
beforeEach(async () => {
  await t.ipvs.flush();
  await t.ipvs.addService({ ...svc, scheduler: 'wrr' });
  await t.ipvs.addService({ ...svc6, scheduler: 'rr' });
});

const saved = () => t.ns.exec('ipvsadm', ['-Sn']).trim().split('\n').filter((l) => l.startsWith('-a')).sort();

describe('forwarding', () => {
  it('adds real servers with every forwarding mode and reads each back', async () => {
    const modes: Forwarding[] = ['masq', 'route', 'tunnel', 'local', 'bypass'];
    for (const [i, forwarding] of modes.entries()) {
      await t.ipvs.addDestination(svc, { address: `10.1.0.${i + 1}`, port: 8080, forwarding });
    }
    const got = await t.ipvs.listDestinations(svc);
    expect(got.map((d) => [d.address, d.forwarding]).sort()).toEqual(modes.map((m, i) => [`10.1.0.${i + 1}`, m]).sort());
    // ipvsadm names the three modes it knows.
    const lines = saved();
    expect(lines).toContain('-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 1');
    expect(lines).toContain('-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -g -w 1');
    expect(lines).toContain('-a -t 10.0.0.1:80 -r 10.1.0.3:8080 -i -w 1 --tun-type ipip');
  });

  it('defaults like ipvsadm: route, weight 1, the service port', async () => {
    await t.ipvs.addDestination(svc, { address: '10.1.0.9' });
    expect(await t.ipvs.listDestinations(svc)).toEqual([
      expect.objectContaining({ address: '10.1.0.9', port: 80, forwarding: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 }),
    ]);
  });

  it('sets ipip, gue and gre tunnels with their ports and checksum modes', async () => {
    await t.ipvs.addDestination(svc, { address: '10.1.0.1', forwarding: 'tunnel', tunnel: { type: 'ipip' } });
    await t.ipvs.addDestination(svc, { address: '10.1.0.2', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } });
    await t.ipvs.addDestination(svc, { address: '10.1.0.3', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6081, checksum: 'csum' } });
    await t.ipvs.addDestination(svc, { address: '10.1.0.4', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6082, checksum: 'remcsum' } });
    await t.ipvs.addDestination(svc, { address: '10.1.0.5', forwarding: 'tunnel', tunnel: { type: 'gre' } });
    await t.ipvs.addDestination(svc, { address: '10.1.0.6', forwarding: 'tunnel', tunnel: { type: 'gre', checksum: 'csum' } });
    const byAddr = new Map((await t.ipvs.listDestinations(svc)).map((d) => [d.address, d.tunnel]));
    expect(byAddr.get('10.1.0.1')).toEqual({ type: 'ipip', port: 0, checksum: 'none' });
    expect(byAddr.get('10.1.0.2')).toEqual({ type: 'gue', port: 6080, checksum: 'none' });
    expect(byAddr.get('10.1.0.3')).toEqual({ type: 'gue', port: 6081, checksum: 'csum' });
    expect(byAddr.get('10.1.0.4')).toEqual({ type: 'gue', port: 6082, checksum: 'remcsum' });
    expect(byAddr.get('10.1.0.5')).toEqual({ type: 'gre', port: 0, checksum: 'none' });
    expect(byAddr.get('10.1.0.6')).toEqual({ type: 'gre', port: 0, checksum: 'csum' });
    const lines = saved();
    expect(lines).toContain('-a -t 10.0.0.1:80 -r 10.1.0.1:80 -i -w 1 --tun-type ipip');
    expect(lines).toContain('-a -t 10.0.0.1:80 -r 10.1.0.4:80 -i -w 1 --tun-type gue --tun-port 6082 --tun-remcsum');
    expect(lines).toContain('-a -t 10.0.0.1:80 -r 10.1.0.6:80 -i -w 1 --tun-type gre --tun-csum');
  });

  it('allows an IPv6 real server behind an IPv4 service only with tunnel forwarding', async () => {
    await t.ipvs.addDestination(svc, { address: '2001:db8::7', forwarding: 'tunnel' });
    expect(await t.ipvs.listDestinations(svc)).toEqual([expect.objectContaining({ family: 'inet6', address: '2001:db8::7', forwarding: 'tunnel' })]);
    const err = await t.ipvs.addDestination(svc, { address: '2001:db8::8', forwarding: 'masq' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'EINVAL', kind: 'kernel' });
    expect(err.message).toContain('tunnel forwarding');
    expect((await t.ipvs.listDestinations(svc)).length).toBe(1);
  });

  it('handles IPv6 services with IPv6 real servers', async () => {
    await t.ipvs.addDestination(svc6, { address: '2001:db8::10', forwarding: 'masq', weight: 3 });
    await t.ipvs.addDestination(svc6, { address: '2001:db8::11', port: 5353, forwarding: 'route' });
    const got = await t.ipvs.listDestinations(svc6);
    expect(got.map((d) => [d.family, d.address, d.port, d.forwarding, d.weight]).sort()).toEqual([
      ['inet6', '2001:db8::10', 53, 'masq', 3],
      ['inet6', '2001:db8::11', 5353, 'route', 1],
    ]);
  });

  it('adds real servers to a firewall-mark service', async () => {
    await t.ipvs.addService({ fwmark: 9, scheduler: 'rr' });
    await t.ipvs.addDestination({ fwmark: 9 }, { address: '10.1.0.1', forwarding: 'masq' });
    await t.ipvs.addDestination({ fwmark: 9 }, { address: '10.1.0.2', port: 8080, forwarding: 'route' });
    const got = await t.ipvs.listDestinations({ fwmark: 9 });
    expect(got.map((d) => [d.address, d.port]).sort()).toEqual([['10.1.0.1', 0], ['10.1.0.2', 8080]]);
  });
});

describe('weights and thresholds', () => {
  it('stores weight and thresholds, and updates them', async () => {
    await t.ipvs.addDestination(svc, { address: '10.1.0.2', port: 8080, forwarding: 'masq', weight: 2, upperThreshold: 500, lowerThreshold: 100 });
    expect((await t.ipvs.listDestinations(svc))[0]).toMatchObject({ weight: 2, upperThreshold: 500, lowerThreshold: 100 });
    await t.ipvs.updateDestination(svc, { address: '10.1.0.2', port: 8080, forwarding: 'masq', weight: 0 });
    expect((await t.ipvs.listDestinations(svc))[0]).toMatchObject({ weight: 0, upperThreshold: 500, lowerThreshold: 100, forwarding: 'masq' });
    await t.ipvs.updateDestination(svc, { address: '10.1.0.2', port: 8080, upperThreshold: 0, lowerThreshold: 0 });
    expect((await t.ipvs.listDestinations(svc))[0]).toMatchObject({ weight: 0, upperThreshold: 0, lowerThreshold: 0 });
    expect(saved()).toEqual(['-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 0']);
  });

  it('accepts the largest weight the kernel takes', async () => {
    await t.ipvs.addDestination(svc, { address: '10.1.0.3', weight: 2147483647 });
    expect((await t.ipvs.listDestinations(svc))[0]?.weight).toBe(2147483647);
  });

  it('updates forwarding and tunnel settings of an existing real server', async () => {
    await t.ipvs.addDestination(svc, { address: '10.1.0.4', forwarding: 'masq' });
    await t.ipvs.updateDestination(svc, { address: '10.1.0.4', forwarding: 'tunnel', tunnel: { type: 'gre', checksum: 'csum' } });
    expect((await t.ipvs.listDestinations(svc))[0]).toMatchObject({ forwarding: 'tunnel', tunnel: { type: 'gre', checksum: 'csum' } });
  });
});

describe('listing and deleting', () => {
  it('tells a missing service (ESRCH) apart from one with no real servers ([])', async () => {
    expect(await t.ipvs.listDestinations(svc)).toEqual([]);
    const err = await t.ipvs.listDestinations({ protocol: 'tcp', address: '10.0.0.99', port: 80 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ESRCH', operation: 'listDestinations' });
  });

  it('deletes one real server and leaves the others', async () => {
    await t.ipvs.addDestination(svc, { address: '10.1.0.1', forwarding: 'masq' });
    await t.ipvs.addDestination(svc, { address: '10.1.0.2', forwarding: 'masq' });
    await t.ipvs.deleteDestination(svc, { address: '10.1.0.1' });
    expect((await t.ipvs.listDestinations(svc)).map((d) => d.address)).toEqual(['10.1.0.2']);
    const err = await t.ipvs.deleteDestination(svc, { address: '10.1.0.1' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ENOENT', kind: 'kernel' });
    expect(err.message).toBe('real server 10.1.0.1:80 does not exist in virtual service TCP 10.0.0.1:80');
  });

  it('lists every service with its real servers in one call', async () => {
    await t.ipvs.addDestination(svc, { address: '10.1.0.1', forwarding: 'masq' });
    await t.ipvs.addDestination(svc, { address: '10.1.0.2', forwarding: 'masq' });
    await t.ipvs.addDestination(svc6, { address: '2001:db8::10', forwarding: 'masq' });
    // (IPv4 services take the fast lane of the listing, IPv6 and firewall marks the general one)
    await t.ipvs.addService({ fwmark: 9, scheduler: 'rr' });
    await t.ipvs.addDestination({ fwmark: 9 }, { address: '10.1.0.9', forwarding: 'masq' });
    const all = await t.ipvs.listServices({ withDestinations: true });
    const counts = Object.fromEntries(all.map((s) => [s.address ?? `fwmark ${s.fwmark}`, s.destinations?.map((d) => d.address).sort()]));
    expect(counts).toEqual({ '10.0.0.1': ['10.1.0.1', '10.1.0.2'], '2001:db8::1': ['2001:db8::10'], 'fwmark 9': ['10.1.0.9'] });
  });
});
