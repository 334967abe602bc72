// ipvs agent at scale: N real servers (default 1,000) TCP-checked every
// second for S seconds (default 60) by one agent; reports the lateness of
// check starts (how long after they were due they ran) and the agent's CPU.
// Run as root on a kernel with IPVS, e.g. in the test kernel:
//   npm run build && test/uml/run.sh -- node bench/agent-scale.mjs [--servers 1000] [--seconds 60]
// The real servers are addresses of a dummy device in a namespace of its own,
// with one TCP listener behind them all: the checks cost what real probes cost.
// First, in the same boot and against the same listener, the floor: the same
// connects made by bench/connect-floor.c (nonblocking connects and epoll,
// nothing else) and by plain Node (bench/connect-floor.mjs), paced as the
// agent paces them, then 64 at a time as fast as they go (--floor-seconds
// each, default 20). --floor-only skips the agent; --listener c puts the C
// listener behind the addresses instead of a Node one (it costs the guest less).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { servers: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '60' }, 'floor-seconds': { type: 'string', default: '20' }, 'floor-only': { type: 'boolean', default: false }, listener: { type: 'string', default: 'node' } } });
const n = Number(values.servers);
const seconds = Number(values.seconds);
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const floorSrc = fileURLToPath(new URL('./connect-floor.c', import.meta.url));
const floorNode = fileURLToPath(new URL('./connect-floor.mjs', import.meta.url));
const floorBin = fileURLToPath(new URL('../.uml/connect-floor', import.meta.url));
const ns = `ipvs-agent-scale-${randomBytes(3).toString('hex')}`;
const file = `/tmp/${ns}.yaml`;
const socket = `/tmp/${ns}.sock`;
const addr = (i) => `10.5.${(i / 250) | 0}.${(i % 250) + 1}`;
const sh = (cmd, args, input) => execFileSync(cmd, args, { encoding: 'utf8', ...(input ? { input } : {}) });
const clk = 100; // USER_HZ: /proc/PID/stat counts in 1/100 s on Linux
const cpuOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / clk; // utime + stime, seconds
};

sh('ip', ['netns', 'add', ns]);
const children = [];
try {
  sh('ip', ['-n', ns, '-batch', '-'], ['link set lo up', 'link add d0 type dummy', 'link set d0 up', 'addr add 10.0.0.10/32 dev d0',
    ...Array.from({ length: n }, (_, i) => `addr add ${addr(i)}/32 dev d0`)].join('\n') + '\n');
  sh('cc', ['-O2', '-Wall', '-o', floorBin, floorSrc]);
  // The backends' side: a Node listener (default) or the C one (--listener c), which costs the guest less.
  const listener = values.listener === 'c'
    ? spawn('ip', ['netns', 'exec', ns, floorBin, 'listen', '80'], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn('ip', ['netns', 'exec', ns, process.execPath, '-e',
      "require('net').createServer((s) => s.destroy()).listen({ port: 80, backlog: 4096 }, () => console.log('ready'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(listener);
  await new Promise((r) => createInterface({ input: listener.stdout }).once('line', r));
  const floorSecs = values['floor-seconds'];
  for (const [lang, cmd] of [['C', [floorBin]], ['Node', [process.execPath, floorNode]]]) {
    for (const mode of ['paced', 'max']) {
      const l0 = cpuOf(listener.pid);
      const w = Date.now();
      const row = JSON.parse(sh('ip', ['netns', 'exec', ns, ...cmd, mode, String(n), floorSecs, '80']));
      row.listenerCpuPercent = Math.round((1000 * (cpuOf(listener.pid) - l0)) / ((Date.now() - w) / 1000)) / 10;
      console.log(`floor (${lang}, ${mode}, ${values.listener} listener): ${JSON.stringify(row)}`);
    }
  }
  if (!values['floor-only']) await agentRun(listener);
} finally {
  for (const c of children) c.kill('SIGKILL');
  try {
    sh('ip', ['netns', 'del', ns]);
  } catch {}
}

async function agentRun(listener) {
  const dests = Array.from({ length: n }, (_, i) => `      - { address: ${addr(i)}, forwarding: masq }`).join('\n');
  writeFileSync(file, `services:\n  - protocol: tcp\n    address: 10.0.0.10\n    port: 80\n    scheduler: rr\n    checks: [{ type: tcp, interval: 1, timeout: 1, fall: 3, rise: 2 }]\n    destinations:\n${dests}\n`);
  const agent = spawn('ip', ['netns', 'exec', ns, process.execPath, cli, 'agent', '-f', file, '--status-socket', socket, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(agent);
  const events = [];
  createInterface({ input: agent.stdout }).on('line', (l) => {
    try {
      events.push(JSON.parse(l));
    } catch {} // (the last line, cut by the kill at the end)
  });
  const t0 = Date.now();
  while (!events.some((e) => e.event === 'apply')) await new Promise((r) => setTimeout(r, 100));
  const startMs = Date.now() - t0;
  const { fetchStatus } = await import('./agent-status.mjs');
  const started0 = (await fetchStatus(socket)).scheduler.started;
  const cpu0 = cpuOf(agent.pid);
  const listenerCpu0 = cpuOf(listener.pid);
  const w0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu1 = cpuOf(agent.pid);
  const listenerCpu = cpuOf(listener.pid);
  const wall = (Date.now() - w0) / 1000;
  const st = await fetchStatus(socket);
  // Checks started in the measured window (after the first apply), to set beside the floor's rows.
  const inWindow = st.scheduler.started - started0;
  const perSecond = Math.round(inWindow / wall);
  const cpuMsPerCheck = Math.round((1e6 * (cpu1 - cpu0)) / inWindow) / 1000;
  const kernelDests = sh('ip', ['netns', 'exec', ns, 'ipvsadm', '-Ln']).split('\n').filter((l) => l.includes('->') && l.includes('10.5.')).length;
  const down = st.services[0].destinations.filter((d) => !d.up).length;
  const l = st.scheduler.lateness;
  const expected = n * (seconds + startMs / 1000);
  console.log(JSON.stringify({ servers: n, seconds, startMs, kernelDests, down, checksStarted: st.scheduler.started, checksExpectedAbout: Math.round(expected), checksPerSecond: perSecond, cpuMsPerCheck, cpuPercent: Math.round((100 * (cpu1 - cpu0)) / wall * 10) / 10, listenerCpuPercent: Math.round((100 * (listenerCpu - listenerCpu0)) / wall * 10) / 10, lateness: l }, null, 1));
  console.log(`agent scale: ${n} real servers, TCP check every 1 s, ${seconds} s: ${st.scheduler.started} checks started (about ${Math.round(expected)} due), ${down} down, ${kernelDests} in the kernel; ` +
    `lateness p50 ${l.p50Ms.toFixed(2)} ms, p90 ${l.p90Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms, max ${l.maxMs.toFixed(1)} ms; agent CPU ${((100 * (cpu1 - cpu0)) / wall).toFixed(1)}% of one CPU; ${perSecond} checks/s after the first apply, ${cpuMsPerCheck} ms of CPU each; first apply after ${startMs} ms`);
  console.log('lateness buckets (ms <= le: count): ' + l.buckets.map((b) => `${b.le}: ${b.count}`).join(', '));
}
