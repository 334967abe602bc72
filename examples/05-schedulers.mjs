// Example 5: the IPVS schedulers side by side, on real traffic.
//
// Part 1: three backends with weights 3:2:1; for each of rr, wrr, lc, sh,
// sed and nq, a fresh virtual service takes 30 requests, 5 at a time, and the
// split the backends saw is printed.
// Part 2: backend-1 is kept busy with 4 open connections (equal weights);
// 12 requests, one at a time, show which schedulers steer around it.
//
// Everything lives in network namespaces and is deleted at the end.
// Run as root on a kernel with IPVS, after `npx tsup`:  node examples/05-schedulers.mjs
// or in the test kernel:  test/uml/run.sh -- node examples/05-schedulers.mjs
import { Ipvs } from 'ipvs';
import { createTopology } from './lib/topology.mjs';

const what = {
  rr: 'round robin: each in turn, weights ignored',
  wrr: 'weighted round robin: in proportion to weight',
  lc: 'least connections: fewest active (x256) + inactive, weights ignored',
  sh: 'source hashing: one client address always lands on one backend',
  sed: 'shortest expected delay: fewest (active+1)/weight',
  nq: 'never queue: an idle backend if any, else as sed',
};

// A VIP per run: a new service on an old address would get the old real
// servers back from the kernel's trash, with their connection counts.
const vips = Array.from({ length: 10 }, (_, i) => `10.0.0.${11 + i}`);
const topo = await createTopology({ prefix: 'ex-sched', backends: 3, vips });
const ipvs = await Ipvs.open({ netns: topo.director.netns });
let service;
const names = topo.backends.map((b) => b.name);
const row = (first, cells, note = '') => `${first.padEnd(10)}${cells.map((c) => String(c).padStart(11)).join('')}   ${note}`.trimEnd();

/** A fresh service on the next VIP, with one masq real server per backend. */
async function serve(scheduler, weights) {
  await ipvs.flush();
  service = { protocol: 'tcp', address: vips.shift(), port: 80 };
  await ipvs.addService({ ...service, scheduler });
  for (const [i, b] of topo.backends.entries()) await ipvs.addDestination(service, { address: b.address, forwarding: 'masq', weight: weights[i] });
}

let failures = 0;
try {
  console.log('# Part 1: 30 requests, 5 at a time, weights 3:2:1');
  console.log(row('scheduler', names));
  for (const scheduler of Object.keys(what)) {
    await serve(scheduler, [3, 2, 1]);
    const r = await topo.request({ host: service.address, count: 30, concurrency: 5 });
    failures += r.failures;
    console.log(row(scheduler, names.map((n) => r.counts[n]), what[scheduler]));
  }

  console.log('\n# Part 2: backend-1 holds 4 open connections; 12 requests, one at a time, equal weights');
  console.log(row('scheduler', names));
  for (const scheduler of ['rr', 'lc', 'sed', 'nq']) {
    // Only backend-1 takes connections while the 4 are opened...
    await serve(scheduler, [1, 0, 0]);
    await topo.hold({ host: service.address, count: 4 });
    for (const b of topo.backends.slice(1)) await ipvs.updateDestination(service, { address: b.address, weight: 1 });
    // ...then all three do.
    const r = await topo.request({ host: service.address, count: 12 });
    await topo.release();
    failures += r.failures;
    console.log(row(scheduler, names.map((n) => r.counts[n]), scheduler === 'rr' ? 'ignores the load' : 'steers around the busy backend'));
  }
  if (failures) console.log(`\n${failures} requests failed`);
  process.exitCode = failures === 0 ? 0 : 1;
} finally {
  ipvs.close();
  await topo.destroy();
}
