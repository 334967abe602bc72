// Real packets through IPVS in NAT (masq) mode: a client namespace, a
// director where the library programs IPVS, and three backends answering
// with their names. Every scheduler claim is checked on what the backends
// actually answered.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { useTopology } from '../helpers/topology.js';
import { type Destination, type ServiceKey } from '../../src/index.js';

const t = useTopology({ prefix: 'ipvs-nat', backends: 3, tcpPorts: [80, 8080], udpPorts: [5353], clientAddresses: 8 });
const svc = (port = 80): ServiceKey => ({ protocol: 'tcp', address: t.topo.vip, port });

/** Maps each destination to the backend's name (the kernel lists newest first). */
const named = <T>(dests: Destination[], pick: (d: Destination) => T): Record<string, T> =>
  Object.fromEntries(dests.map((d) => [t.topo.backends.find((b) => b.address === d.address)!.name, pick(d)]));

/**
 * The kernel folds per-CPU traffic counters into what it reports every two
 * seconds (its rate estimator's tick), so counters are polled.
 */
const connectionsOf = (key: ServiceKey) => async () => named(await t.ipvs.listDestinations(key), (d) => d.stats.connections);
const poll = { timeout: 6000, interval: 250 };

/** Legacy iptables where both exist: the test kernel's nf_tables lacks the ip family. */
const iptables = (() => {
  try {
    execFileSync('iptables-legacy', ['--version'], { stdio: 'ignore' });
    return 'iptables-legacy';
  } catch {
    return 'iptables';
  }
})();

/** Adds a service and one masq destination per backend (weights in order, default 1). */
async function service(scheduler: string, weights: number[] = [1, 1, 1], key: ServiceKey = svc()) {
  await t.ipvs.addService({ ...key, scheduler });
  for (const [i, weight] of weights.entries()) {
    await t.ipvs.addDestination(key, { address: t.topo.backends[i]!.address, forwarding: 'masq', weight });
  }
}

describe('masq (NAT) traffic', () => {
  it('rr over three backends gives exactly 10/10/10 for 30 requests', async () => {
    await service('rr');
    const r = await t.topo.request({ count: 30 });
    expect(r.failures).toBe(0);
    expect(r.counts).toEqual({ 'backend-1': 10, 'backend-2': 10, 'backend-3': 10 });
    // Round robin: every three consecutive replies name three backends.
    for (let i = 0; i + 3 <= 30; i += 3) expect(new Set(r.replies.slice(i, i + 3)).size).toBe(3);
    // NAT keeps the client's address; the kernel's counters agree.
    expect(new Set(r.results.map((x) => x.client))).toEqual(new Set([t.topo.client.address]));
    await expect.poll(connectionsOf(svc()), poll).toEqual({ 'backend-1': 10n, 'backend-2': 10n, 'backend-3': 10n });
    // Replies came back through the director (NAT), so it counted them.
    const dests = await t.ipvs.listDestinations(svc());
    expect(dests.every((d) => d.stats.packetsOut > 0n)).toBe(true);
  });

  it('wrr with weights 3:1 splits 3:1', async () => {
    await service('wrr', [3, 1]);
    const r = await t.topo.request({ count: 40 });
    expect(r.failures).toBe(0);
    expect(r.counts).toEqual({ 'backend-1': 30, 'backend-2': 10, 'backend-3': 0 });
  });

  it('sh sends each client always to the same backend', async () => {
    await service('sh');
    const chosen = new Map<string, string>();
    for (const localAddress of t.topo.client.addresses) {
      const r = await t.topo.request({ count: 6, localAddress });
      expect(r.failures).toBe(0);
      expect(new Set(r.replies).size).toBe(1);
      expect(r.results[0]!.client).toBe(localAddress);
      chosen.set(localAddress, r.replies[0]!);
    }
    // Eight source addresses hash onto more than one backend.
    expect(new Set(chosen.values()).size).toBeGreaterThan(1);
    // Asked again later, every client still lands where it did.
    for (const [localAddress, backend] of chosen) {
      expect((await t.topo.request({ count: 2, localAddress })).replies).toEqual([backend, backend]);
    }
  });

  for (const scheduler of ['lc', 'sed', 'nq']) {
    it(`${scheduler} prefers the idle backend while another holds open connections`, async () => {
      // backend-2 takes nothing while backend-1 collects three open connections...
      await service(scheduler, [1, 0]);
      try {
        await t.topo.hold({ count: 3 });
        await t.ipvs.updateDestination(svc(), { address: t.topo.backends[1]!.address, weight: 1 });
        // (Connections count as active once the handshake's last ACK went through.)
        const active = async () => named(await t.ipvs.listDestinations(svc()), (d) => d.activeConnections);
        await expect.poll(active, poll).toEqual({ 'backend-1': 3, 'backend-2': 0 });
        // ...then every new connection goes to the idle one.
        const r = await t.topo.request({ count: 6 });
        expect(r.failures).toBe(0);
        expect(r.counts).toEqual({ 'backend-1': 0, 'backend-2': 6, 'backend-3': 0 });
      } finally {
        await t.topo.release();
      }
    });
  }

  it('weight 0 stops new connections to a backend while the others keep serving', async () => {
    await service('rr');
    expect((await t.topo.request({ count: 3 })).counts['backend-2']).toBe(1);
    await t.ipvs.updateDestination(svc(), { address: t.topo.backends[1]!.address, weight: 0 });
    const r = await t.topo.request({ count: 20 });
    expect(r.failures).toBe(0);
    expect(r.counts).toEqual({ 'backend-1': 10, 'backend-2': 0, 'backend-3': 10 });
  });

  it('deleting a destination removes it from rotation', async () => {
    await service('rr');
    expect((await t.topo.request({ count: 3 })).counts['backend-3']).toBe(1);
    await t.ipvs.deleteDestination(svc(), { address: t.topo.backends[2]!.address });
    const r = await t.topo.request({ count: 20 });
    expect(r.failures).toBe(0);
    expect(r.counts).toEqual({ 'backend-1': 10, 'backend-2': 10, 'backend-3': 0 });
  });

  it('balances a UDP echo service over two backends', async () => {
    const key: ServiceKey = { protocol: 'udp', address: t.topo.vip, port: 5353 };
    await service('rr', [1, 1], key);
    const r = await t.topo.udp({ count: 10, payload: 'hello' });
    expect(r.failures).toBe(0);
    expect(r.counts).toEqual({ 'backend-1': 5, 'backend-2': 5, 'backend-3': 0 });
    expect(r.results.every((x) => x.echo === 'hello')).toBe(true);
    await expect.poll(connectionsOf(key), poll).toEqual({ 'backend-1': 5n, 'backend-2': 5n });
  });

  it('balances two ports as one firewall-mark service (iptables marking)', async () => {
    const rule = ['PREROUTING', '-d', `${t.topo.vip}/32`, '-p', 'tcp', '-m', 'multiport', '--dports', '80,8080', '-j', 'MARK', '--set-mark', '7'];
    await t.topo.exec(t.topo.director.netns, iptables, ['-t', 'mangle', '-A', ...rule]);
    try {
      await t.ipvs.addService({ fwmark: 7, scheduler: 'rr' });
      for (const b of t.topo.backends.slice(0, 2)) await t.ipvs.addDestination({ fwmark: 7 }, { address: b.address, forwarding: 'masq' });
      expect(await t.ipvs.listServices()).toMatchObject([{ fwmark: 7, scheduler: 'rr' }]);
      // Port 0 destinations: each connection keeps the port it was sent to.
      const r80 = await t.topo.request({ port: 80, count: 6 });
      const r8080 = await t.topo.request({ port: 8080, count: 6 });
      for (const [r, port] of [[r80, 80], [r8080, 8080]] as const) {
        expect(r.failures).toBe(0);
        expect(r.results.every((x) => x.port === port)).toBe(true);
        expect(r.counts).toEqual({ 'backend-1': 3, 'backend-2': 3, 'backend-3': 0 });
      }
      await expect.poll(connectionsOf({ fwmark: 7 }), poll).toEqual({ 'backend-1': 6n, 'backend-2': 6n });
      // Unmarked traffic is not the service's: port 81 is refused by the director itself.
      expect((await t.topo.request({ port: 81, count: 1, timeoutMs: 2000 })).errors).toEqual({ ECONNREFUSED: 1 });
    } finally {
      await t.topo.exec(t.topo.director.netns, iptables, ['-t', 'mangle', '-D', ...rule]);
    }
  });

  it('serves a bounded load run with many concurrent clients and no failure', async () => {
    await service('rr');
    const count = 3000;
    const concurrency = 100;
    const r = await t.topo.request({ count, concurrency });
    console.log(`load run: ${count} requests, ${concurrency} concurrent clients, ${r.failures} failed; split`, r.counts);
    expect(r.errors).toEqual({});
    expect(r.failures).toBe(0);
    // rr schedules each new connection in turn, concurrency or not.
    expect(r.counts).toEqual({ 'backend-1': 1000, 'backend-2': 1000, 'backend-3': 1000 });
  });
});
