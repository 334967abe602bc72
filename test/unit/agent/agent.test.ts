/**
 * What the Agent decides, over the TypeScript fake kernel
 * (test/helpers/fake-kernel.ts), a fake clock (timers, Date and
 * performance.now) and a stand-in probe whose results the test sets: the
 * apply on start, on a health transition, on a reload (failed servers out at
 * once, what left the file drained, checker state kept), on a resync (drift
 * repaired and logged), and what stop leaves or removes. The wiring to real
 * probes and the real kernel is asserted in test/kernel/agent-health.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../../src/agent/agent.js';
import type { CheckResult, Target } from '../../../src/agent/checks/index.js';
import { parseAgentText } from '../../../src/agent/config.js';
import { conversionYaml, convertKeepalived, problemLines } from '../../../src/agent/keepalived/convert.js';
import type { AgentEvent } from '../../../src/agent/log.js';
import { DestAttr } from '../../../src/ipvs/constants.js';
import { Ipvs } from '../../../src/handle.js';
import { fakeKernel, type FakeKernel } from '../../helpers/fake-kernel.js';

const VIP = '10.0.0.1';
const A = '10.1.0.2';
const B = '10.1.0.3';
const C = '10.1.0.4';

/** The agent file: one service of three real servers, TCP checks every second. */
function file(opts: { onFailure?: string; servers?: string[]; fall?: number; drain?: number } = {}): string {
  const servers = opts.servers ?? [A, B, C];
  return [
    `drainSeconds: ${opts.drain ?? 30}`,
    'services:',
    `  - { protocol: tcp, address: ${VIP}, port: 80, scheduler: rr, onFailure: ${opts.onFailure ?? 'remove'},`,
    `      checks: [{ type: tcp, interval: 1, timeout: 0.5, fall: ${opts.fall ?? 2}, rise: 2, warmup: 0 }],`,
    '      destinations: [' + servers.map((a) => `{ address: ${a}, forwarding: masq, weight: 5 }`).join(', ') + '] }',
    '',
  ].join('\n');
}

interface Deferred {
  promise: Promise<CheckResult>;
  resolve: (r: CheckResult) => void;
}

/** The probe's answers: up unless the test says otherwise; a held target waits for the test. */
function fakeProbe() {
  const down = new Set<string>();
  const held = new Map<string, Deferred>();
  const calls: string[] = [];
  const targets: Target[] = [];
  const probe = (_: unknown, t: Target): Promise<CheckResult> => {
    calls.push(t.address);
    targets.push(t);
    const hold = held.get(t.address);
    if (hold) {
      held.delete(t.address);
      return hold.promise;
    }
    return Promise.resolve(down.has(t.address) ? { ok: false, detail: 'ECONNREFUSED' } : { ok: true, detail: 'connected' });
  };
  /** The next probe of `address` waits until the returned function is called. */
  const hold = (address: string): ((r: CheckResult) => void) => {
    let resolve!: (r: CheckResult) => void;
    const promise = new Promise<CheckResult>((r) => (resolve = r));
    held.set(address, { promise, resolve });
    return resolve;
  };
  return { probe, down, hold, calls, targets };
}

/** Real turns of the event loop (the fake kernel answers on setImmediate, which stays real). */
async function settle(turns = 40): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

/** Moves the fake clock on in small steps, letting the agent and the fake kernel work between them. */
async function advance(ms: number, stepMs = 100): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    await vi.advanceTimersByTimeAsync(Math.min(stepMs, ms - t));
    await settle();
  }
}

let cleanup: (() => Promise<void>)[] = [];

async function setup(text: string, opts: { resyncSeconds?: number } = {}) {
  const kernel = fakeKernel();
  const ipvs = await Ipvs.open({ nativeBinding: kernel });
  const events: AgentEvent[] = [];
  const p = fakeProbe();
  const agent = new Agent(ipvs, parseAgentText(text, 'agent.yaml'), { log: (e) => events.push(e), probe: p.probe, random: () => 0, resyncSeconds: opts.resyncSeconds ?? 30 });
  let stopped = false;
  const stop = async (o: { remove?: boolean } = {}) => {
    stopped = true;
    await agent.stop(o);
  };
  cleanup.push(async () => {
    if (!stopped) await agent.stop();
    ipvs.close();
  });
  /** The kernel's real servers of the service: address -> weight. */
  const servers = async (): Promise<Record<string, number>> => {
    const [svc] = await ipvs.listServices({ withDestinations: true });
    return Object.fromEntries((svc?.destinations ?? []).map((d) => [d.address, d.weight]));
  };
  const of = (kind: AgentEvent['event']) => events.filter((e) => e.event === kind);
  return { kernel, ipvs, agent, events, of, servers, stop, ...p };
}

/** Sets a real server's active connections in the fake kernel (what a drain waits for). */
function setConnections(kernel: FakeKernel, address: string, n: number): void {
  const hex = Buffer.from(address.split('.').map(Number)).toString('hex');
  for (const svc of kernel.services.values()) {
    for (const [key, attrs] of svc.dests) {
      if (!key.startsWith(hex)) continue;
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, n, true);
      attrs.set(DestAttr.ACTIVE_CONNS, b);
    }
  }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
});
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
  vi.useRealTimers();
});

describe('Agent', () => {
  it('applies on start, takes a failed server out after fall failures and back after rise successes', async () => {
    const t = await setup(file());
    await t.agent.start();
    expect(await t.servers()).toEqual({ [A]: 5, [B]: 5, [C]: 5 });
    expect(t.of('start')).toEqual([{ event: 'start', services: 1, servers: 3, checks: 3 }]);
    expect(t.of('apply')).toMatchObject([{ reason: 'start' }]);
    expect(t.of('apply')[0]!.changes).toHaveLength(4); // the service and its three servers
    await advance(100); // the first checks (warmup 0) pass

    t.down.add(B);
    await advance(1000); // one failure: fall is 2
    expect(await t.servers()).toEqual({ [A]: 5, [B]: 5, [C]: 5 });
    expect(t.of('server-down')).toEqual([]);
    await advance(1000);
    expect(t.of('server-down')).toMatchObject([{ server: `TCP ${VIP}:80 -> ${B}:80`, detail: 'ECONNREFUSED' }]);
    expect(t.of('apply').at(-1)).toMatchObject({ reason: 'health', changes: [`- server TCP ${VIP}:80 -> ${B}:80`] });
    expect(await t.servers()).toEqual({ [A]: 5, [C]: 5 });

    t.down.delete(B);
    await advance(1000); // one success: rise is 2
    expect(await t.servers()).toEqual({ [A]: 5, [C]: 5 });
    await advance(1000);
    expect(t.of('server-up')).toMatchObject([{ server: `TCP ${VIP}:80 -> ${B}:80` }]);
    expect(await t.servers()).toEqual({ [A]: 5, [B]: 5, [C]: 5 });
    const st = t.agent.status().services[0]!.destinations.find((d) => d.address === B)!;
    expect(st.checks[0]).toMatchObject({ up: true, transitions: 2 });
  });

  it('with inhibit, a failed server stays at weight 0 and gets its weight back', async () => {
    const t = await setup(file({ onFailure: 'inhibit' }));
    await t.agent.start();
    t.down.add(C);
    await advance(2000);
    expect(await t.servers()).toEqual({ [A]: 5, [B]: 5, [C]: 0 });
    expect(t.agent.status().services[0]!.destinations.find((d) => d.address === C)).toMatchObject({ up: false, configuredWeight: 5, effectiveWeight: 0 });
    t.down.delete(C);
    await advance(2000);
    expect(await t.servers()).toEqual({ [A]: 5, [B]: 5, [C]: 5 });
  });

  it('a reload that coincides with a failure removes the failed server at once and drains only what left the file', async () => {
    const t = await setup(file({ fall: 1 }));
    await t.agent.start();
    await advance(500);
    // B's next check hangs until the test answers it; then the answer and a reload land in the same turn.
    const answer = t.hold(B);
    await advance(600);
    expect(t.calls.filter((a) => a === B)).toHaveLength(2);
    answer({ ok: false, detail: 'ECONNREFUSED' });
    const reloaded = t.agent.reload(parseAgentText(file({ fall: 1, servers: [A, B] }), 'agent.yaml'));
    await settle();
    await reloaded;
    // One apply for both: B (failed, policy remove) deleted, C (left the file) at weight 0 draining.
    const applies = t.of('apply');
    expect(applies.at(-1)!.reason).toMatch(/reload/);
    expect(applies.at(-1)!.reason).toMatch(/health/);
    expect(applies.at(-1)!.changes).toEqual([
      `- server TCP ${VIP}:80 -> ${B}:80`,
      `> server TCP ${VIP}:80 -> ${C}:80: weight 5 -> 0, deleted when idle, at the latest after 30 s`,
    ]);
    expect(await t.servers()).toEqual({ [A]: 5, [C]: 0 });
    expect(t.agent.status().draining.map((d) => d.id)).toEqual([`TCP ${VIP}:80 -> ${C}:80`]);
    // The checker state of B survived the reload: still down, not re-added by the next checks.
    expect(t.of('reload')).toEqual([{ event: 'reload', services: 1, servers: 2, kept: 2, added: 0, removed: 1 }]);
    const b = t.agent.status().services[0]!.destinations.find((d) => d.address === B)!;
    expect(b).toMatchObject({ up: false, effectiveWeight: null });
    expect(b.checks[0]).toMatchObject({ up: false, transitions: 1 });
    // C's drain ends when its connections do.
    setConnections(t.kernel, C, 3);
    t.down.add(B);
    await advance(2000);
    expect(await t.servers()).toEqual({ [A]: 5, [C]: 0 });
    setConnections(t.kernel, C, 0);
    await advance(1500);
    expect(await t.servers()).toEqual({ [A]: 5 });
    expect(t.of('drain')).toEqual([{ event: 'drain', target: `TCP ${VIP}:80 -> ${C}:80`, outcome: 'drained' }]);
    expect(t.of('server-up')).toEqual([]);
  });

  it('a reload that coincides with a failure keeps an inhibited server at weight 0, not draining', async () => {
    const t = await setup(file({ fall: 1, onFailure: 'inhibit' }));
    await t.agent.start();
    await advance(500);
    const answer = t.hold(B);
    await advance(600);
    answer({ ok: false, detail: 'ECONNREFUSED' });
    const reloaded = t.agent.reload(parseAgentText(file({ fall: 1, onFailure: 'inhibit', servers: [A, B] }), 'agent.yaml'));
    await settle();
    await reloaded;
    expect(await t.servers()).toEqual({ [A]: 5, [B]: 0, [C]: 0 });
    expect(t.agent.status().draining.map((d) => d.id)).toEqual([`TCP ${VIP}:80 -> ${C}:80`]);
    expect(t.agent.status().services[0]!.destinations.find((d) => d.address === B)).toMatchObject({ up: false, effectiveWeight: 0 });
  });

  it('a reload of a changed file keeps a failed server out, adds new ones, and its kept checks go on counting', async () => {
    const t = await setup(file());
    await t.agent.start();
    t.down.add(B);
    await advance(2000);
    expect(await t.servers()).toEqual({ [A]: 5, [C]: 5 });
    const D = '10.1.0.5';
    await t.agent.reload(parseAgentText(file({ servers: [A, B, C, D] }), 'agent.yaml'));
    expect(await t.servers()).toEqual({ [A]: 5, [C]: 5, [D]: 5 });
    await advance(3000);
    expect(await t.servers()).toEqual({ [A]: 5, [C]: 5, [D]: 5 });
    expect(t.of('server-up')).toEqual([]);
    expect(t.of('server-down')).toHaveLength(1);
    // The kept checks still count after the reload: C fails and goes, B recovers and comes back.
    t.down.add(C);
    t.down.delete(B);
    await advance(2000);
    expect(await t.servers()).toEqual({ [A]: 5, [B]: 5, [D]: 5 });
    expect(t.of('server-down').map((e) => e.server)).toEqual([`TCP ${VIP}:80 -> ${B}:80`, `TCP ${VIP}:80 -> ${C}:80`]);
  });

  it('repairs drift at the resync and logs the repair', async () => {
    const t = await setup(file(), { resyncSeconds: 5 });
    await t.agent.start();
    await t.ipvs.deleteDestination({ protocol: 'tcp', address: VIP, port: 80 }, { address: A, port: 80 });
    await t.ipvs.updateDestination({ protocol: 'tcp', address: VIP, port: 80 }, { address: C, port: 80, forwarding: 'masq', weight: 9 });
    await advance(4000);
    expect(t.of('repair')).toEqual([]);
    await advance(1500);
    expect(t.of('repair')).toMatchObject([{ event: 'repair', reason: 'resync' }]);
    const repaired = t.of('repair')[0]!.changes as string[];
    expect(repaired).toContain(`~ server TCP ${VIP}:80 -> ${C}:80: weight 9 -> 5`);
    expect(repaired).toContain(`+ server TCP ${VIP}:80 -> ${A}:80: masq, weight 5`);
    expect(await t.servers()).toEqual({ [A]: 5, [B]: 5, [C]: 5 });
    // A resync with nothing to repair logs nothing.
    await advance(5000);
    expect(t.of('repair')).toHaveLength(1);
  });

  it('stop leaves the kernel as it is by default', async () => {
    const t = await setup(file());
    await t.agent.start();
    t.down.add(A);
    await t.stop();
    await advance(3000);
    expect(await t.servers()).toEqual({ [A]: 5, [B]: 5, [C]: 5 });
    expect(t.of('stop')).toEqual([{ event: 'stop', kernel: 'left as it is' }]);
    expect(t.of('server-down')).toEqual([]);
  });

  it('stop with remove deletes the services it owns, and nothing else', async () => {
    const t = await setup(file());
    await t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.9', port: 80 });
    await t.agent.start();
    await t.stop({ remove: true });
    expect(t.of('stop')).toEqual([{ event: 'stop', removed: [`- service TCP ${VIP}:80`] }]);
    expect((await t.ipvs.listServices()).map((s) => s.address)).toEqual(['10.0.0.9']);
  });

  it('services with the same real servers and checks share one checker per real server (keepalived\'s virtual_server_group)', async () => {
    const text = ['services:', ...[80, 443].map((port) =>
      `  - { protocol: tcp, address: ${VIP}, port: ${port}, checks: [{ type: tcp, port: 80, interval: 1, timeout: 0.5, fall: 1, rise: 1, warmup: 0 }], destinations: [{ address: ${A}, forwarding: masq }, { address: ${B}, forwarding: masq }] }`), ''].join('\n');
    const t = await setup(text);
    await t.agent.start();
    expect(t.of('start')).toEqual([{ event: 'start', services: 2, servers: 4, checks: 2 }]);
    await advance(3050);
    // Checks at 0, 1, 2 and 3 s: four each, not eight.
    expect(t.calls.filter((a) => a === A)).toHaveLength(4);
    expect(t.calls.filter((a) => a === B)).toHaveLength(4);
    t.down.add(B);
    await advance(1000);
    expect(t.of('check-down')).toMatchObject([{ server: `TCP ${VIP}:80 -> ${B}:80`, shared: 2, check: `tcp ${B}:80` }]);
    expect(t.of('server-down').map((e) => e.server)).toEqual([`TCP ${VIP}:80 -> ${B}:80`, `TCP ${VIP}:443 -> ${B}:443`]);
    const listed = await t.ipvs.listServices({ withDestinations: true });
    expect(listed.map((s) => s.destinations!.map((d) => d.address))).toEqual([[A], [A]]);
    // A reload that drops one service keeps the checker of the other (same state, same cadence).
    await t.agent.reload(parseAgentText(text.split('\n').slice(0, 2).join('\n') + '\n', 'agent.yaml'));
    expect(t.agent.status().services[0]!.destinations[1]!.checks[0]).toMatchObject({ up: false, transitions: 1 });
  });

  it('an fwmark service\'s real servers are checked on their own port when the check names none', async () => {
    const t = await setup(`services:\n  - { fwmark: 7, checks: [{ type: tcp, interval: 1, warmup: 0 }], destinations: [{ address: ${A}, port: 8080, forwarding: masq }] }\n`);
    await t.agent.start();
    await advance(100);
    expect(t.targets).toEqual([{ address: A, port: 8080 }]);
    expect(t.agent.status().services[0]!.destinations[0]!.checks[0]!.target).toBe(`${A}:8080`);
  });

  it('a converted keepalived virtual_server_group checks each real server once for all its services', async () => {
    const conf = `virtual_server_group WEB {\n  ${VIP} 80\n  10.0.0.2-3 80\n  fwmark 9\n}\nvirtual_server group WEB {\n  delay_loop 1\n  lb_kind NAT\n  sorry_server 10.9.0.1 80\n  sorry_server_inhibit\n  omega\n` +
      [A, B].map((a) => `  real_server ${a} 8080 {\n    TCP_CHECK {\n      connect_timeout 1\n      retry 0\n      warmup 0\n    }\n  }\n`).join('') + '}\n';
    const c = convertKeepalived('/k/keepalived.conf', { read: () => conf, list: () => [] });
    expect(problemLines(c.problems)).toEqual([]);
    expect(problemLines(c.notes)).toEqual(['/k/keepalived.conf:11: omega: the agent runs no notify scripts, so there is nothing to run at shutdown; ignored']);
    const t = await setup(conversionYaml(c));
    await t.agent.start();
    // Four services (three addresses and the fwmark), two real servers each, one checker per real server.
    expect(t.of('start')).toEqual([{ event: 'start', services: 4, servers: 8, checks: 2 }]);
    await advance(2050);
    expect(t.calls.filter((a) => a === A)).toHaveLength(3);
    expect(t.targets.every((x) => x.port === 8080)).toBe(true);
    // The sorry server waits at weight 0 in every service (sorry_server_inhibit).
    const listed = await t.ipvs.listServices({ withDestinations: true });
    expect(listed).toHaveLength(4);
    for (const svc of listed) expect(svc.destinations!.map((d) => `${d.address}:${d.port} ${d.weight}`).sort()).toEqual([`${A}:8080 1`, `${B}:8080 1`, '10.9.0.1:80 0']);
  });
});
