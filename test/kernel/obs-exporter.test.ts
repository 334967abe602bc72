// Seeing it work, on one topology with real traffic: `ipvs exporter` (the
// built binary, --netns into the director) and `ipvs agent --metrics` (in the
// director, checking the :8080 service's real servers, one of them down)
// scraped by a real Prometheus, whose HTTP API must give back the counters
// `ipvsadm -Ln --stats --exact` shows and the agent's health, check
// durations and reconcile time; promtool finds nothing in either /metrics;
// headless Chromium loads the agent's status page after traffic, whose DOM
// must hold the same numbers as `ipvs -Ln --stats --exact`, each real
// server's health and drawn sparklines (a screenshot goes to
// .uml/artifacts/); `ipvs top` under tmux shows them too, and quits
// restoring the terminal.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopology, type Topology } from '../../examples/lib/topology.mjs';
import { Ipvs } from '../../src/index.js';
import { startAgent, type RunningAgent } from '../helpers/agent.js';

// Not useTopology: its afterEach flushes IPVS, and these tests all read one setup.
const t = {} as { topo: Topology; ipvs: Ipvs };
const CLI = 'dist/cli.js';
const COUNTERS = ['connections', 'packetsIn', 'packetsOut', 'bytesIn', 'bytesOut'] as const;
type Counters = Record<(typeof COUNTERS)[number], string>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = mkdtempSync(join(tmpdir(), 'obs-'));
const artifacts = join(process.cwd(), '.uml', 'artifacts');
const children: ChildProcess[] = [];

/** `ipvsadm -Ln --stats --exact` (or `ipvs`) in the director, by id as the metrics layer names them. */
function statsOf(program: 'ipvsadm' | 'ipvs'): Map<string, Counters> {
  const cmd = program === 'ipvsadm' ? ['ipvsadm'] : [process.execPath, CLI];
  const text = execFileSync('ip', ['netns', 'exec', t.topo.director.netns, ...cmd, '-Ln', '--stats', '--exact'], { encoding: 'utf8' });
  const out = new Map<string, Counters>();
  let svc = '';
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const nums = (i: number) => Object.fromEntries(COUNTERS.map((k, j) => [k, f[i + j]!])) as Counters;
    if (/^(TCP|UDP|SCTP) /.test(line)) out.set((svc = `${f[0]!.toLowerCase()}/${f[1]}`), nums(2));
    else if (line.startsWith('  -> ') && /^\d/.test(f[1]!)) out.set(`${svc}>${f[1]}`, nums(2));
  }
  return out;
}

/** Starts a long-running child; resolves once `ready` matches its output. */
function start(cmd: string, args: string[], ready: RegExp, timeoutMs = 120_000): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} not ready in ${timeoutMs} ms: ${text}`)), timeoutMs);
    const look = (d: Buffer) => {
      text += d;
      if (ready.test(text)) {
        clearTimeout(timer);
        resolve({ child, output: () => text });
      }
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}): ${text}`)));
  });
}

let exporter: { child: ChildProcess; output: () => string };
let base = '';
let agent: RunningAgent;
/** The agent's server, reached from here over a veth pair into the director (10.9.0.1 here, 10.9.0.2 there). */
let agentBase = '';
const AGENT_PORT = 9839;
/** The agent's file: the :8080 service, backend-2 checked on a port nothing listens on (down, kept at weight 0). */
function agentFile(): string {
  const { vip, backends } = t.topo;
  const check = (extra: string) => `checks: [{ type: tcp, ${extra}interval: 0.5, timeout: 2, fall: 1, rise: 1, warmup: 0 }]`;
  return `services:
  - protocol: tcp
    address: ${vip}
    port: 8080
    scheduler: wlc
    onFailure: inhibit
    destinations:
      - { address: ${backends[0]!.address}, port: 8080, forwarding: masq, weight: 1, ${check('')} }
      - { address: ${backends[1]!.address}, port: 8080, forwarding: masq, weight: 1, ${check('port: 81, ')} }
`;
}
const rs = (i: number, port = 8080) => `{local_address="${t.topo.vip}",local_port="${port}",proto="TCP",remote_address="${t.topo.backends[i]!.address}",remote_port="${port}",forwarding="masq"}`;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run scripts/setup.sh (it builds dist/)`);
  t.topo = await createTopology({ prefix: 'ipvs-obs', backends: 2, tcpPorts: [80, 8080] });
  t.ipvs = await Ipvs.open({ netns: t.topo.director.netns });
  const { ipvs, topo } = t;
  for (const [port, scheduler] of [[80, 'rr'], [8080, 'wlc']] as const) {
    const key = { protocol: 'tcp', address: topo.vip, port } as const;
    await ipvs.addService({ ...key, scheduler });
    for (const b of topo.backends) await ipvs.addDestination(key, { address: b.address, port, forwarding: 'masq', weight: 1 });
  }
  const d = topo.director.netns;
  execFileSync('ip', ['link', 'add', 'obs-root', 'type', 'veth', 'peer', 'name', 'obs-dir', 'netns', d]);
  execFileSync('ip', ['addr', 'add', '10.9.0.1/30', 'dev', 'obs-root']);
  execFileSync('ip', ['link', 'set', 'obs-root', 'up']);
  execFileSync('ip', ['netns', 'exec', d, 'ip', 'addr', 'add', '10.9.0.2/30', 'dev', 'obs-dir']);
  execFileSync('ip', ['netns', 'exec', d, 'ip', 'link', 'set', 'obs-dir', 'up']);
  agent = await startAgent(d, agentFile(), ['--metrics', `10.9.0.2:${AGENT_PORT}`]);
  agentBase = `http://10.9.0.2:${AGENT_PORT}/`;
  // (expect.poll is for tests only.) Applied and checked: backend-2 is found down.
  for (const end = Date.now() + 60_000; !(await fetch(`${agentBase}metrics`).then((r) => r.text(), () => '')).includes(`ipvs_agent_backend_up${rs(1)} 0\n`); await sleep(500)) {
    if (Date.now() > end) throw new Error(`the agent's metrics do not show backend-2 down in 60 s; events: ${JSON.stringify(agent.events)}`);
  }
  // Traffic for a while (the agent's server keeps a rate point every 5 s), so the page's rates and sparklines show it.
  let made = 0;
  for (const end = Date.now() + 16_000; Date.now() < end; ) {
    for (const port of [80, 8080]) {
      expect((await topo.request({ count: 5, port })).failures).toBe(0);
      made += 5;
    }
  }
  // The kernel folds per-CPU counters into what it reports every 2 s: wait until all show, and stay.
  const services = () => [...statsOf('ipvsadm')].filter(([id]) => !id.includes('>'));
  const total = () => services().reduce((a, [, c]) => a + Number(c.connections), 0);
  for (const end = Date.now() + 10_000; total() !== made; await sleep(500)) {
    if (Date.now() > end) throw new Error(`the kernel counts ${total()} connections, not the ${made} made`);
  }
  await sleep(2500);
  exporter = await start(process.execPath, [CLI, 'exporter', '--listen', '127.0.0.1:0', '--netns', topo.director.netns, '--history-step', '1'], /serving (http:\S+)/);
  base = /serving (http:\S+)/.exec(exporter.output())![1]!;
}, 120_000);

afterAll(async () => {
  await agent?.stop('SIGKILL');
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  t.ipvs?.close();
  await t.topo?.destroy();
});

describe('ipvs exporter', () => {
  it('serves text that promtool finds nothing in, with node_exporter names and exact counters', async () => {
    const res = await fetch(`${base}metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const lint = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let said = '';
    lint.stdout.on('data', (d) => (said += d));
    lint.stderr.on('data', (d) => (said += d));
    lint.stdin.end(text);
    expect(await new Promise((r) => lint.once('exit', r))).toBe(0);
    expect(said).toBe('');
    const want = statsOf('ipvsadm').get(`tcp/${t.topo.vip}:80>${t.topo.backends[0]!.address}:80`)!;
    expect(text).toContain(`node_ipvs_backend_connections_total{local_address="${t.topo.vip}",local_port="80",proto="TCP",remote_address="${t.topo.backends[0]!.address}",remote_port="80",forwarding="masq"} ${want.connections}\n`);
    expect(text).toMatch(/^node_ipvs_backend_weight\{.*\} 1$/m);
    // Anything but the three paths is not found; only GET and HEAD are served.
    expect((await fetch(`${base}nope`)).status).toBe(404);
    expect((await fetch(`${base}metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('is scraped by Prometheus, whose API gives back what ipvsadm -Ln --stats --exact shows and the agent health', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const config = join(tmp, 'prometheus.yml');
    writeFileSync(config, `global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\nscrape_configs:\n  - job_name: ipvs\n    static_configs:\n      - targets: ['${new URL(base).host}']\n  - job_name: agent\n    static_configs:\n      - targets: ['${new URL(agentBase).host}']\n`);
    await start('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(tmp, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], /Server is ready to receive web requests/);
    type Sample = { metric: Record<string, string>; value: [number, string] };
    const query = async (expr: string): Promise<Sample[]> => {
      const r = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { data: { result: Sample[] } };
      return r.data.result;
    };
    const names: Record<string, (typeof COUNTERS)[number]> = { connections: 'connections', incoming_packets: 'packetsIn', outgoing_packets: 'packetsOut', incoming_bytes: 'bytesIn', outgoing_bytes: 'bytesOut' };
    const counters = async (job: string) => {
      const out = new Map<string, Partial<Counters>>();
      for (const { metric: m, value } of await query(`{job="${job}",__name__=~"node_ipvs_(service|backend)_(connections|incoming_packets|outgoing_packets|incoming_bytes|outgoing_bytes)_total"}`)) {
        const id = `${m.proto!.toLowerCase()}/${m.local_address}:${m.local_port}${m.remote_address ? `>${m.remote_address}:${m.remote_port}` : ''}`;
        const k = names[/^node_ipvs_(?:service|backend)_(.*)_total$/.exec(m.__name__!)![1]!]!;
        out.set(id, { ...out.get(id), [k]: value[1] });
      }
      return out;
    };
    const want = statsOf('ipvsadm');
    expect(want.size).toBe(6);
    await expect.poll(() => counters('ipvs'), { timeout: 60_000, interval: 1000 }).toEqual(want);
    await expect.poll(() => counters('agent'), { timeout: 30_000, interval: 1000 }).toEqual(want);
    // The agent's own series, as Prometheus stored them: health per real server, check durations, the reconcile.
    const byBackend = async (expr: string) => Object.fromEntries((await query(expr)).map((x) => [x.metric.remote_address!, Number(x.value[1])]));
    const [b1, b2] = t.topo.backends.map((b) => b.address);
    expect(await byBackend('ipvs_agent_backend_up{job="agent"}')).toEqual({ [b1!]: 1, [b2!]: 0 });
    expect(await byBackend('ipvs_agent_backend_state{job="agent",state="down"}')).toEqual({ [b1!]: 0, [b2!]: 1 });
    const checks = await byBackend('ipvs_agent_check_duration_seconds_count{job="agent"}');
    expect(Object.keys(checks).sort()).toEqual([b1, b2].sort());
    for (const n of Object.values(checks)) expect(n).toBeGreaterThan(0);
    // A check of a real server that answers takes well under 10 s: all in the finite buckets (Prometheus 3 writes le="10.0").
    const le10 = await byBackend(`ipvs_agent_check_duration_seconds_bucket{job="agent",le=~"10(.0)?"}`);
    expect(le10[b1!]).toBe(checks[b1!]);
    const [stamp] = await query('ipvs_agent_reconcile_timestamp_seconds{job="agent"}');
    const startedS = Date.parse(agent.events[0]!.time) / 1000;
    expect(Number(stamp!.value[1])).toBeGreaterThanOrEqual(startedS - 1);
    expect(Number(stamp!.value[1])).toBeLessThanOrEqual(Date.now() / 1000);
    const [took] = await query('ipvs_agent_reconcile_duration_seconds{job="agent"}');
    expect(Number(took!.value[1])).toBeGreaterThan(0);
    expect(Number(took!.value[1])).toBeLessThan(60);
    expect((await query('ipvs_agent_checker_up{job="agent"}'))[0]!.value[1]).toBe('1');
    expect((await query('up{job="agent"}'))[0]!.value[1]).toBe('1');
  }, 180_000);

  it("shows the agent's page in headless Chromium with the numbers of ipvs -Ln --stats, health and sparklines", async () => {
    mkdirSync(artifacts, { recursive: true });
    const shot = join(artifacts, 'obs-status-page.png');
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
    // One browser start does both (each costs minutes in the test kernel); single-process spares it its zygote and helpers.
    const dom = execFileSync('chromium', [...flags, '--single-process', '--no-zygote', `--user-data-dir=${mkdtempSync(join(tmp, 'chromium-'))}`, '--window-size=1280,900', `--screenshot=${shot}`, '--dump-dom', agentBase], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 900_000, maxBuffer: 1 << 26 });
    expect(existsSync(shot)).toBe(true);
    const unescape = (s: string) => s.replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    const rows = new Map<string, Record<string, string>>();
    const health = new Map<string, string>();
    const sparks = new Map<string, string[]>();
    for (const m of dom.matchAll(/<tr class="(?:dest|total)[^"]*" data-id="([^"]+)">(.*?)<\/tr>/g)) {
      const id = unescape(m[1]!);
      rows.set(id, Object.fromEntries([...m[2]!.matchAll(/<td[^>]*data-k="(\w+)"[^>]*>([^<]*)</g)].map((c) => [c[1]!, c[2]!])));
      const st = /data-k="health"[^>]*><span class="st (\w+)"/.exec(m[2]!);
      if (st) health.set(id, st[1]!);
      sparks.set(id, [...m[2]!.matchAll(/<polyline class="cps" points="([^"]+)"/g)].map((p) => p[1]!));
    }
    const want = statsOf('ipvs');
    expect(want.size).toBe(6);
    for (const [id, counters] of want) {
      const row = rows.get(id);
      expect(row, `page row ${id}`).toBeDefined();
      for (const k of COUNTERS) expect(row![k], `${id} ${k}`).toBe(counters[k]);
    }
    // The agent's health of each real server it checks; the others have no check.
    const { vip, backends } = t.topo;
    expect(health.get(`tcp/${vip}:8080>${backends[0]!.address}:8080`)).toBe('up');
    expect(health.get(`tcp/${vip}:8080>${backends[1]!.address}:8080`)).toBe('down');
    expect(health.get(`tcp/${vip}:80>${backends[0]!.address}:80`)).toBe('none');
    // The traffic drew the connections/s sparkline: a line that leaves the baseline (y 19.0 is zero).
    for (const port of [80, 8080]) {
      const ys = (sparks.get(`tcp/${vip}:${port}`) ?? []).flatMap((p) => p.split(' ').map((xy) => Number(xy.split(',')[1])));
      expect(Math.min(...ys), `sparkline of :${port}`).toBeLessThan(19);
    }
    writeFileSync(join(artifacts, 'obs-status-page.html'), dom);
  }, 1_000_000);

  it('ipvs top under tmux shows the same numbers and quits restoring the terminal', async () => {
    const tmux = (...a: string[]) => execFileSync('tmux', ['-L', `obs-${process.pid}`, '-f', '/dev/null', ...a], { encoding: 'utf8' });
    // The shell notes the exit status and stays, so the terminal's state after ipvs top can be read
    // (tmux's #{pane_dead_status} is now and then left empty, and a dead pane hides the cursor).
    const statusFile = join(tmp, 'top-status');
    tmux('new-session', '-d', '-s', 'top', '-x', '200', '-y', '40', `${process.execPath} ${CLI} top --netns ${t.topo.director.netns}; echo $? > ${statusFile}; sleep 600`);
    try {
      const want = statsOf('ipvs');
      // Columns: 34 for the name, then 10 each: Weight ActConn InActConn CPS InBPS OutBPS Conns InPPS OutPPS InPkts OutPkts InBytes OutBytes.
      const cell = (line: string, i: number) => line.slice(34 + i * 10, 44 + i * 10).trim();
      const shown = () => {
        const out = new Map<string, Counters>();
        let svc = '';
        for (const line of tmux('capture-pane', '-p', '-t', 'top').split('\n')) {
          const name = line.slice(0, 34).trim().split(/\s+/);
          const counters = Object.fromEntries(COUNTERS.map((k, j) => [k, cell(line, [6, 9, 10, 11, 12][j]!)])) as Counters;
          if (name[0] === 'TCP') out.set((svc = `tcp/${name[1]}`), counters);
          else if (name[0] === '->') out.set(`${svc}>${name[1]}`, counters);
        }
        return out;
      };
      await expect.poll(shown, { timeout: 30_000, interval: 500 }).toEqual(want);
      expect(tmux('capture-pane', '-p', '-t', 'top')).toMatch(/^ipvs top - .*services 2, real servers 4/m);
      tmux('send-keys', '-t', 'top', 'q');
      await expect.poll(() => (existsSync(statusFile) ? readFileSync(statusFile, 'utf8').trim() : 'running'), { timeout: 15_000, interval: 300 }).toBe('0');
      // Back from the alternate screen: the terminal is as it was.
      expect(tmux('display-message', '-p', '-t', 'top', '#{alternate_on} #{cursor_flag}').trim()).toBe('0 1');
    } finally {
      tmux('kill-server');
    }
  }, 60_000);

  it("ipvs agent --metrics serves the same metrics with every real server's health, promtool finds nothing", async () => {
    const { backends } = t.topo;
    const res = await fetch(`${agentBase}metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
    expect(text).toContain(`ipvs_agent_backend_up${rs(0)} 1\n`);
    expect(text).toContain(`ipvs_agent_backend_up${rs(1)} 0\n`);
    expect(text).toContain(`node_ipvs_backend_weight${rs(1)} 0\n`);
    expect(text).toContain(`node_ipvs_backend_weight_configured${rs(1)} 1\n`);
    expect(text).toContain(`ipvs_agent_backend_state${rs(1).slice(0, -1)},state="down"} 1\n`);
    expect(text).toContain('ipvs_agent_checker_up 1\n');
    expect(text).toMatch(/^ipvs_agent_changes_applied_total [1-9]\d*$/m);
    expect(text).toMatch(new RegExp(`^ipvs_agent_check_duration_seconds_count${rs(0).replace(/[{}.]/g, '\\$&')} [1-9]\\d*$`, 'm'));
    expect(text).toMatch(/^ipvs_agent_reconcile_duration_seconds \d/m);
    // Real servers the agent does not check get no health series.
    expect(text).not.toContain(`ipvs_agent_backend_up${rs(0, 80)}`);
    const doc = (await (await fetch(`${agentBase}status.json`)).json()) as { services: Array<{ port?: number; destinations: Array<{ address: string; weight: number; health?: { state: string; message?: string } }> }> };
    const dests = doc.services.find((x) => x.port === 8080)!.destinations;
    expect(dests.find((d) => d.address === backends[1]!.address)).toMatchObject({ weight: 0, health: { state: 'down', message: expect.stringMatching(/^tcp .*:81: /) } });
    expect(dests.find((d) => d.address === backends[0]!.address)).toMatchObject({ weight: 1, health: { state: 'up' } });
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await agent.stop()).toBe(0);
    exporter.child.kill('SIGTERM');
    const code = await new Promise((r) => (exporter.child.exitCode !== null ? r(exporter.child.exitCode) : exporter.child.once('exit', r)));
    expect(code).toBe(0);
    expect(exporter.output()).toMatch(/stopped \(SIGTERM\)/);
  });
});
