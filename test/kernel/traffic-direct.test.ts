// Real packets through IPVS in the modes where replies skip the director:
// direct routing (route) and the three tunnel kinds (ipip, gue, gre). The
// backends hold the VIP on loopback and answer the client over a link of
// their own; the director only ever sees the requests.
import { describe, expect, it } from 'vitest';
import { useTopology } from '../helpers/topology.js';
import { type DestinationSpec, type ServiceKey } from '../../src/index.js';

const t = useTopology({ prefix: 'ipvs-direct', backends: 2, directReturn: true });
const svc = (): ServiceKey => ({ protocol: 'tcp', address: t.topo.vip, port: 80 });
const poll = { timeout: 6000, interval: 250 };

/** Reads counters from /sys/class/net/DEV/statistics in a namespace. */
async function counter(netns: string, dev: string, name: string): Promise<number> {
  return Number(await t.topo.exec(netns, 'cat', [`/sys/class/net/${dev}/statistics/${name}`]));
}
/** Sum of a counter over every backend's device, or over the client's return links. */
const backendsRx = async (dev: string) => (await Promise.all(t.topo.backends.map((b) => counter(b.netns, dev, 'rx_packets')))).reduce((a, b) => a + b, 0);
const returnRx = async () => (await Promise.all(t.topo.backends.map((_, i) => counter(t.topo.client.netns, `r${i + 1}`, 'rx_packets')))).reduce((a, b) => a + b, 0);
/** The UDP datagrams a backend's stack took in (/proc/net/snmp Udp InDatagrams). */
async function udpIn(netns: string): Promise<number> {
  const lines = (await t.topo.exec(netns, 'cat', ['/proc/net/snmp'])).split('\n').filter((l) => l.startsWith('Udp:'));
  const [head, values] = lines.map((l) => l.trim().split(/\s+/));
  return Number(values![head!.indexOf('InDatagrams')]);
}

/**
 * Balances 10 requests over both backends with the given forwarding, checks
 * the 5/5 split, that the director counted 10 connections and sent nothing
 * back (no reply passed through it), and that the replies came in on the
 * client's direct links.
 */
async function balance(dest: Omit<DestinationSpec, 'address'>) {
  await t.ipvs.addService({ ...svc(), scheduler: 'rr' });
  for (const b of t.topo.backends) await t.ipvs.addDestination(svc(), { ...dest, address: b.address });
  const rxBefore = await returnRx();
  const r = await t.topo.request({ count: 10 });
  expect(r.errors).toEqual({});
  expect(r.counts).toEqual({ 'backend-1': 5, 'backend-2': 5 });
  // The backends saw the real client address (no NAT on the way).
  expect(new Set(r.results.map((x) => x.client))).toEqual(new Set([t.topo.client.address]));
  const stats = async () => (await t.ipvs.getService(svc()))!.stats;
  await expect.poll(async () => (await stats()).connections, poll).toBe(10n);
  const s = await stats();
  expect(s.packetsIn).toBeGreaterThanOrEqual(30n); // SYN, ACK, request, FIN... per connection
  expect(s.packetsOut).toBe(0n);
  // Each answer is at least a SYN-ACK, the response and a FIN.
  expect((await returnRx()) - rxBefore).toBeGreaterThanOrEqual(30);
  return r;
}

describe('direct routing and tunnel traffic', () => {
  it('route (DR): VIP on the backends loopback, replies skip the director', async () => {
    await t.topo.setupDirectRouting();
    for (const b of t.topo.backends) {
      expect(await t.topo.exec(b.netns, 'ip', ['-o', 'addr', 'show', 'dev', 'lo'])).toContain(`inet ${t.topo.vip}/32`);
    }
    await balance({ forwarding: 'route' });
  });

  it('tunnel ipip: backends decapsulate on tunl0', async () => {
    await t.topo.setupTunnel('ipip');
    const before = await backendsRx('tunl0');
    await balance({ forwarding: 'tunnel', tunnel: { type: 'ipip' } });
    expect((await backendsRx('tunl0')) - before).toBeGreaterThanOrEqual(30);
  });

  it('tunnel gue: IPIP in GUE over UDP to a FOU port on the backends', async () => {
    await t.topo.setupTunnel('gue', { port: 6080 });
    const before = await backendsRx('tunl0');
    const udpBefore = await Promise.all(t.topo.backends.map((b) => udpIn(b.netns)));
    await balance({ forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } });
    const dests = await t.ipvs.listDestinations(svc());
    expect(dests.map((d) => d.tunnel)).toEqual([{ type: 'gue', port: 6080, checksum: 'none' }, { type: 'gue', port: 6080, checksum: 'none' }]);
    expect((await backendsRx('tunl0')) - before).toBeGreaterThanOrEqual(30);
    // The packets arrived as UDP datagrams (GUE) before decapsulation.
    const udpAfter = await Promise.all(t.topo.backends.map((b) => udpIn(b.netns)));
    udpAfter.forEach((n, i) => expect(n - udpBefore[i]!).toBeGreaterThanOrEqual(15));
  });

  it('tunnel gre: backends decapsulate on gre0', async () => {
    await t.topo.setupTunnel('gre');
    const before = await backendsRx('gre0');
    await balance({ forwarding: 'tunnel', tunnel: { type: 'gre' } });
    expect((await backendsRx('gre0')) - before).toBeGreaterThanOrEqual(30);
  });
});
