// The agent's checker without a kernel: N TCP checks a second (default
// 1,000) against loopback addresses (127.0.x.y, one listener) for S seconds
// through the agent's Scheduler and runCheck; prints checks started, CPU and
// start lateness. Runs anywhere (no IPVS, no root):
//   npx esbuild bench/agent-checks.ts --bundle --platform=node --format=esm \
//     --packages=external --outfile=.uml/agent-checks.mjs && node .uml/agent-checks.mjs 1000 10
// bench/agent-scale.mjs is the same with the whole agent and IPVS, for the test kernel.
import net from 'node:net';
import { Scheduler } from '../src/agent/scheduler.js';
import { runCheck } from '../src/agent/checks/index.js';
const n = Number(process.argv[2] ?? 1000);
const secs = Number(process.argv[3] ?? 10);
const srv = net.createServer((s) => s.destroy());
await new Promise<void>((r) => srv.listen({ port: 0, host: '0.0.0.0', backlog: 4096 }, r));
const port = (srv.address() as net.AddressInfo).port;
const s = new Scheduler();
let ok = 0;
let bad = 0;
for (let i = 0; i < n; i++) {
  const address = `127.0.${(i / 250) | 0}.${(i % 250) + 1}`;
  s.add(`j${i}`, Math.random() * 1000, async () => {
    const r = await runCheck({ type: 'tcp', interval: 1, timeout: 1, fall: 3, rise: 2, retryInterval: 1, warmup: 1, start: 'up' }, { address, port });
    if (r.ok) ok++;
    else bad++;
    return 1000;
  });
}
const c0 = process.cpuUsage();
await new Promise((r) => setTimeout(r, secs * 1000));
const c1 = process.cpuUsage(c0);
const st = s.stats();
console.log(JSON.stringify({ n, secs, started: st.started, ok, bad, cpuPct: Math.round((c1.user + c1.system) / 1e4 / secs), cpuMsPerCheck: Math.round((c1.user + c1.system) / st.started) / 1000, p50: st.lateness.p50Ms, p99: st.lateness.p99Ms, max: st.lateness.maxMs }));
s.stop(); srv.close();
