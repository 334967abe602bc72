// Labs of several directors, for examples/06-active-backup.mjs,
// examples/07-active-active.mjs and the multi-* kernel tests. Run as root on
// a kernel with IPVS; everything lives in namespaces of its own.
//
// All directors and backends share one Ethernet segment (a bridge in a
// namespace of its own), the way direct routing wants them:
//
//   active/backup (routed: false)           active/active (routed: true)
//
//   client 10.9.0.2 ---+                    client 10.8.0.2 --- router 10.8.0.1
//                      |                                        10.9.0.1 (BIRD, ECMP)
//   director-1 .11 ----+ segment                                   |
//   director-2 .12 ----+ 10.9.0.0/24        director-K 10.9.0.1K --+ segment
//   backend-1  .21 ----+                    backend-K  10.9.0.2K --+ 10.9.0.0/24
//   backend-2  .22 ----+                    probe      10.9.0.50 --+
//   VIP 10.9.0.100: held by keepalived      VIP 10.0.0.10 on every director's lb0,
//   on the segment (VRRP)                   announced over BGP
//
// Backends hold the VIP on loopback (ARP for it never answered) and run
// lines.mjs servers on `port`; the client (and the probe) run lines.mjs
// clients, driven with call().
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { run } from './topology.mjs';

const linesScript = fileURLToPath(new URL('./lines.mjs', import.meta.url));

/** Shell lines (sysctls) then `ip -batch` lines, in one process inside a namespace. */
function nsScript(netns, script, ipBatch = []) {
  const sh = `${script}\n${ipBatch.length ? 'exec ip -batch -' : ''}`;
  return run('ip', ['netns', 'exec', netns, 'sh', '-ec', sh], ipBatch.join('\n') + '\n');
}

const sysctls = (values) => Object.entries(values).map(([k, v]) => (k.includes('*') ? `for f in /proc/sys/${k}; do echo ${v} > "$f"; done` : `echo ${v} > /proc/sys/${k}`)).join('\n');
const noRp = { 'net/ipv4/conf/*/rp_filter': 0 };
const arpQuiet = { 'net/ipv4/conf/all/arp_ignore': 1, 'net/ipv4/conf/all/arp_announce': 2 };

/** A long-running process in a namespace: its output kept (last 64 KiB), stop() ends it. */
function startProcess(netns, cmd, args) {
  const child = spawn('ip', ['netns', 'exec', netns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  let log = '';
  const keep = (d) => {
    log = (log + d).slice(-65536);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    get log() {
      return log;
    },
    /** SIGTERM (the daemon's clean stop), SIGKILL after `graceMs`. */
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A lines.mjs process (server or client) in a namespace, once it printed "ready". */
async function startLines(netns, args) {
  const p = startProcess(netns, process.execPath, [linesScript, ...args]);
  const lines = createInterface({ input: p.child.stdout });
  await new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`lines.mjs ${args.join(' ')} in ${netns} exited (${code}): ${p.log.trim()}`));
    p.child.once('exit', onExit);
    lines.once('line', (l) => {
      p.child.off('exit', onExit);
      if (l === 'ready') resolve();
      else reject(new Error(`lines.mjs in ${netns} said ${l}`));
    });
  });
  let nextId = 1;
  const pending = new Map();
  lines.on('line', (l) => {
    const r = JSON.parse(l);
    pending.get(r.id)?.(r);
    pending.delete(r.id);
  });
  p.child.once('exit', (code) => {
    for (const resolve of pending.values()) resolve({ error: `exited (${code})` });
    pending.clear();
  });
  p.call = (cmd) => new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve({ error: `lines.mjs exited: ${p.log.trim()}` });
    const id = nextId++;
    pending.set(id, resolve);
    p.child.stdin.write(JSON.stringify({ id, ...cmd }) + '\n');
  });
  return p;
}

/**
 * Builds a lab. Options: directors (default 2), backends (default 2),
 * routed (client behind a router, VIP announced over BGP; default false),
 * probe (routed only: a namespace on the segment that can send to one
 * chosen director), port (default 80), prefix (namespace names).
 */
export async function createMultiLab(opts = {}) {
  const { directors: nd = 2, backends: nb = 2, routed = false, probe: withProbe = false, port = 80, prefix = 'multi' } = opts;
  if (process.getuid?.() !== 0) throw new Error('the lab needs root: it creates network namespaces');
  const id = randomBytes(3).toString('hex');
  const ns = (name) => `${prefix}-${id}-${name}`;
  const vip = routed ? '10.0.0.10' : '10.9.0.100';
  const segment = ns('seg');
  const client = { netns: ns('client'), address: routed ? '10.8.0.2' : '10.9.0.2' };
  const router = routed ? { netns: ns('router'), address: '10.9.0.1', clientSide: '10.8.0.1' } : undefined;
  const probe = routed && withProbe ? { netns: ns('probe'), address: '10.9.0.50' } : undefined;
  const directors = Array.from({ length: nd }, (_, i) => ({ name: `director-${i + 1}`, netns: ns(`d${i + 1}`), address: `10.9.0.${11 + i}`, port: `pd${i + 1}` }));
  const backends = Array.from({ length: nb }, (_, i) => ({ name: `backend-${i + 1}`, netns: ns(`b${i + 1}`), address: `10.9.0.${21 + i}`, port: `pb${i + 1}` }));
  const onSegment = [...directors, ...backends];
  if (router) onSegment.push({ netns: router.netns, port: 'prt' });
  else onSegment.push({ netns: client.netns, port: 'pcl' });
  if (probe) onSegment.push({ netns: probe.netns, port: 'ppr' });
  const namespaces = [segment, client.netns, ...directors.map((d) => d.netns), ...backends.map((b) => b.netns), ...(router ? [router.netns] : []), ...(probe ? [probe.netns] : [])];
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const processes = [];
  let destroyed = false;

  const lab = {
    id, vip, port, segment, client, router, probe, directors, backends, namespaces, dir,
    /** Runs a command in a namespace; resolves to its stdout. */
    exec: (netns, cmd, args = []) => run('ip', ['netns', 'exec', netns, cmd, ...args]),
    /** `ip -batch` lines in a namespace. */
    ip: (netns, lines) => run('ip', ['-n', netns, '-batch', '-'], lines.join('\n') + '\n'),
    /** Writes a file in the lab's directory; returns its path. */
    file(name, text, mode = 0o644) {
      const path = join(dir, name);
      writeFileSync(path, text, { mode });
      return path;
    },
    /** Starts a daemon in a namespace (kept until stop() or destroy()). */
    daemon(netns, cmd, args) {
      const p = startProcess(netns, cmd, args);
      processes.push(p);
      return p;
    },
    /** Detaches a namespace's port from the segment (its link stays up: a cut the host cannot see). */
    cut: (node) => run('ip', ['-n', segment, 'link', 'set', node.port, 'nomaster']),
    /** Attaches it again. */
    mend: (node) => run('ip', ['-n', segment, 'link', 'set', node.port, 'master', 'br0']),
    destroy,
  };

  async function destroy() {
    if (destroyed) return;
    destroyed = true;
    await Promise.all(processes.map((p) => p.stop(2000)));
    await run('ip', ['-force', '-batch', '-'], namespaces.map((n) => `netns del ${n}`).join('\n') + '\n').catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  const onExit = () => {
    if (destroyed) return;
    for (const p of processes) p.child.kill('SIGKILL');
    for (const n of namespaces) {
      try {
        execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
      } catch {}
    }
  };
  process.once('exit', onExit);

  try {
    const root = namespaces.map((n) => `netns add ${n}`);
    for (const n of onSegment) root.push(`link add eth0 netns ${n.netns} type veth peer name ${n.port} netns ${segment}`);
    if (router) root.push(`link add eth0 netns ${client.netns} type veth peer name cl netns ${router.netns}`);
    await run('ip', ['-batch', '-'], root.join('\n') + '\n');
    const up = ['link set lo up', 'link set eth0 up'];
    await Promise.all([
      nsScript(segment, '', ['link set lo up', 'link add br0 type bridge', 'link set br0 up', ...onSegment.flatMap((n) => [`link set ${n.port} master br0`, `link set ${n.port} up`])]),
      nsScript(client.netns, sysctls(noRp), [...up, `addr add ${client.address}/24 dev eth0`, ...(router ? [`route add default via ${router.clientSide}`] : [])]),
      ...directors.map((d) => nsScript(d.netns, sysctls({ ...noRp, ...arpQuiet }), [
        ...up, `addr add ${d.address}/24 dev eth0`,
        ...(routed ? ['link add lb0 type dummy', `addr add ${vip}/32 dev lb0`, 'link set lb0 up', `route add default via ${router.address}`] : []),
      ])),
      ...backends.map((b) => nsScript(b.netns, sysctls({ ...noRp, ...arpQuiet }), [
        ...up, `addr add ${b.address}/24 dev eth0`, `addr add ${vip}/32 dev lo`, ...(router ? [`route add default via ${router.address}`] : []),
      ])),
      ...(router ? [nsScript(router.netns, sysctls({ ...noRp, 'net/ipv4/ip_forward': 1, 'net/ipv4/fib_multipath_hash_policy': 1 }), [
        ...up, `addr add ${router.address}/24 dev eth0`, 'link set cl up', `addr add ${router.clientSide}/24 dev cl`,
      ])] : []),
      ...(probe ? [nsScript(probe.netns, sysctls(noRp), [...up, `addr add ${probe.address}/24 dev eth0`])] : []),
    ]);
    const servers = await Promise.all(backends.map((b) => startLines(b.netns, ['server', b.name, String(port)])));
    processes.push(...servers);
    lab.clientProcess = await startLines(client.netns, ['client']);
    processes.push(lab.clientProcess);
    if (probe) {
      lab.probeProcess = await startLines(probe.netns, ['client']);
      processes.push(lab.probeProcess);
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  /** A command to the client's lines.mjs (see lines.mjs for the commands). */
  lab.call = (cmd) => lab.clientProcess.call({ host: vip, port, ...cmd });
  /** The same from the probe. */
  lab.probeCall = (cmd) => lab.probeProcess.call({ host: vip, port, ...cmd });
  return lab;
}

/**
 * keepalived.conf for one director of an active/backup pair: VRRP only
 * (no LVS part: IPVS is programmed by this library), the VIP on eth0, and
 * the notify script (syncNotifyScript) setting the sync daemon's role.
 */
export function keepalivedConf({ vip, priority, notify, interface: dev = 'eth0', routerId = 51, advertInt = 0.5, preempt = true }) {
  return `global_defs {
  script_user root
  vrrp_garp_master_refresh 1
}
vrrp_instance VIP_${routerId} {
  state BACKUP
  interface ${dev}
  virtual_router_id ${routerId}
  priority ${priority}
  advert_int ${advertInt}
  version 3
  ${preempt ? '' : 'nopreempt'}
  virtual_ipaddress {
    ${vip}/32 dev ${dev}
  }
  notify_master "${notify} master"
  notify_backup "${notify} backup"
  notify_fault "${notify} backup"
  notify_stop "${notify} stop"
}
`;
}

/**
 * The notify script: `ipvs sync ROLE` for the role keepalived names, one
 * at a time (keepalived does not wait for a script before it runs the
 * next), each line of what happened appended to `log`.
 * `ipvs` is the command line that runs the CLI.
 */
export function syncNotifyScript({ ipvs, lock, log, interface: dev = 'eth0', syncId = 51 }) {
  return `#!/bin/sh
# keepalived notify_* script: the IPVS sync daemon follows the VRRP state.
exec 9>>${lock}
flock 9
role=$1
[ "$role" = stop ] && set -- stop || set -- "$role" --interface ${dev} --syncid ${syncId}
echo "$(date +%T.%N) $role" >>${log}
${ipvs} sync "$@" >>${log} 2>&1
`;
}

/** bird.conf for the router: a BGP session per director, ECMP over their routes. */
export function routerBirdConf({ address, directors, holdTime = 3 }) {
  return `router id ${address};
protocol device { scan time 1; }
protocol kernel { ipv4 { export all; }; merge paths on; }
${directors.map((d, i) => `protocol bgp director${i + 1} {
  local ${address} as 65000; neighbor ${d.address} as 65001;
  hold time ${holdTime}; connect retry time 1; error wait time 1, 2;
  ipv4 { import all; export none; };
}`).join('\n')}
`;
}

/** bird.conf for a director: announce the VIP to the router over BGP. */
export function directorBirdConf({ address, router, vip, holdTime = 3 }) {
  return `router id ${address};
protocol device { scan time 1; }
protocol static { ipv4; route ${vip}/32 blackhole; }
protocol bgp uplink {
  local ${address} as 65001; neighbor ${router} as 65000;
  hold time ${holdTime}; connect retry time 1; error wait time 1, 2;
  ipv4 { import none; export where net = ${vip}/32; };
}
`;
}
