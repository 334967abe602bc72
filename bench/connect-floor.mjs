// bench/connect-floor.c in Node: the same connects (net.connect, destroyed on
// connect, 1 s timeout) with none of the agent around them, to tell Node's
// own cost per connect from the agent's. Same arguments and JSON line:
//   node bench/connect-floor.mjs paced|max N SECONDS PORT [NET]
import net from 'node:net';

const [mode, n, secs, port, base] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]), process.argv[6] ?? '10.5'];
const addr = (i) => `${base}.${(i / 250) | 0}.${(i % 250) + 1}`;
let started = 0, ok = 0, failed = 0, inflight = 0;
const errors = {};
const late = [];
const connect = (i) =>
  new Promise((done) => {
    started++;
    inflight++;
    const s = net.connect({ host: addr(i % n), port });
    const t = setTimeout(() => s.destroy(new Error('ETIMEDOUT')), 1000);
    const end = (e) => {
      clearTimeout(t);
      s.destroy();
      inflight--;
      if (e) {
        failed++;
        errors[e.code ?? e.message] = (errors[e.code ?? e.message] ?? 0) + 1;
      } else ok++;
      done();
    };
    s.once('connect', () => end());
    s.once('error', end);
  });
const c0 = process.cpuUsage();
const t0 = performance.now();
const endAt = t0 + secs * 1000;
let next = 0;
if (mode === 'paced') {
  await new Promise((finish) => {
    const tick = () => {
      const t = performance.now();
      while (t0 + (next * 1000) / n <= t && t0 + (next * 1000) / n < endAt) {
        late.push(t - (t0 + (next * 1000) / n));
        void connect(next++);
      }
      if (t >= endAt) return finish();
      setTimeout(tick, Math.max(0, t0 + (next * 1000) / n - performance.now()));
    };
    tick();
  });
} else {
  const worker = async () => {
    while (performance.now() < endAt) await connect(next++);
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}
const wall = (performance.now() - t0) / 1000;
while (inflight > 0 && performance.now() < endAt + 1000) await new Promise((r) => setTimeout(r, 10));
const c = process.cpuUsage(c0);
const cpu = (c.user + c.system) / 1e6;
late.sort((a, b) => a - b);
const q = (p) => late[Math.min(late.length - 1, Math.floor(p * late.length))];
console.log(JSON.stringify({
  mode, n, seconds: Math.round(wall * 10) / 10, started, ok, failed, stillOpen: inflight, perSecond: Math.round(ok / wall),
  cpuSeconds: Math.round(cpu * 100) / 100, cpuMsPerConnect: Math.round((cpu * 1e6) / started) / 1000,
  ...(late.length ? { latenessP50Ms: Math.round(q(0.5) * 100) / 100, latenessP99Ms: Math.round(q(0.99) * 100) / 100, latenessMaxMs: Math.round(late.at(-1) * 10) / 10 } : {}),
  errors,
}));
process.exit(0);
