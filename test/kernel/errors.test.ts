/**
 * Every way a call can fail, on the real kernel: each gets a typed
 * IpvsError, and a refused call changes nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { Ipvs, IpvsError } from '../../src/index.js';
import { createNetns, useNetns } from '../helpers/netns.js';

const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;

const t = useNetns('err');
beforeEach(async () => {
  await t.ipvs.flush();
  await t.ipvs.addService({ ...svc, scheduler: 'rr' });
  await t.ipvs.addDestination(svc, { address: '10.1.0.2', port: 8080, forwarding: 'masq' });
});

const state = () => t.ns.exec('ipvsadm', ['-Sn']);

describe('already exists and missing', () => {
  it('duplicate service: EEXIST with the service named', async () => {
    const err = await t.ipvs.addService({ ...svc, scheduler: 'wrr' }).catch((e) => e);
    expect(err).toBeInstanceOf(IpvsError);
    expect(err).toMatchObject({ kind: 'kernel', code: 'EEXIST', errno: 17, operation: 'addService', message: 'virtual service TCP 10.0.0.1:80 already exists' });
    expect((await t.ipvs.getService(svc))?.scheduler).toBe('rr');
  });

  it('duplicate real server: EEXIST naming both', async () => {
    const err = await t.ipvs.addDestination(svc, { address: '10.1.0.2', port: 8080, forwarding: 'route' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'EEXIST', message: 'real server 10.1.0.2:8080 already exists in virtual service TCP 10.0.0.1:80' });
  });

  it('real server of a missing service: ESRCH', async () => {
    const err = await t.ipvs.addDestination({ ...svc, port: 81 }, { address: '10.1.0.2' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ESRCH', message: 'virtual service TCP 10.0.0.1:81 does not exist' });
  });

  it('updating a missing real server: ENOENT', async () => {
    const err = await t.ipvs.updateDestination(svc, { address: '10.1.0.3', weight: 3 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ENOENT', operation: 'updateDestination' });
    expect(err.message).toContain('real server 10.1.0.3:80 does not exist');
  });

  it('IPv6 keys are named with brackets', async () => {
    const err = await t.ipvs.deleteService({ protocol: 'udp', address: '2001:db8::1', port: 53 }).catch((e) => e);
    expect(err.message).toBe('virtual service UDP [2001:db8::1]:53 does not exist');
    const fw = await t.ipvs.deleteService({ fwmark: 5 }).catch((e) => e);
    expect(fw.message).toBe('virtual service FWM 5 does not exist');
  });
});

describe('bad input is refused before anything is sent', () => {
  const cases: Array<[string, () => Promise<unknown>, string]> = [
    ['address', () => t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.300', port: 80 }), 'address'],
    ['hostname', () => t.ipvs.addService({ protocol: 'tcp', address: 'example', port: 80 }), 'address'],
    ['port', () => t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.2', port: 65536 }), 'port'],
    ['fractional port', () => t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.2', port: 80.5 }), 'port'],
    ['protocol', () => t.ipvs.addService({ protocol: 'icmp' as 'tcp', address: '10.0.0.2', port: 80 }), 'protocol'],
    ['fwmark 0', () => t.ipvs.addService({ fwmark: 0 }), 'fwmark'],
    ['netmask', () => t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.2', port: 80, persistent: 1, netmask: '255.255.255.256' }), 'netmask'],
    ['IPv6 netmask', () => t.ipvs.addService({ protocol: 'tcp', address: '2001:db8::2', port: 80, persistent: 1, netmask: 129 }), 'netmask'],
    ['persistent', () => t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.2', port: 80, persistent: -5 }), 'persistent'],
    ['scheduler', () => t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.2', port: 80, scheduler: 'r r' }), 'scheduler'],
    ['scheduler flag', () => t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.2', port: 80, schedulerFlags: ['fast' as 'sh-port'] }), 'schedulerFlags'],
    ['weight', () => t.ipvs.addDestination(svc, { address: '10.1.0.3', weight: -1 }), 'weight'],
    ['weight too big', () => t.ipvs.addDestination(svc, { address: '10.1.0.3', weight: 2 ** 31 }), 'weight'],
    ['upper threshold', () => t.ipvs.addDestination(svc, { address: '10.1.0.3', upperThreshold: 2 ** 32 }), 'upperThreshold'],
    ['thresholds order', () => t.ipvs.addDestination(svc, { address: '10.1.0.3', upperThreshold: 5, lowerThreshold: 10 }), 'lowerThreshold'],
    ['forwarding', () => t.ipvs.addDestination(svc, { address: '10.1.0.3', forwarding: 'nat' as 'masq' }), 'forwarding'],
    ['real server address', () => t.ipvs.addDestination(svc, { address: '10.1.0' }), 'address'],
    ['gue without port', () => t.ipvs.addDestination(svc, { address: '10.1.0.3', forwarding: 'tunnel', tunnel: { type: 'gue' } }), 'tunnel.port'],
    ['tunnel without tunnel forwarding', () => t.ipvs.addDestination(svc, { address: '10.1.0.3', forwarding: 'masq', tunnel: { type: 'ipip' } }), 'tunnel'],
    ['tunnel type', () => t.ipvs.addDestination(svc, { address: '10.1.0.3', forwarding: 'tunnel', tunnel: { type: 'vxlan' as 'gre' } }), 'tunnel.type'],
    ['timeouts', () => t.ipvs.setTimeouts({ tcp: -1 }), 'tcp'],
    ['daemon state', () => t.ipvs.startDaemon({ state: 'primary' as 'master', interface: 'lo' }), 'state'],
    ['daemon interface', () => t.ipvs.startDaemon({ state: 'master', interface: 'a-very-long-interface-name' }), 'interface'],
    ['daemon syncid', () => t.ipvs.startDaemon({ state: 'master', interface: 'lo', syncId: 256 }), 'syncId'],
  ];
  it.each(cases)('%s: EINVAL naming the field, state unchanged', async (_label, call, field) => {
    const before = state();
    const err = await call().catch((e) => e);
    expect(err).toBeInstanceOf(IpvsError);
    expect(err).toMatchObject({ kind: 'input', code: 'EINVAL', errno: 22, field });
    expect(state()).toBe(before);
  });
});

describe('privileges and namespaces', () => {
  it('says CAP_NET_ADMIN is needed when it is missing', () => {
    expect(existsSync('dist/index.js')).toBe(true); // built by the test command
    const script = `import('./dist/index.js').then(({ Ipvs }) => Ipvs.open()).then(
      () => console.log('opened'),
      (e) => console.log(JSON.stringify({ code: e.code, kind: e.kind, message: e.message })))`;
    const out = execFileSync('ip', ['netns', 'exec', t.ns.name, 'setpriv', '--bounding-set=-net_admin', '--inh-caps=-net_admin', 'node', '-e', script], { encoding: 'utf8' });
    const got = JSON.parse(out);
    expect(got).toEqual({ code: 'EPERM', kind: 'kernel', message: 'permission denied: programming IPVS needs CAP_NET_ADMIN (run as root)' });
  });

  it('works in the namespace it was opened in, and only there', async () => {
    const other = createNetns('err-other');
    try {
      const h = await Ipvs.open({ netns: `/var/run/netns/${other.name}` });
      expect(await h.listServices()).toEqual([]);
      await h.addService({ protocol: 'udp', address: '10.0.0.1', port: 53 });
      expect(other.exec('ipvsadm', ['-Sn']).trim()).toBe('-A -u 10.0.0.1:53 -s wlc');
      h.close();
      expect(state()).not.toContain('-u 10.0.0.1:53');
    } finally {
      other.remove();
    }
  });

  it('a missing namespace is a clear error', async () => {
    const err = await Ipvs.open({ netns: 'no-such-namespace' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ENOENT', operation: 'open', message: 'cannot enter network namespace /var/run/netns/no-such-namespace: no such namespace' });
    const bad = await Ipvs.open({ netns: '../x' }).catch((e) => e);
    expect(bad).toMatchObject({ code: 'EINVAL', field: 'netns' });
  });

  it('a closed handle refuses calls', async () => {
    const h = await t.ns.open();
    h.close();
    const err = await h.listServices().catch((e) => e);
    expect(err).toMatchObject({ kind: 'socket', code: 'EBADF' });
  });
});

describe('many calls in flight on one handle', () => {
  it('each call gets its own answer, successes and failures mixed', async () => {
    const calls = Array.from({ length: 200 }, (_, i) =>
      i % 10 === 0
        ? t.ipvs.addService(svc) // duplicate: fails
        : t.ipvs.addService({ protocol: 'udp', address: `10.2.${i >> 8}.${i & 255}`, port: 53 }),
    );
    const listing = t.ipvs.listServices();
    const missing = t.ipvs.getService({ protocol: 'tcp', address: '10.9.9.9', port: 9 });
    const results = await Promise.allSettled(calls);
    results.forEach((r, i) => {
      if (i % 10 === 0) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'EEXIST' } });
      else expect(r.status).toBe('fulfilled');
    });
    expect(await missing).toBeUndefined();
    // The dump was issued after the adds, so it sees all of them.
    expect((await listing).length).toBe(1 + 180);
  });
});
