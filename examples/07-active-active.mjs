// Example 7: three directors, active/active, behind a router doing ECMP.
// See examples/README.md, "Active/active".
//
// Each director runs BIRD announcing the VIP over BGP; the router (BIRD
// too) installs one multipath route over them and hashes flows on their
// ports (fib_multipath_hash_policy=1). Every director carries the same
// service with the `mh` scheduler and sloppy_tcp, applied from one desired
// state, so any of them sends a flow to the same real server and can take a
// flow over mid-stream. Then one director's BIRD stops: its connections go on
// through the others.
//
// Run as root on a kernel with IPVS, with bird2 installed, after `npx tsup`:
//   node examples/07-active-active.mjs
// or in the test kernel:  test/uml/run.sh -- node examples/07-active-active.mjs
import { Ipvs } from 'ipvs';
import { createMultiLab, directorBirdConf, routerBirdConf } from './lib/multi.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, ms = 90_000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(250)) if (await fn()) return;
  throw new Error(`timed out waiting for ${what}`);
}

const lab = await createMultiLab({ prefix: 'ex-aa', directors: 3, backends: 3, routed: true });
const handles = [];
try {
  const desired = {
    sysctls: { sloppy_tcp: true },
    services: [{
      protocol: 'tcp', address: lab.vip, port: lab.port, scheduler: 'mh', schedulerFlags: ['mh-port', 'mh-fallback'],
      destinations: lab.backends.map((b) => ({ address: b.address, forwarding: 'route' })),
    }],
  };
  for (const d of lab.directors) {
    const h = await Ipvs.open({ netns: d.netns });
    handles.push(h);
    await h.apply(desired);
  }
  const routerConf = lab.file('router.conf', routerBirdConf({ address: lab.router.address, directors: lab.directors }));
  lab.daemon(lab.router.netns, 'bird', ['-f', '-c', routerConf, '-s', `${lab.dir}/router.ctl`]);
  const birds = lab.directors.map((d, i) => {
    const conf = lab.file(`d${i + 1}.conf`, directorBirdConf({ address: d.address, router: lab.router.address, vip: lab.vip }));
    return lab.daemon(d.netns, 'bird', ['-f', '-c', conf, '-s', `${lab.dir}/d${i + 1}.ctl`]);
  });
  const route = () => lab.exec(lab.router.netns, 'ip', ['route', 'show', `${lab.vip}/32`]);
  const hops = async () => ((await route()).match(/nexthop/g) ?? []).length;
  await until('the router to learn the VIP from every director', async () => (await hops()) === 3);
  console.log(`# The router's route to the VIP (BGP, ECMP):\n${(await route()).trim()}`);

  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  const ports = {};
  for (const [i, name] of names.entries()) ports[name] = (await lab.call({ op: 'open', name, localPort: 61001 + i })).localPort;
  const backend = {};
  for (const name of names) backend[name] = (await lab.call({ op: 'ping', name })).backend;
  // The director that carries a connection: the one whose entry for it was
  // used last (an entry's timer restarts with each packet). A director the
  // router no longer sends it to keeps its entry until that times out.
  const carriers = async () => {
    const tables = await Promise.all(handles.map((h) => h.listConnections()));
    const expires = (t, n) => t.find((c) => c.client.port === ports[n] && c.state === 'ESTABLISHED')?.expires ?? -1;
    return Object.fromEntries(names.map((n) => {
      const e = tables.map((t) => expires(t, n));
      return [n, e.indexOf(Math.max(...e)) + 1];
    }));
  };
  const before = await carriers();
  console.log('\n# Six long connections: real server, and the director ECMP sent each through');
  for (const n of names) console.log(`  port ${ports[n]}: ${backend[n]} via director-${before[n]}`);

  const victim = before[names[0]] - 1;
  console.log(`\n# Stopping BIRD on director-${victim + 1}`);
  const since = Date.now();
  await birds[victim].stop();
  await until('the router to drop it', async () => (await hops()) === 2 || !(await route()).includes(lab.directors[victim].address));
  console.log(`the router dropped it after ${Date.now() - since} ms:\n${(await route()).trim()}`);
  // Entries count down in whole seconds: let the withdrawn director's entries
  // age a little, so the ones the requests below refresh stand out.
  await new Promise((r) => setTimeout(r, 2500));
  const answers = {};
  for (const n of names) answers[n] = (await lab.call({ op: 'ping', name: n, timeoutMs: 20_000 })).backend;
  const after = await carriers();
  console.log('# The same connections now (sloppy_tcp: a director takes a flow over from any packet; mh: it picks the same server)');
  for (const n of names) console.log(`  port ${ports[n]}: ${answers[n]} via director-${after[n]}`);
} finally {
  for (const h of handles) h.close();
  await lab.destroy();
}
