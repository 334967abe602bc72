/**
 * Virtual services on the real kernel: every scheduler, every key form,
 * persistence, flags, updates and deletes, read back through the library
 * and through the system ipvsadm.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Scheduler } from '../../src/index.js';
import { useNetns } from '../helpers/netns.js';


const t = useNetns('svc');
beforeEach(async () => {
  await t.ipvs.flush();
});

const saved = () => t.ns.exec('ipvsadm', ['-Sn']).trim().split('\n').filter(Boolean).sort();

describe('schedulers', () => {
  const all: Scheduler[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'];
  it('creates a service with every scheduler the kernel ships and reads each back', async () => {
    for (const [i, scheduler] of all.entries()) {
      await t.ipvs.addService({ protocol: 'tcp', address: `10.0.1.${i + 1}`, port: 80, scheduler });
    }
    const listed = await t.ipvs.listServices();
    expect(listed.map((s) => [s.address, s.scheduler]).sort()).toEqual(all.map((s, i) => [`10.0.1.${i + 1}`, s]).sort());
    expect(saved()).toEqual(all.map((s, i) => `-A -t 10.0.1.${i + 1}:80 -s ${s}`).sort());
  });

  it('defaults to wlc like ipvsadm', async () => {
    await t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.1', port: 80 });
    expect((await t.ipvs.getService({ protocol: 'tcp', address: '10.0.0.1', port: 80 }))?.scheduler).toBe('wlc');
  });

  it('refuses an unknown scheduler with ENOENT and says which module is missing', async () => {
    const err = await t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'nosuch' }).catch((e) => e);
    expect(err).toMatchObject({ name: 'IpvsError', code: 'ENOENT', kind: 'kernel', operation: 'addService' });
    expect(err.message).toContain('ip_vs_nosuch');
    expect(await t.ipvs.listServices()).toEqual([]);
  });
});

describe('service keys', () => {
  it('handles tcp, udp and sctp on IPv4 and IPv6, and fwmark on both families', async () => {
    await t.ipvs.addService({ protocol: 'tcp', address: '192.0.2.1', port: 80, scheduler: 'rr' });
    await t.ipvs.addService({ protocol: 'udp', address: '192.0.2.1', port: 53, scheduler: 'rr' });
    await t.ipvs.addService({ protocol: 'sctp', address: '192.0.2.1', port: 3868, scheduler: 'rr' });
    await t.ipvs.addService({ protocol: 'tcp', address: '2001:db8::1', port: 443, scheduler: 'rr' });
    await t.ipvs.addService({ protocol: 'udp', address: '2001:db8:0:0:1:0:0:1', port: 53, scheduler: 'rr' });
    await t.ipvs.addService({ fwmark: 7, scheduler: 'rr' });
    await t.ipvs.addService({ fwmark: 0xfffffff0, family: 'inet6', scheduler: 'rr' });

    const udp6 = await t.ipvs.getService({ protocol: 'udp', address: '2001:db8::1:0:0:1', port: 53 });
    expect(udp6).toMatchObject({ family: 'inet6', protocol: 'udp', address: '2001:db8::1:0:0:1', port: 53 });
    const fw6 = await t.ipvs.getService({ fwmark: 0xfffffff0, family: 'inet6' });
    expect(fw6).toMatchObject({ family: 'inet6', fwmark: 0xfffffff0, scheduler: 'rr', netmask: 128 });
    expect(fw6?.protocol).toBeUndefined();
    expect(await t.ipvs.getService({ fwmark: 0xfffffff0 })).toBeUndefined(); // same mark, other family

    // ipvsadm prints marks of 2^31 and above as negative numbers: leave that line out.
    expect(saved().filter((l) => !l.includes(' -6 '))).toEqual(
      [
        '-A -t 192.0.2.1:80 -s rr',
        '-A -u 192.0.2.1:53 -s rr',
        '-A --sctp-service 192.0.2.1:3868 -s rr',
        '-A -t [2001:db8::1]:443 -s rr',
        '-A -u [2001:db8::1:0:0:1]:53 -s rr',
        '-A -f 7 -s rr',
      ].sort(),
    );
    expect((await t.ipvs.listServices()).length).toBe(7);
  });

  it('getService returns undefined for a missing service', async () => {
    expect(await t.ipvs.getService({ protocol: 'tcp', address: '10.9.9.9', port: 1 })).toBeUndefined();
  });
});

describe('persistence and flags', () => {
  it('stores persistence with an IPv4 netmask and reports flags including the hashed bit', async () => {
    const key = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
    await t.ipvs.addService({ ...key, scheduler: 'rr', persistent: 300, netmask: '255.255.255.0' });
    const s = await t.ipvs.getService(key);
    expect(s).toMatchObject({ persistent: 300, timeout: 300, netmask: '255.255.255.0', scheduler: 'rr' });
    expect(s!.flags & 0x1).toBe(0x1); // persistent
    expect(s!.flags & 0x2).toBe(0x2); // hashed: the kernel's own bit
    expect(saved()).toEqual(['-A -t 10.0.0.1:80 -s rr -p 300 -M 255.255.255.0']);
  });

  it('uses 360 s when persistence is on without a timeout, like ipvsadm -p', async () => {
    await t.ipvs.addService({ protocol: 'udp', address: '10.0.0.2', port: 53, persistent: true });
    expect((await t.ipvs.getService({ protocol: 'udp', address: '10.0.0.2', port: 53 }))?.persistent).toBe(360);
    expect(saved()).toEqual(['-A -u 10.0.0.2:53 -s wlc -p 360']);
  });

  it('takes an IPv6 persistence netmask as a prefix length', async () => {
    await t.ipvs.addService({ protocol: 'tcp', address: '2001:db8::2', port: 80, persistent: 60, netmask: 64 });
    const s = await t.ipvs.getService({ protocol: 'tcp', address: '2001:db8::2', port: 80 });
    expect(s).toMatchObject({ persistent: 60, netmask: 64 });
    expect(saved()).toEqual(['-A -t [2001:db8::2]:80 -s wlc -p 60 -M 64']);
  });

  it('takes an IPv4 netmask as a prefix length too', async () => {
    await t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.3', port: 80, persistent: 10, netmask: 16 });
    expect((await t.ipvs.getService({ protocol: 'tcp', address: '10.0.0.3', port: 80 }))?.netmask).toBe('255.255.0.0');
  });

  it('sets scheduler flags, one-packet scheduling and the sip persistence engine', async () => {
    await t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.4', port: 80, scheduler: 'sh', schedulerFlags: ['sh-fallback', 'sh-port'] });
    await t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.5', port: 80, scheduler: 'mh', schedulerFlags: ['mh-port'] });
    await t.ipvs.addService({ protocol: 'udp', address: '10.0.0.6', port: 53, scheduler: 'rr', onePacket: true });
    await t.ipvs.addService({ protocol: 'udp', address: '10.0.0.7', port: 5060, scheduler: 'rr', persistent: 30, pe: 'sip' });
    const byAddr = new Map((await t.ipvs.listServices()).map((s) => [s.address, s]));
    expect(byAddr.get('10.0.0.4')?.schedulerFlags).toEqual(['sh-fallback', 'sh-port']);
    expect(byAddr.get('10.0.0.5')?.schedulerFlags).toEqual(['mh-port']);
    expect(byAddr.get('10.0.0.6')?.onePacket).toBe(true);
    expect(byAddr.get('10.0.0.7')).toMatchObject({ pe: 'sip', persistent: 30 });
    expect(saved()).toEqual(
      [
        '-A -t 10.0.0.4:80 -s sh -b sh-fallback,sh-port',
        '-A -t 10.0.0.5:80 -s mh -b mh-port',
        '-A -u 10.0.0.6:53 -s rr -o',
        '-A -u 10.0.0.7:5060 -s rr -p 30 --pe sip',
      ].sort(),
    );
  });
});

describe('update and delete', () => {
  it('updateService changes what it is given and keeps the rest', async () => {
    const key = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
    await t.ipvs.addService({ ...key, scheduler: 'rr', persistent: 300, netmask: '255.255.255.0' });
    await t.ipvs.updateService({ ...key, scheduler: 'wrr' });
    expect(await t.ipvs.getService(key)).toMatchObject({ scheduler: 'wrr', persistent: 300, netmask: '255.255.255.0' });
    await t.ipvs.updateService({ ...key, persistent: false });
    const s = await t.ipvs.getService(key);
    expect(s?.persistent).toBeUndefined();
    expect(s!.flags & 1).toBe(0);
    expect(saved()).toEqual(['-A -t 10.0.0.1:80 -s wrr']);
  });

  it('updating a missing service fails with ESRCH and creates nothing', async () => {
    const err = await t.ipvs.updateService({ protocol: 'tcp', address: '10.0.0.9', port: 80, scheduler: 'rr' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ESRCH', operation: 'updateService' });
    expect(err.message).toBe('virtual service TCP 10.0.0.9:80 does not exist');
    expect(await t.ipvs.listServices()).toEqual([]);
  });

  it('deleteService removes exactly one service', async () => {
    await t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.1', port: 80 });
    await t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.1', port: 81 });
    await t.ipvs.deleteService({ protocol: 'tcp', address: '10.0.0.1', port: 80 });
    expect((await t.ipvs.listServices()).map((s) => s.port)).toEqual([81]);
    const err = await t.ipvs.deleteService({ protocol: 'tcp', address: '10.0.0.1', port: 80 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ESRCH', errno: 3, kind: 'kernel' });
  });

  it('flush removes every service', async () => {
    for (let i = 1; i <= 5; i++) await t.ipvs.addService({ protocol: 'udp', address: `10.0.2.${i}`, port: 53 });
    await t.ipvs.addService({ fwmark: 3 });
    expect((await t.ipvs.listServices()).length).toBe(6);
    await t.ipvs.flush();
    expect(await t.ipvs.listServices()).toEqual([]);
    expect(saved()).toEqual([]);
  });
});

describe('reading what ipvsadm made', () => {
  it('decodes services and real servers created by the system ipvsadm', async () => {
    t.ns.exec('ipvsadm', ['-A', '-t', '10.0.0.1:80', '-s', 'wrr', '-p', '120', '-M', '255.255.0.0']);
    t.ns.exec('ipvsadm', ['-a', '-t', '10.0.0.1:80', '-r', '10.1.0.2:8080', '-m', '-w', '5', '-x', '100', '-y', '10']);
    t.ns.exec('ipvsadm', ['-a', '-t', '10.0.0.1:80', '-r', '10.1.0.3', '-g']);
    t.ns.exec('ipvsadm', ['-A', '-u', '[2001:db8::1]:53', '-s', 'sh', '-b', 'sh-port']);
    t.ns.exec('ipvsadm', ['-a', '-u', '[2001:db8::1]:53', '-r', '[2001:db8::10]:53', '-i', '--tun-type', 'gue', '--tun-port', '6080', '--tun-csum']);
    t.ns.exec('ipvsadm', ['-A', '-f', '42', '-s', 'rr']);
    const list = await t.ipvs.listServices({ withDestinations: true });
    const tcp = list.find((s) => s.protocol === 'tcp')!;
    expect(tcp).toMatchObject({ family: 'inet', address: '10.0.0.1', port: 80, scheduler: 'wrr', persistent: 120, netmask: '255.255.0.0' });
    expect(tcp.destinations!.map((d) => ({ a: d.address, p: d.port, f: d.forwarding, w: d.weight, u: d.upperThreshold, l: d.lowerThreshold })).sort((x, y) => x.a.localeCompare(y.a))).toEqual([
      { a: '10.1.0.2', p: 8080, f: 'masq', w: 5, u: 100, l: 10 },
      { a: '10.1.0.3', p: 80, f: 'route', w: 1, u: 0, l: 0 },
    ]);
    const udp = list.find((s) => s.protocol === 'udp')!;
    expect(udp).toMatchObject({ family: 'inet6', address: '2001:db8::1', scheduler: 'sh', schedulerFlags: ['sh-port'] });
    expect(udp.destinations).toEqual([
      expect.objectContaining({ address: '2001:db8::10', port: 53, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } }),
    ]);
    expect(list.find((s) => s.fwmark === 42)).toMatchObject({ family: 'inet', scheduler: 'rr', destinations: [] });
  });
});
