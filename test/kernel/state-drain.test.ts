/**
 * Graceful removal with real traffic: a client holds a TCP connection to a
 * backend and sends a request on it every half second; the backend is
 * removed from the desired state with draining on. It must stay listed at
 * weight 0, get no new connections, keep answering on the held one, and go
 * once the connection closes (or at the deadline while it stays open); one
 * wanted again while draining is restored, not re-added.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { useTopology } from '../helpers/topology.js';
import type { DesiredState } from '../../src/index.js';

const t = useTopology({ prefix: 'ipvs-drain', backends: 2, tcpPorts: [80] });

/** Holds one HTTP/1.1 connection (to backend `want` if given) and sends a GET on it every 500 ms. */
const KEEPER = `
const net = require('node:net');
const readline = require('node:readline');
const [host, port, want] = process.argv.slice(1);
const GET = 'GET / HTTP/1.1\\r\\nHost: vip\\r\\n\\r\\n';
const names = (text) => [...text.matchAll(/x-backend: (\\S+)/gi)].map((m) => m[1]);
function open() {
  return new Promise((resolve) => {
    const s = net.connect({ host, port: Number(port) }, () => s.write(GET));
    let text = '';
    const onData = (d) => { text += d; const n = names(text); if (n.length) { s.off('data', onData); resolve([s, n[0]]); } };
    s.on('data', onData);
    s.on('error', () => resolve([s, 'error']));
  });
}
(async () => {
  let sock;
  for (let i = 0; i < 20 && !sock; i++) {
    const [s, name] = await open();
    if (!want || name === want) sock = s; else s.destroy();
  }
  if (!sock) return console.log(JSON.stringify({ error: 'never reached ' + want }));
  let text = '';
  let closed = false;
  sock.on('data', (d) => (text += d));
  sock.on('close', () => (closed = true));
  sock.on('error', () => {});
  const timer = setInterval(() => closed || sock.write(GET), 500);
  console.log(JSON.stringify({ ready: true }));
  readline.createInterface({ input: process.stdin }).on('line', (l) => {
    if (l === 'report') console.log(JSON.stringify({ answers: names(text), closed }));
    if (l === 'rst') { clearInterval(timer); sock.resetAndDestroy(); console.log(JSON.stringify({ closed: true })); }
  }).on('close', () => process.exit(0));
})();
`;

interface Keeper {
  ask(line: string): Promise<Record<string, unknown>>;
  stop(): void;
}
const keepers: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const k of keepers.splice(0)) k.kill();
  for (const d of t.ipvs.draining()) d.cancel();
});

async function keeper(want: string): Promise<Keeper> {
  const child = spawn('ip', ['netns', 'exec', t.topo.client.netns, process.execPath, '-e', KEEPER, t.topo.vip, '80', want]);
  keepers.push(child);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value as string) as Record<string, unknown>;
  const first = await next();
  if (!first.ready) throw new Error(`keeper: ${JSON.stringify(first)}`);
  return {
    ask: (line) => (child.stdin.write(`${line}\n`), next()),
    stop: () => child.kill(),
  };
}

const state = (names: string[], weight = 1): DesiredState => ({
  services: [{
    protocol: 'tcp', address: t.topo.vip, port: 80, scheduler: 'rr',
    destinations: t.topo.backends.filter((b) => names.includes(b.name)).map((b) => ({ address: b.address, forwarding: 'masq' as const, weight })),
  }],
});
const listed = async () => Object.fromEntries((await t.ipvs.listDestinations({ protocol: 'tcp', address: t.topo.vip, port: 80 })).map((d) => [t.topo.backends.find((b) => b.address === d.address)!.name, d]));

describe('graceful removal', () => {
  it('keeps a removed server at weight 0 serving its open connection, sends it nothing new, and deletes it once the connection closes', async () => {
    await t.ipvs.apply(state(['backend-1', 'backend-2'], 3));
    const k = await keeper('backend-1');
    const r = await t.ipvs.apply(state(['backend-2'], 3), { drain: { timeoutSeconds: 120 } });
    // apply returned while the drain goes on
    expect(r.changes.map((c) => c.change.op)).toEqual(['drainDestination']);
    expect(r.drains).toHaveLength(1);
    expect(t.ipvs.draining()).toEqual(r.drains);
    expect((await listed())['backend-1']).toMatchObject({ weight: 0, activeConnections: 1 });
    // no new connection goes to it
    const fresh = await t.topo.request({ count: 10 });
    expect(fresh.counts).toEqual({ 'backend-1': 0, 'backend-2': 10 });
    // the open one is still served, by it
    const before = ((await k.ask('report')).answers as string[]).length;
    await expect.poll(async () => (await k.ask('report')).answers as string[], { timeout: 5000, interval: 300 }).toSatisfy((a: string[]) => a.length > before + 2 && a.every((n) => n === 'backend-1'));
    expect((await k.ask('report')).closed).toBe(false);
    // a second apply of the same state leaves the drain alone
    expect((await t.ipvs.plan(state(['backend-2'], 3))).changes).toEqual([]);
    expect(await listed()).toHaveProperty('backend-1');
    // the connection ends (a reset: the kernel then forgets it after its CLOSE timeout, 10 s)
    await k.ask('rst');
    expect(await r.drains[0]!.done).toEqual({ outcome: 'drained' });
    expect(Object.keys(await listed())).toEqual(['backend-2']);
    expect(t.ipvs.draining()).toEqual([]);
  });

  it('deletes at the deadline a server whose connection stays open', async () => {
    await t.ipvs.apply(state(['backend-1', 'backend-2']));
    const k = await keeper('backend-2');
    const r = await t.ipvs.apply(state(['backend-1']), { drain: { timeoutSeconds: 3 } });
    expect(r.drains[0]!.destination).toEqual({ address: t.topo.backends[1]!.address, port: 80 });
    expect(await r.drains[0]!.done).toEqual({ outcome: 'deadline' });
    expect(r.drains[0]!.connections).toBeGreaterThan(0);
    expect(Object.keys(await listed())).toEqual(['backend-1']);
    expect((await k.ask('report')).answers).toContain('backend-2');
  });

  it('restores a server wanted again while it drains (one update, not an add)', async () => {
    await t.ipvs.apply(state(['backend-1', 'backend-2'], 4));
    await keeper('backend-1');
    const r = await t.ipvs.apply(state(['backend-2'], 4), { drain: { timeoutSeconds: 120 } });
    const back = await t.ipvs.apply(state(['backend-1', 'backend-2'], 4), { drain: { timeoutSeconds: 120 } });
    expect(back.changes).toEqual([
      { ok: true, change: expect.objectContaining({ op: 'updateDestination', fields: ['weight'], before: { weight: 0 }, reason: 'wanted again while draining: restored' }) },
    ]);
    expect(await r.drains[0]!.done).toEqual({ outcome: 'restored' });
    expect((await listed())['backend-1']).toMatchObject({ weight: 4, activeConnections: 1 });
    expect(t.ipvs.draining()).toEqual([]);
  });

  it('drains a removed service, deletes UDP servers at once when asked, and cancel leaves weight 0', async () => {
    const udp = { protocol: 'udp' as const, address: t.topo.vip, port: 53, destinations: t.topo.backends.map((b) => ({ address: b.address, forwarding: 'masq' as const })) };
    // (port 81: the kernel would hand back port 80's servers from its trash, with the
    // earlier tests' connections still counted in TIME_WAIT for two minutes)
    const tcp = { protocol: 'tcp' as const, address: t.topo.vip, port: 81, destinations: t.topo.backends.map((b) => ({ address: b.address, port: 80, forwarding: 'masq' as const })) };
    await t.ipvs.apply({ services: [tcp, udp] });
    const r = await t.ipvs.apply({ services: [{ ...udp, destinations: [udp.destinations[0]!] }] }, { drain: { timeoutSeconds: 60, udpImmediate: true } });
    expect(r.changes.map((c) => c.change.op).sort()).toEqual(['deleteDestination', 'drainService', 'updateDestination', 'updateDestination']);
    expect(r.drains).toHaveLength(1);
    expect(r.drains[0]!.destination).toBeUndefined();
    // idle: the service goes at the next poll
    expect(await r.drains[0]!.done).toEqual({ outcome: 'drained' });
    expect((await t.ipvs.listServices()).map((s) => s.protocol)).toEqual(['udp']);
    // cancel
    await t.ipvs.apply(state(['backend-1', 'backend-2']));
    await keeper('backend-1');
    const c = await t.ipvs.apply(state(['backend-2']), { drain: { timeoutSeconds: 60 } });
    c.drains[0]!.cancel();
    expect(await c.drains[0]!.done).toEqual({ outcome: 'cancelled' });
    expect((await listed())['backend-1']).toMatchObject({ weight: 0 });
  });
});
