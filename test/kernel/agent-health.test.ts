// `ipvs agent` on the real kernel with real traffic: a client, a director
// running the agent, three backends. Backend HTTP servers on port 8081 are
// the test's own, so it can kill and restart them.
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, startServer, type RunningAgent } from '../helpers/agent.js';
import { useTopology } from '../helpers/topology.js';

const t = useTopology({ prefix: 'ipvs-agent', backends: 3, tcpPorts: [80] });
const PORT = 8081;
const servers: ({ kill(): Promise<void> } | undefined)[] = [];
let agent: RunningAgent | undefined;

const ipvsadm = () => execFileSync('ip', ['netns', 'exec', t.topo.director.netns, 'ipvsadm', '-Sn'], { encoding: 'utf8' });
/** Real servers of the service on PORT as "ADDRESS:PORT WEIGHT". */
async function kernelDests(port = PORT): Promise<string[]> {
  const svc = (await t.ipvs.listServices({ withDestinations: true })).find((s) => s.port === port);
  return (svc?.destinations ?? []).map((d) => `${d.address}:${d.port} ${d.weight}`).sort();
}
const addr = (i: number) => t.topo.backends[i]!.address;
const all = (w = [1, 1, 1], port = PORT) => w.map((x, i) => `${addr(i)}:${port} ${x}`);
const poll = { timeout: 20_000, interval: 100 };

async function serve(i: number) {
  servers[i] = await startServer(t.topo.backends[i]!.netns, t.topo.backends[i]!.name, PORT);
}

function agentFile(o: { onFailure?: string; checks?: string; extra?: string; weights?: number[]; count?: number } = {}) {
  const w = o.weights ?? [1, 1, 1];
  const dests = w.slice(0, o.count ?? 3).map((x, i) => `      - { address: ${addr(i)}, port: ${PORT}, forwarding: masq, weight: ${x} }`).join('\n');
  return `services:
  - protocol: tcp
    address: ${t.topo.vip}
    port: ${PORT}
    scheduler: rr
    onFailure: ${o.onFailure ?? 'remove'}
${o.extra ?? ''}    checks:
${o.checks ?? '      - { type: http, path: /, interval: 0.5, timeout: 2, fall: 2, rise: 3, warmup: 0.1 }'}
    destinations:
${dests}
`;
}

beforeAll(async () => {
  for (let i = 0; i < 3; i++) await serve(i);
});
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  for (let i = 0; i < 3; i++) if (!servers[i]) await serve(i);
});
afterAll(async () => {
  for (const s of servers) await s?.kill();
});

async function kill(i: number) {
  await servers[i]!.kill();
  servers[i] = undefined;
}

// Each scenario starts node processes in a one-CPU guest: minutes under load, so a wider limit.
describe('ipvs agent', { timeout: 150_000 }, () => {
  it('takes a killed backend out within interval x fall + interval, with no failed request after, and back after rise successes', async () => {
    agent = await startAgent(t.topo.director.netns, agentFile());
    await expect.poll(kernelDests, poll).toEqual(all());
    const before = await t.topo.request({ port: PORT, count: 30 });
    expect(before.failures).toBe(0);

    const t0 = Date.now();
    await kill(1);
    // Requests while the agent finds out: some reach the dead backend.
    const during = await t.topo.request({ port: PORT, count: 15, timeoutMs: 1000 });
    const down = await agent.waitFor((e) => e.event === 'server-down');
    const detectedMs = Date.parse(down.time) - t0;
    expect(down.server).toContain(`${addr(1)}:${PORT}`);
    await expect.poll(kernelDests, poll).toEqual([all()[0], all()[2]]);
    const after = await t.topo.request({ port: PORT, count: 60 });
    expect(after.failures).toBe(0);
    expect(after.counts['backend-2']).toBe(0);
    // The check went down on its second failure (fall 2), not before.
    const st = await agent.status();
    const c = st.services[0]!.destinations[1]!.checks[0]!;
    expect(c).toMatchObject({ up: false, transitions: 1 });
    console.log(`agent: detection ${detectedMs} ms (interval 0.5 s x fall 2 + 0.5 s = 1500 ms); ${during.failures}/15 requests failed during the window, 0/60 after`);

    // Back: down until the third success in a row (rise 3); the status shows the count.
    await serve(1);
    const streaks = new Set<number>();
    for (;;) {
      const d = (await agent.status()).services[0]!.destinations[1]!;
      if (d.up) break;
      streaks.add(d.checks[0]!.streak);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(streaks.has(2)).toBe(true);
    await agent.waitFor((e) => e.event === 'server-up');
    await expect.poll(kernelDests, poll).toEqual(all());
    expect((await t.topo.request({ port: PORT, count: 30 })).counts['backend-2']).toBe(10);
  });

  it('inhibit: a failed backend stays at weight 0', async () => {
    agent = await startAgent(t.topo.director.netns, agentFile({ onFailure: 'inhibit', weights: [1, 2, 3] }));
    await expect.poll(kernelDests, poll).toEqual(all([1, 2, 3]));
    await kill(2);
    await expect.poll(kernelDests, poll).toEqual(all([1, 2, 0]));
    expect((await t.topo.request({ port: PORT, count: 30 })).failures).toBe(0);
  });

  it('exec checks and http status ranges and body regex, each up and down', async () => {
    const flag = `/tmp/ipvs-agent-flag-${process.pid}`;
    execFileSync('touch', [flag]);
    const checks = [
      '      - { type: exec, command: [test, -e, ' + flag + '], interval: 0.3, timeout: 2, fall: 1, rise: 1, warmup: 0 }',
      '      - { type: http, status: ["200-299"], bodyRegex: "^backend-[12]\\n$", interval: 0.3, timeout: 2, fall: 1, rise: 1, warmup: 0 }',
    ].join('\n');
    agent = await startAgent(t.topo.director.netns, agentFile({ checks }));
    // backend-3's body does not match: out. The others pass both checks.
    await expect.poll(kernelDests, poll).toEqual(all().slice(0, 2));
    // The exec check fails everywhere once the flag goes.
    execFileSync('rm', [flag]);
    await expect.poll(kernelDests, poll).toEqual([]);
    execFileSync('touch', [flag]);
    await expect.poll(kernelDests, poll).toEqual(all().slice(0, 2));
    // A status range that excludes 200: all down; one that includes it: up again.
    agent.write(agentFile({ checks: '      - { type: http, status: [404, "500-599"], interval: 0.3, timeout: 2, fall: 1, rise: 1, warmup: 0 }' }));
    await expect.poll(kernelDests, poll).toEqual([]);
    agent.write(agentFile({ checks: '      - { type: http, status: [[200, 204]], interval: 0.3, timeout: 2, fall: 1, rise: 1, warmup: 0 }' }));
    await expect.poll(kernelDests, poll).toEqual(all());
    execFileSync('rm', ['-f', flag]);
  });

  it('quorum: below it the sorry server alone takes the traffic, and leaves past quorum + hysteresis', async () => {
    const extra = `    quorum: 2\n    hysteresis: 0\n    sorryServer: { address: ${addr(2)}, port: 80, forwarding: masq }\n`;
    agent = await startAgent(t.topo.director.netns, agentFile({ extra, count: 2 }));
    await expect.poll(kernelDests, poll).toEqual(all().slice(0, 2));
    await kill(0);
    await expect.poll(kernelDests, poll).toEqual([`${addr(2)}:80 1`]);
    await agent.waitFor((e) => e.event === 'quorum' && e.quorum === 'lost');
    const r = await t.topo.request({ port: PORT, count: 10 });
    expect(r.failures).toBe(0);
    expect(r.counts['backend-3']).toBe(10);
    await serve(0);
    await expect.poll(kernelDests, poll).toEqual(all().slice(0, 2));
  });

  it('reload keeps checker state: a failed server stays out across a reload of a changed file', async () => {
    agent = await startAgent(t.topo.director.netns, agentFile({ checks: '      - { type: tcp, interval: 0.5, timeout: 2, fall: 1, rise: 2, warmup: 0.1 }' }));
    await expect.poll(kernelDests, poll).toEqual(all());
    await kill(1);
    await expect.poll(kernelDests, poll).toEqual([all()[0], all()[2]]);
    const mark = agent.events.length;
    agent.write(agentFile({ checks: '      - { type: tcp, interval: 0.5, timeout: 2, fall: 1, rise: 2, warmup: 0.1 }', weights: [3, 1, 1] }));
    await agent.waitFor((e) => e.event === 'reload', 20_000, mark);
    await expect.poll(kernelDests, poll).toEqual([`${addr(0)}:${PORT} 3`, all()[2]]);
    // Never re-added, never flapped.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await kernelDests()).toEqual([`${addr(0)}:${PORT} 3`, all()[2]]);
    expect(agent.events.slice(mark).filter((e) => e.event === 'server-up')).toEqual([]);
  });

  it('repairs drift made by hand (ipvsadm -d, -e) at the next resync, and logs it', async () => {
    agent = await startAgent(t.topo.director.netns, agentFile(), ['--resync', '1']);
    await expect.poll(kernelDests, poll).toEqual(all());
    const mark = agent.events.length;
    const vs = `${t.topo.vip}:${PORT}`;
    execFileSync('ip', ['netns', 'exec', t.topo.director.netns, 'ipvsadm', '-d', '-t', vs, '-r', `${addr(0)}:${PORT}`]);
    execFileSync('ip', ['netns', 'exec', t.topo.director.netns, 'ipvsadm', '-e', '-t', vs, '-r', `${addr(1)}:${PORT}`, '-m', '-w', '7']);
    // One resync or two (one may fall between the two commands).
    await expect.poll(kernelDests, poll).toEqual(all());
    await agent.waitFor((e) => e.event === 'repair', 20_000, mark);
    // The kernel may show the second repair before its log line arrives: wait for the line.
    const repairs = () => agent!.events.slice(mark).filter((e) => e.event === 'repair').flatMap((e) => e.changes as string[]).sort();
    await expect.poll(repairs, poll).toEqual([`+ server TCP ${vs} -> ${addr(0)}:${PORT}: masq, weight 1`, `~ server TCP ${vs} -> ${addr(1)}:${PORT}: weight 7 -> 1`]);
  });

  it('drains a real server removed from the file: weight 0 while its connection is open, deleted after', async () => {
    // IPVS keeps a closed TCP connection counted (inactive) in TIME_WAIT for up to 2 minutes, so the
    // deadline, not the count, ends this drain: 10 s keeps the test short.
    agent = await startAgent(t.topo.director.netns, 'drainSeconds: 10\n' + agentFile());
    await expect.poll(kernelDests, poll).toEqual(all());
    // Three held connections: one per backend under rr.
    await t.topo.hold({ port: PORT, count: 3 });
    agent.write('drainSeconds: 10\n' + agentFile({ count: 2 }));
    await expect.poll(kernelDests, poll).toEqual([...all().slice(0, 2), `${addr(2)}:${PORT} 0`]);
    const st = await agent.status();
    expect(st.draining.map((d) => d.id)).toEqual([`TCP ${t.topo.vip}:${PORT} -> ${addr(2)}:${PORT}`]);
    expect((await t.topo.request({ port: PORT, count: 10 })).counts['backend-3']).toBe(0);
    await t.topo.release();
    await expect.poll(kernelDests, poll).toEqual(all().slice(0, 2));
    const end = await agent.waitFor((e) => e.event === 'drain');
    expect(end.target).toBe(`TCP ${t.topo.vip}:${PORT} -> ${addr(2)}:${PORT}`);
    expect(['drained', 'deadline']).toContain(end.outcome);
  });

  it('leaves the kernel as it is on SIGTERM; --remove-on-exit removes its services', async () => {
    agent = await startAgent(t.topo.director.netns, agentFile());
    await expect.poll(kernelDests, poll).toEqual(all());
    expect(await agent.stop()).toBe(0);
    expect(await kernelDests()).toEqual(all());
    agent = await startAgent(t.topo.director.netns, agentFile(), ['--remove-on-exit']);
    expect(await agent.stop()).toBe(0);
    expect(ipvsadm()).toBe('');
  });
});

/** keepalived 2.2 (Debian's), checker only, in the director namespace; resolves once its checker runs. */
async function startKeepalived(conf: string): Promise<{ stop(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const id = `${process.pid}-${Date.now()}`;
  const file = `/tmp/ipvs-agent-keepalived-${id}.conf`;
  writeFileSync(file, conf);
  const child = spawn('ip', ['netns', 'exec', t.topo.director.netns, 'keepalived', '--dont-fork', '--log-console', '--check', '-f', file,
    '-p', `/tmp/keepalived-${id}.pid`, '-c', `/tmp/keepalived-checkers-${id}.pid`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await expect.poll(kernelDests, poll).not.toEqual([]);
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

/** Kills backend-2's server and measures how long until the kernel drops it (polled every 50 ms). */
async function failAndMeasure(): Promise<{ ms: number; rules: string }> {
  const t0 = Date.now();
  await kill(1);
  await expect.poll(kernelDests, { timeout: 30_000, interval: 50 }).toEqual([all([1, 2, 3])[0], all([1, 2, 3])[2]]);
  return { ms: Date.now() - t0, rules: ipvsadm() };
}

describe('side by side with keepalived', { timeout: 150_000 }, () => {
  const conf = () => `global_defs {
    router_id agent_test
}
vrrp_instance VI_1 {
    interface lb0
    virtual_router_id 51
    virtual_ipaddress {
        ${t.topo.vip}
    }
}
virtual_server ${t.topo.vip} ${PORT} {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
${[0, 1, 2].map((i) => `    real_server ${addr(i)} ${PORT} {
        weight ${i + 1}
        HTTP_GET {
            url {
              path /
              status_code 200
            }
            connect_timeout 2
            retry 1
            delay_before_retry 1
            warmup 0
        }
    }`).join('\n')}
}
`;

  it('the converted keepalived.conf gives the kernel state keepalived gives, before and after the same failure', async () => {
    const keepalived = await startKeepalived(conf());
    await expect.poll(kernelDests, poll).toEqual(all([1, 2, 3]));
    const kStart = ipvsadm();
    const k = await failAndMeasure();
    await keepalived.stop();
    await serve(1);
    await t.ipvs.flush();

    agent = await startAgent(t.topo.director.netns, conf(), [], { keepalived: true });
    await expect.poll(kernelDests, poll).toEqual(all([1, 2, 3]));
    expect(ipvsadm()).toBe(kStart);
    const a = await failAndMeasure();
    expect(a.rules).toBe(k.rules);
    // The VRRP section was noted and skipped, not applied.
    expect(agent.events.some((e) => e.event === 'error' && String(e.detail).includes('vrrp_instance ignored'))).toBe(true);
    console.log(`detection after a killed server, keepalived.conf with delay_loop 1, retry 1, delay_before_retry 1: keepalived ${k.ms} ms, ipvs agent ${a.ms} ms`);
  });
});
