// What the client itself decides, against the TypeScript fake kernel
// (test/helpers/fake-kernel.ts): a missing service is undefined, not an
// error; tunnel settings an old kernel ignored are undone and reported;
// a listing pairs every service with its own real servers. The kernel's
// behaviour itself is asserted in test/kernel/.
import { afterEach, describe, expect, it } from 'vitest';
import { IpvsClient, IpvsError } from '../../src/index.js';
import type { ServiceSpec } from '../../src/ipvs/types.js';
import { Cmd } from '../../src/ipvs/constants.js';
import { type FakeKernelOptions, fakeKernel } from '../helpers/fake-kernel.js';

const open: IpvsClient[] = [];
async function client(opts: FakeKernelOptions = {}) {
  const kernel = fakeKernel(opts);
  const ipvs = await IpvsClient.open({ nativeBinding: kernel });
  open.push(ipvs);
  return { ipvs, kernel };
}
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

const web: ServiceSpec = { protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr' };

describe('IpvsClient against the fake kernel', () => {
  it('open builds the class it is called on', async () => {
    class Facade extends IpvsClient {
      hello(): string {
        return 'facade';
      }
    }
    const f = await Facade.open({ nativeBinding: fakeKernel() });
    open.push(f);
    expect(f).toBeInstanceOf(Facade);
    expect(f.hello()).toBe('facade');
  });

  it('reads a missing service as undefined, and says so for updates and listings of it', async () => {
    const { ipvs } = await client();
    expect(await ipvs.getService(web)).toBeUndefined();
    await ipvs.addService(web);
    expect(await ipvs.getService(web)).toMatchObject({ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr' });
    const other = { ...web, port: 81 };
    await expect(ipvs.updateService(other)).rejects.toMatchObject({ code: 'ESRCH', operation: 'updateService', message: 'virtual service TCP 10.0.0.1:81 does not exist' });
    // (the kernel answers a destination dump of a missing service with an empty list)
    await expect(ipvs.listDestinations(other)).rejects.toMatchObject({ code: 'ESRCH', operation: 'listDestinations' });
    expect(await ipvs.listDestinations(web)).toEqual([]);
  });

  it('keeps tunnel settings on a kernel that takes them', async () => {
    const { ipvs } = await client();
    await ipvs.addService(web);
    await ipvs.addDestination(web, { address: '10.1.0.1', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } });
    const [d] = await ipvs.listDestinations(web);
    expect(d).toMatchObject({ address: '10.1.0.1', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } });
  });

  it('undoes an add whose tunnel settings the kernel ignored, and says what is needed', async () => {
    const { ipvs, kernel } = await client({ noTunnels: true });
    await ipvs.addService(web);
    const err = await ipvs.addDestination(web, { address: '10.1.0.1', forwarding: 'tunnel', tunnel: { type: 'gre' } }).catch((e) => e);
    expect(err).toBeInstanceOf(IpvsError);
    expect(err).toMatchObject({ code: 'EOPNOTSUPP', operation: 'addDestination' });
    expect(err.message).toContain('Linux 5.2');
    expect(await ipvs.listDestinations(web)).toEqual([]);
    expect(kernel.commands.filter((c) => c === Cmd.DEL_DEST)).toHaveLength(1);
    // an update is reported, not undone (the real server was there before)
    await ipvs.addDestination(web, { address: '10.1.0.2', forwarding: 'tunnel' });
    await expect(ipvs.updateDestination(web, { address: '10.1.0.2', forwarding: 'tunnel', tunnel: { type: 'gre' } })).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    expect(await ipvs.listDestinations(web)).toHaveLength(1);
  });

  it('pairs every service of a listing with its own real servers', async () => {
    const { ipvs } = await client();
    const services: ServiceSpec[] = [
      web,
      { protocol: 'udp', address: '10.0.0.1', port: 53, scheduler: 'wlc' },
      { protocol: 'tcp', address: '2001:db8::1', port: 443 },
      { fwmark: 7, scheduler: 'sh' },
      { protocol: 'tcp', address: '10.0.0.9', port: 80 },
    ];
    for (const s of services) await ipvs.addService(s);
    const dests: Record<number, string[]> = { 0: ['10.1.0.1', '10.1.0.2'], 1: ['10.2.0.1'], 2: ['2001:db8::a', '2001:db8::b', '2001:db8::c'], 3: ['10.3.0.1'] };
    await Promise.all(Object.entries(dests).flatMap(([i, addrs]) => addrs.map((address) => ipvs.addDestination(services[Number(i)]!, { address, port: 8080, forwarding: 'masq' }))));
    const listed = await ipvs.listServices({ withDestinations: true });
    expect(listed).toHaveLength(services.length);
    for (const [i, s] of services.entries()) {
      const got = listed.find((l) => ('fwmark' in s ? l.fwmark === s.fwmark : l.address === s.address && l.port === s.port && l.protocol === s.protocol))!;
      expect(got, `service ${i}`).toBeDefined();
      expect(got.destinations!.map((d) => d.address).sort()).toEqual((dests[i] ?? []).slice().sort());
    }
  });

  it('words a refused change from its subject, on the staged lane and the general one alike', async () => {
    const { ipvs } = await client();
    await ipvs.addService(web);
    await expect(ipvs.addService(web)).rejects.toMatchObject({ code: 'EEXIST', message: 'virtual service TCP 10.0.0.1:80 already exists' });
    const v6 = { protocol: 'tcp' as const, address: '2001:db8::1', port: 80 };
    await ipvs.addService(v6);
    await expect(ipvs.addService(v6)).rejects.toMatchObject({ code: 'EEXIST', message: 'virtual service TCP [2001:db8::1]:80 already exists' });
    const results = await ipvs.batch().addService(web).addService({ ...web, port: 82 }).deleteService({ ...web, port: 83 }).run();
    expect(results.map((r) => (r.ok ? 'ok' : 'error' in r ? r.error.message : 'skipped'))).toEqual([
      'virtual service TCP 10.0.0.1:80 already exists',
      'ok',
      'virtual service TCP 10.0.0.1:83 does not exist',
    ]);
  });
});

describe('debug output', () => {
  it('prints each message decoded: command and attributes by name, replies as acks and errors', async () => {
    const lines: string[] = [];
    const ipvs = await IpvsClient.open({ nativeBinding: fakeKernel(), debug: (l) => lines.push(l) });
    open.push(ipvs);
    await ipvs.addService(web);
    await ipvs.addService(web).catch(() => undefined);
    await ipvs.addDestination(web, { address: '10.1.0.1', port: 8080, forwarding: 'masq' });
    const text = lines.join('\n');
    expect(text).toMatch(/^send seq \d+ \[request\|ack\] nlctrl cmd 3 name=IPVS$/m);
    expect(text).toMatch(/^send seq \d+ \[request\|ack\] IPVS GET_INFO$/m);
    expect(text).toMatch(/^recv seq \d+ \[0\] IPVS GET_INFO VERSION=66049 CONN_TAB_SIZE=4096$/m);
    expect(text).toMatch(/^send seq \d+ \[request\|ack\] IPVS NEW_SERVICE SERVICE \{ AF=2 PROTOCOL=6 ADDR=10\.0\.0\.1 PORT=80 SCHED_NAME="rr" FLAGS=0x0\/0xffffffff TIMEOUT=0 NETMASK=255\.255\.255\.255 \}$/m);
    expect(text).toMatch(/^recv seq \d+ \[0\] error EEXIST$/m);
    expect(text).toMatch(/IPVS NEW_DEST SERVICE \{ AF=2 PROTOCOL=6 ADDR=10\.0\.0\.1 PORT=80 \} DEST \{ ADDR=10\.1\.0\.1 PORT=8080 FWD_METHOD=0 WEIGHT=1 U_THRESH=0 L_THRESH=0 ADDR_FAMILY=2 \}/);
    expect(text).toMatch(/^recv seq \d+ \[0\] ack$/m);
  });
});

describe('listing with real servers, held to its naive twin', () => {
  it('equals a listing of services, then listDestinations of each', async () => {
    const { ipvs } = await client();
    const services: ServiceSpec[] = Array.from({ length: 40 }, (_, i) =>
      i % 3 === 0 ? { protocol: 'tcp', address: `2001:db8::${i + 1}`, port: 80 } : i % 5 === 0 ? { fwmark: i + 1 } : { protocol: 'udp', address: `10.0.${i}.1`, port: 53 },
    );
    for (const s of services) await ipvs.addService(s);
    for (const [i, s] of services.entries()) {
      for (let j = 0; j < i % 4; j++) await ipvs.addDestination(s, { address: 'address' in s && s.address?.includes(':') ? `2001:db8:1::${i}:${j + 1}` : `10.9.${i}.${j + 1}`, port: 8000 + j, weight: j });
    }
    const fast = await ipvs.listServices({ withDestinations: true });
    const naive = await ipvs.listServices();
    for (const s of naive) s.destinations = await ipvs.listDestinations(s as never);
    expect(fast).toEqual(naive);
  });
});
