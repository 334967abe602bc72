// Active/active directors behind ECMP with the real daemons: a router
// namespace runs BIRD 2 and installs a multipath route to the VIP (L4
// hashing, fib_multipath_hash_policy=1); three directors each run BIRD
// announcing the VIP over BGP and carry the same direct-routing service
// with the `mh` scheduler (Maglev hashing, port included) and
// net.ipv4.vs.sloppy_tcp=1, applied from the same desired state. One lab for
// the whole file (examples/lib/multi.mjs); tests run in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMultiLab, directorBirdConf, routerBirdConf, type LabProcess, type LineResult, type MultiLab } from '../../examples/lib/multi.mjs';
import { Ipvs, type DesiredState, type IpvsConnection } from '../../src/index.js';
import { maglevPick, maglevTable, type MaglevTable } from '../helpers/maglev.js';

let lab: MultiLab;
const handles: Ipvs[] = [];
const bird: LabProcess[] = [];
/** Each director's bird.conf (to start BIRD again). */
const birdConf: string[] = [];
/** The director whose BIRD the withdrawal test stopped. */
let withdrawn = -1;
const poll = { timeout: 60_000, interval: 250 };
const slow = 150_000;

const svc = () => ({ protocol: 'tcp' as const, address: lab.vip, port: lab.port });
const desired = (weights: Record<string, number> = {}): DesiredState => ({
  sysctls: { sloppy_tcp: true },
  services: [{
    ...svc(), scheduler: 'mh', schedulerFlags: ['mh-port', 'mh-fallback'],
    destinations: lab.backends.map((b) => ({ address: b.address, port: lab.port, forwarding: 'route' as const, weight: weights[b.name] ?? 1 })),
  }],
});
const conns = (i: number) => handles[i]!.listConnections();
const backendOf = (c: IpvsConnection) => lab.backends.find((b) => b.address === c.destination.address)!.name;
/** Next hops of the router's route to the VIP. */
const nexthops = async () => ((await lab.exec(lab.router!.netns, 'ip', ['route', 'show', `${lab.vip}/32`])).match(/via 10\.9\.0\.\d+/g) ?? []).length;

async function until<T>(fn: () => Promise<T>, want: T, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await fn();
    if (JSON.stringify(last) === JSON.stringify(want)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`still ${JSON.stringify(last)}, not ${JSON.stringify(want)}, after ${timeoutMs} ms`);
}

const PROBE_PORTS = Array.from({ length: 32 }, (_, i) => 62001 + i);

/**
 * Sends the same flows (the probe's address, fixed client ports) to
 * director i alone and returns the real server it chose for each, read from
 * its connection table. The connections are reset afterwards (no
 * TIME_WAIT), so the next director sees the very same 5-tuples.
 */
async function mapping(i: number, ports = PROBE_PORTS): Promise<Record<number, string>> {
  await lab.ip(lab.probe!.netns, [`route replace ${lab.vip}/32 via ${lab.directors[i]!.address}`]);
  const opened = await Promise.all(ports.map((p) => lab.probeCall({ op: 'open', name: `p${p}`, localPort: p })));
  expect(opened.filter((o) => o.error)).toEqual([]);
  const table = (await conns(i)).filter((c) => c.client.address === lab.probe!.address && ports.includes(c.client.port) && c.state === 'ESTABLISHED');
  await Promise.all(ports.map((p) => lab.probeCall({ op: 'close', name: `p${p}`, reset: true })));
  expect(table).toHaveLength(ports.length);
  return Object.fromEntries(table.map((c) => [c.client.port, backendOf(c)]));
}

/** The kernel's list of real servers of director i, in its order. */
const listed = async (i: number) => (await handles[i]!.listDestinations(svc())).map((x) => ({ address: x.address, port: x.port }));
/** What the model of mh (test/helpers/maglev.ts) predicts for these flows of the probe. */
const predicted = (t: MaglevTable, ports: number[]) =>
  Object.fromEntries(ports.map((p) => [p, lab.backends.find((b) => b.address === maglevPick(t, lab.probe!.address, p))!.name]));

beforeAll(async () => {
  lab = await createMultiLab({ prefix: 'me', directors: 3, backends: 3, routed: true, probe: true });
  for (const d of lab.directors) {
    const h = await Ipvs.open({ netns: d.netns });
    handles.push(h);
    await h.apply(desired());
  }
  bird.push(lab.daemon(lab.router!.netns, 'bird', ['-f', '-c', lab.file('router.conf', routerBirdConf({ address: lab.router!.address, directors: lab.directors })), '-s', `${lab.dir}/router.ctl`]));
  lab.directors.forEach((d, i) => {
    birdConf.push(lab.file(`director-${i + 1}.conf`, directorBirdConf({ address: d.address, router: lab.router!.address, vip: lab.vip })));
    bird.push(startBird(i));
  });
  await until(nexthops, lab.directors.length).catch((e: Error) => {
    throw new Error(`${e.message}\n${bird.map((b) => b.log).join('\n')}`);
  });
}, 180_000);

/** Starts BIRD on director i. */
const startBird = (i: number) => lab.daemon(lab.directors[i]!.netns, 'bird', ['-f', '-c', birdConf[i]!, '-s', `${lab.dir}/director-${i + 1}.ctl`]);

afterAll(async () => {
  for (const h of handles) h.close();
  await lab?.destroy();
});

/**
 * Long connections `names`, opened from consecutive local ports: each one's
 * first real server and port, and the director whose table holds it (ECMP
 * chose); the victim is the director carrying the most.
 */
async function openLongs(names: string[], firstPort: number) {
  const first: Record<string, string> = {};
  const ports: Record<string, number> = {};
  for (const [i, name] of names.entries()) {
    const o = await lab.call({ op: 'open', name, localPort: firstPort + i });
    expect(o.error).toBeUndefined();
    ports[name] = o.localPort!;
    first[name] = (await lab.call({ op: 'ping', name })).backend!;
  }
  const carriedBy = (t: IpvsConnection[], n: string) => t.some((c) => c.client.port === ports[n] && c.state === 'ESTABLISHED');
  const tables = await Promise.all(lab.directors.map((_, i) => conns(i)));
  const before = Object.fromEntries(names.map((n) => [n, tables.findIndex((t) => carriedBy(t, n))]));
  const counts = lab.directors.map((_, i) => names.filter((n) => before[n] === i).length);
  const victim = counts.indexOf(Math.max(...counts));
  expect(counts[victim]).toBeGreaterThan(0);
  return { first, carriedBy, before, counts, victim };
}

/**
 * Streams on every long connection and a request loop while `withdraw` takes
 * a director out, until the router has one next hop fewer (and 2 s more).
 * Each long connection must keep its real server all along, on whichever
 * director, and be answered after convergence.
 */
async function acrossWithdrawal(names: string[], first: Record<string, string>, withdraw: () => Promise<void>) {
  for (const name of names) await lab.call({ op: 'stream', name, intervalMs: 200 });
  await lab.call({ op: 'loop', intervalMs: 50, timeoutMs: 3000 });
  await new Promise((r) => setTimeout(r, 500));
  const since = Date.now();
  await withdraw();
  await until(nexthops, lab.directors.length - 1);
  const converged = Date.now();
  await new Promise((r) => setTimeout(r, 2000));
  const loop = (await lab.call({ op: 'unloop' })).results!;
  const streams: Record<string, LineResult[]> = {};
  for (const name of names) streams[name] = (await lab.call({ op: 'unstream', name })).results!;
  for (const name of names) {
    expect(streams[name]!.filter((r) => r.backend !== first[name]), name).toEqual([]);
    expect(streams[name]!.filter((r) => r.t! > converged).length, name).toBeGreaterThan(0);
  }
  return { since, converged, loop };
}

describe('active/active: BGP + ECMP to directors running mh with sloppy_tcp', () => {
  it('every director maps the same flows to the same real servers, also after a different history', async () => {
    expect((await handles[0]!.getSysctls()).sloppy_tcp).toBe(true);
    const applied = await listed(0);
    expect(await listed(1)).toEqual(applied);
    expect(await listed(2)).toEqual(applied);
    // The history director 2 goes through below: its last-listed real
    // server removed and added back by hand, so the kernel lists it first.
    const byHandOrder = [applied[2]!, applied[0]!, applied[1]!];
    // mh's table follows the list order, but only just: with three servers
    // of equal weight a handful of its 4093 slots change owner (a slot two
    // servers want at the same turn goes to the one listed first). The
    // model finds flows of the probe that land there; a test that only
    // sampled flows would almost never see the order matter.
    const model = maglevTable(applied);
    const other = maglevTable(byHandOrder);
    const decided: number[] = [];
    for (let p = 1024; p < 61000 && decided.length < 4; p++) {
      if (maglevPick(model, lab.probe!.address, p) !== maglevPick(other, lab.probe!.address, p)) decided.push(p);
    }
    expect(decided, 'flows whose real server depends on the order').toHaveLength(4);
    const ports = [...PROBE_PORTS, ...decided];

    const maps: Record<number, string>[] = [];
    for (let i = 0; i < lab.directors.length; i++) maps.push(await mapping(i, ports));
    expect(new Set(Object.values(maps[0]!)).size, 'flows spread over the real servers').toBeGreaterThan(1);
    expect(maps[1]).toEqual(maps[0]);
    expect(maps[2]).toEqual(maps[0]);
    // The model is the kernel's table (36 flows over three servers: no chance agreement).
    expect(maps[0]).toEqual(predicted(model, ports));

    // Negative control: director 2 gets the same set through another
    // history, by plain calls (no apply).
    const h = handles[1]!;
    const b3 = { address: lab.backends[2]!.address, port: lab.port };
    expect(applied[2]).toEqual(b3);
    await h.deleteDestination(svc(), b3);
    await h.addDestination(svc(), { ...b3, forwarding: 'route', weight: 1 });
    expect(await listed(1)).toEqual(byHandOrder);
    const byHand = await mapping(1, ports);
    // It now disagrees with the others on exactly the flows the order decides.
    expect(byHand).toEqual(predicted(other, ports));
    const moved = ports.filter((p) => byHand[p] !== maps[0]![p]);
    expect(moved).toEqual(ports.filter((p) => maglevPick(model, lab.probe!.address, p) !== maglevPick(other, lab.probe!.address, p)));
    expect(moved).toEqual(expect.arrayContaining(decided));
    const slots = model.slots.filter((x, s) => x !== other.slots[s]).length;
    console.log(`active/active: after a remove and re-add by hand, ${slots} of ${model.size} mh slots change owner; ${moved.length} of ${ports.length} probed flows (${moved.filter((p) => PROBE_PORTS.includes(p)).length} of the ${PROBE_PORTS.length} plain samples) map elsewhere on director 2`);

    // apply from the same desired state puts the list back in the documented order.
    await h.apply(desired(), { order: 'always' });
    expect(await listed(1)).toEqual(applied);
    expect(await mapping(1, ports)).toEqual(maps[0]);
    // The same history through apply alone (remove, then add back) ends in the same order too.
    await h.apply({ services: [{ ...desired().services[0]!, destinations: desired().services[0]!.destinations!.slice(0, 2) }] });
    await h.apply(desired());
    expect(await listed(1)).toEqual(applied);
    expect(await mapping(1, ports)).toEqual(maps[0]);
  }, slow);

  it('withdrawing a director mid-stream: its long-lived connections continue through the others, no request lost after convergence', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `long${i}`);
    const { first, carriedBy, before, counts, victim } = await openLongs(names, 61001);
    const { since, converged, loop } = await acrossWithdrawal(names, first, async () => {
      await bird[victim + 1]!.stop();
      withdrawn = victim;
    });
    const tables = await Promise.all(lab.directors.map((_, i) => conns(i)));
    const after = Object.fromEntries(names.map((n) => [n, tables.findIndex((t) => carriedBy(t, n))]));
    for (const name of names.filter((n) => before[n] === victim)) {
      expect(after[name], `${name} moved off director ${victim + 1}`).not.toBe(-1);
    }
    const lost = loop.filter((r) => r.t! >= since && r.error);
    expect(loop.filter((r) => r.t! >= converged && r.error), 'requests lost after convergence').toEqual([]);
    console.log(`active/active: director ${victim + 1} withdrawn (BIRD stopped) carrying ${counts[victim]} of ${names.length} connections; router converged in ${converged - since} ms; ${lost.length} requests lost before`);
  }, slow);

  it('cutting a director\'s link mid-stream: its long-lived connections continue through the others, no request lost after convergence', async () => {
    // The director withdrawn above comes back: ECMP hashes over three again
    // and the long connections keep their real servers on whichever director.
    expect(withdrawn).toBeGreaterThanOrEqual(0);
    bird[withdrawn + 1] = startBird(withdrawn);
    await until(nexthops, lab.directors.length);
    const longs = Array.from({ length: 8 }, (_, i) => `long${i}`);
    const kept: Record<string, string> = {};
    for (const name of longs) kept[name] = (await lab.call({ op: 'ping', name })).backend!;

    // Fresh long connections, each in exactly one director's table.
    const names = Array.from({ length: 8 }, (_, i) => `cut${i}`);
    const { first, carriedBy, before, counts, victim } = await openLongs(names, 61101);
    const dev = ['link', 'set', 'eth0'];
    // The director's side of its only link goes down: nothing tells the
    // router, which drops the route when BGP's hold time (3 s) runs out.
    const { since, converged, loop } = await acrossWithdrawal(names, first, async () => {
      await lab.exec(lab.directors[victim]!.netns, 'ip', [...dev, 'down']);
    });
    // The cut director's connections now have entries on the others.
    const after = await Promise.all(lab.directors.map((_, i) => conns(i)));
    for (const name of names.filter((n) => before[n] === victim)) {
      expect(after.some((t, i) => i !== victim && carriedBy(t, name)), `${name} taken over`).toBe(true);
    }
    const lost = loop.filter((r) => r.t! >= since && r.error);
    expect(loop.filter((r) => r.t! >= converged && r.error), 'requests lost after convergence').toEqual([]);
    expect(loop.filter((r) => r.t! >= converged).length).toBeGreaterThan(5);
    console.log(`active/active: director ${victim + 1}'s link cut carrying ${counts[victim]} of ${names.length} connections; router converged in ${converged - since} ms; ${lost.length} of ${loop.filter((r) => r.t! >= since).length} requests lost before`);

    // Mend (link down took the director's routes with it) and wait for its BGP session.
    await lab.exec(lab.directors[victim]!.netns, 'ip', [...dev, 'up']);
    await lab.ip(lab.directors[victim]!.netns, [`route replace default via ${lab.router!.address}`]);
    await until(nexthops, lab.directors.length);
    for (const name of longs) expect((await lab.call({ op: 'ping', name })).backend, name).toBe(kept[name]);
  }, slow);

  it('draining a real server on every director (weight 0, mh-fallback): its flows stay, new ones avoid it', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `long${i}`);
    const current: Record<string, string> = {};
    for (const name of names) current[name] = (await lab.call({ op: 'ping', name })).backend!;
    const drained = current[names[0]!]!;
    for (const h of handles) await h.apply(desired({ [drained]: 0 }));
    // Established flows to it go on...
    for (const name of names) expect((await lab.call({ op: 'ping', name })).backend, name).toBe(current[name]);
    // ...while new ones go elsewhere, whichever director ECMP picks.
    const fresh = (await lab.call({ op: 'requests', count: 30 })).results!;
    expect(fresh.filter((r) => r.error)).toEqual([]);
    expect(fresh.filter((r) => r.backend === drained)).toEqual([]);
    expect(new Set(fresh.map((r) => r.backend)).size).toBeGreaterThan(1);
  }, slow);
});
