// Example 6: two directors, active/backup, with keepalived (VRRP) and the
// IPVS connection sync daemon. See examples/README.md, "Active/backup".
//
// keepalived runs VRRP only (no LVS part) in each director namespace and
// moves the VIP; its notify scripts run `ipvs sync master|backup` so the
// active director runs the master sync daemon and the other the backup one,
// which copies the connection table. The same service is applied to both
// from one desired state. A long TCP connection then survives the active
// director's keepalived being stopped.
//
// Run as root on a kernel with IPVS, with keepalived installed and after
// `npx tsup` (the notify script runs dist/cli.js):
//   node examples/06-active-backup.mjs
// or in the test kernel:  test/uml/run.sh -- node examples/06-active-backup.mjs
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ipvs } from 'ipvs';
import { createMultiLab, keepalivedConf, syncNotifyScript } from './lib/multi.mjs';

const cli = `${process.execPath} ${fileURLToPath(new URL('../dist/cli.js', import.meta.url))}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, ms = 90_000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(250)) if (await fn()) return;
  throw new Error(`timed out waiting for ${what}`);
}

const lab = await createMultiLab({ prefix: 'ex-ab', directors: 2, backends: 2 });
const handles = [];
const keepalived = [];
try {
  const desired = {
    services: [{
      protocol: 'tcp', address: lab.vip, port: lab.port, scheduler: 'wlc',
      destinations: lab.backends.map((b) => ({ address: b.address, forwarding: 'route' })),
    }],
  };
  for (const d of lab.directors) {
    const h = await Ipvs.open({ netns: d.netns });
    handles.push(h);
    await h.apply(desired);
  }
  const roles = async () => Promise.all(handles.map(async (h) => (await h.listDaemons()).map((x) => x.state).join(',') || '-'));
  const start = (i, priority) => {
    const notify = lab.file(`notify-${i}.sh`, syncNotifyScript({ ipvs: cli, lock: `${lab.dir}/lock-${i}`, log: `${lab.dir}/notify-${i}.log` }), 0o755);
    const conf = lab.file(`keepalived-${i}.conf`, keepalivedConf({ vip: lab.vip, priority, notify }));
    keepalived[i] = lab.daemon(lab.directors[i].netns, 'keepalived', ['-P', '-n', '-l', '-f', conf, '-p', `${lab.dir}/k${i}.pid`, '-r', `${lab.dir}/v${i}.pid`]);
    return conf;
  };
  const conf = start(0, 150);
  await until('director-1 to become master', async () => (await roles())[0] === 'master');
  start(1, 100);
  await until('director-2 to run a backup sync daemon', async () => (await roles())[1] === 'backup');
  console.log(`# keepalived.conf of director-1:\n${readFileSync(conf, 'utf8')}`);
  console.log(`# sync daemons: director-1 ${(await roles())[0]}, director-2 ${(await roles())[1]}`);

  const open = await lab.call({ op: 'open', name: 'long', localPort: 61001 });
  const first = await lab.call({ op: 'ping', name: 'long' });
  console.log(`\n# A long TCP connection from ${lab.client.address}:${open.localPort} to ${lab.vip}:${lab.port}, served by ${first.backend}`);
  await until('the backup to learn it', async () => (await handles[1].listConnections({ origin: true })).some((c) => c.client.port === open.localPort));
  for (const [i, h] of handles.entries()) {
    const c = (await h.listConnections({ origin: true })).find((x) => x.client.port === open.localPort);
    console.log(`director-${i + 1}: ${c.protocol} ${c.state} ${c.client.address}:${c.client.port} -> ${c.destination.address}:${c.destination.port} (${c.origin}, expires in ${c.expires}s)`);
  }

  console.log('\n# Stopping keepalived on director-1');
  const since = Date.now();
  await keepalived[0].stop();
  const after = await lab.call({ op: 'ping', name: 'long', timeoutMs: 20_000 });
  console.log(`the same connection answers again after ${Date.now() - since} ms, from ${after.backend}`);
  await until('director-2 to run the master sync daemon', async () => (await roles())[1] === 'master');
  // (director-1's master daemon may still run: keepalived does not always get
  // to run notify_stop; it has no traffic to sync, and a restart sets it right.)
  console.log(`# sync daemons now: director-1 ${(await roles())[0]}, director-2 ${(await roles())[1]}`);
  const fresh = await lab.call({ op: 'requests', count: 4 });
  console.log(`four new connections: ${fresh.results.map((r) => r.backend ?? r.error).join(', ')}`);
} finally {
  for (const h of handles) h.close();
  await lab.destroy();
}
