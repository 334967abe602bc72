// A small load-balancing lab built from network namespaces, for the examples
// and the traffic tests. Run as root on a kernel with IPVS (a real host or
// the test kernel); everything lives in namespaces of its own, so nothing
// touches the host's network and destroy() leaves nothing behind.
//
//   client ns (10.1.0.2) --- director ns (10.1.0.1, VIPs on dummy lb0)
//                              |-- b1 10.2.1.1 --- backend-1 ns 10.2.1.2
//                              |-- b2 10.2.2.1 --- backend-2 ns 10.2.2.2 ...
//   with directReturn, also: backend-K (ret 10.3.K.2) --- client ns (rK 10.3.K.1),
//   the path DR and tunnel replies take around the director.
//
// Each backend runs server.mjs (HTTP on the TCP ports, UDP echo on the UDP
// ports, answering with its name); the client namespace runs client.mjs,
// which request() and friends drive. IPVS itself is left to the caller:
// open the library in `director.netns`.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const serverScript = fileURLToPath(new URL('./server.mjs', import.meta.url));
const clientScript = fileURLToPath(new URL('./client.mjs', import.meta.url));

/** Topologies not destroyed yet, cleaned up on exit or a signal whatever happens. */
const live = new Set();
let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const t of live) t.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    // Only when nobody else handles the signal (a test runner may).
    if (process.listenerCount(sig) === 0) process.once(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)));
  }
}

/** Runs a command; resolves to its stdout, rejects with its stderr. */
export function run(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.stdin.on('error', () => {}); // it may exit before reading: its status says why
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.trim()}`));
    });
    child.stdin.end(input ?? '');
  });
}

/** Runs a shell script inside a namespace; `ipBatch` lines go to one `ip -batch`. */
function nsScript(netns, script, ipBatch = []) {
  const sh = ipBatch.length ? `${script}\nexec ip -batch -` : script;
  return run('ip', ['netns', 'exec', netns, 'sh', '-ec', sh], ipBatch.join('\n') + '\n');
}

/** Shell lines setting sysctls, e.g. {'net/ipv4/ip_forward': 1}; '*' globs interfaces. */
function sysctls(values) {
  return Object.entries(values)
    .map(([k, v]) => (k.includes('*') ? `for f in /proc/sys/${k}; do echo ${v} > "$f"; done` : `echo ${v} > /proc/sys/${k}`))
    .join('\n');
}

/** Starts a Node script in a namespace and waits for its "ready" line. */
function startNode(netns, script, args) {
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {}); // it may be gone already; its exit is what counts
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`${script} ${args.join(' ')} in ${netns} exited (${code}): ${err.trim()}`));
    child.once('exit', onExit);
    child.once('error', reject);
    lines.once('line', (l) => {
      child.off('exit', onExit);
      if (l === 'ready') resolve();
      else reject(new Error(`${script} in ${netns} said ${l}`));
    });
  });
  return { child, lines, ready };
}

/** Stops a child: closes its stdin (it exits on its own), then SIGKILL after a while. */
function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin.end();
    child.kill('SIGTERM');
  });
}

/** Counts replies per backend (every backend listed, 0 when unused). */
function summarize(results, names) {
  const counts = Object.fromEntries(names.map((n) => [n, 0]));
  const errors = {};
  let failures = 0;
  for (const r of results) {
    if (r.error) {
      failures++;
      errors[r.error] = (errors[r.error] ?? 0) + 1;
    } else counts[r.backend] = (counts[r.backend] ?? 0) + 1;
  }
  return { replies: results.map((r) => r.backend ?? null), results, counts, failures, errors };
}

/**
 * Builds the lab. Options:
 *   backends: how many backend namespaces (default 2)
 *   vips: addresses put on the director's dummy lb0 (default ['10.0.0.10'])
 *   tcpPorts / udpPorts: what each backend serves (default [80] / [])
 *   clientAddresses: how many client addresses, 10.1.0.2 up (default 1)
 *   directReturn: backends reply to the client around the director (DR, tunnel)
 *   prefix: namespace name prefix (default 'ipvs')
 *   backendName: backends are named backendName-1... and answer so (default 'backend')
 */
export async function createTopology(opts = {}) {
  const {
    backends: nBackends = 2,
    vips = ['10.0.0.10'],
    tcpPorts = [80],
    udpPorts = [],
    clientAddresses = 1,
    directReturn = false,
    prefix = 'ipvs',
    backendName = 'backend',
  } = opts;
  if (process.getuid?.() !== 0) throw new Error('the topology needs root: it creates network namespaces (run with sudo, or in the test kernel)');
  const id = randomBytes(3).toString('hex');
  const client = {
    netns: `${prefix}-${id}-client`,
    address: '10.1.0.2',
    addresses: Array.from({ length: clientAddresses }, (_, i) => `10.1.0.${i + 2}`),
  };
  const director = { netns: `${prefix}-${id}-director`, address: '10.1.0.1', vips };
  const backends = Array.from({ length: nBackends }, (_, i) => ({
    name: `${backendName}-${i + 1}`,
    netns: `${prefix}-${id}-backend-${i + 1}`,
    address: `10.2.${i + 1}.2`,
    /** The director's address on this backend's link. */
    gateway: `10.2.${i + 1}.1`,
    /** This backend's address on its direct link to the client (directReturn). */
    returnAddress: directReturn ? `10.3.${i + 1}.2` : undefined,
  }));
  const namespaces = [client.netns, director.netns, ...backends.map((b) => b.netns)];
  const children = [];
  let clientProc;

  const topo = {
    id,
    vip: vips[0],
    client,
    director,
    backends,
    namespaces,
    /** Runs a command inside a namespace; resolves to stdout. */
    exec: (netns, cmd, args = [], input) => run('ip', ['netns', 'exec', netns, cmd, ...args], input),
    /** HTTP GETs from the client, each on a new connection. */
    request: (o = {}) => clientCall('http', o),
    /** UDP exchanges from the client, each from a new socket. */
    udp: (o = {}) => clientCall('udp', { port: udpPorts[0], ...o }),
    /** Opens TCP connections from the client and keeps them open until release(). */
    hold: (o = {}) => clientCall('hold', o, false),
    release: () => clientCall('release', {}, false),
    setupDirectRouting,
    setupTunnel,
    destroy,
    destroySync,
  };

  let nextId = 1;
  const pending = new Map();
  function clientCall(op, o, summarized = true) {
    const cmd = { id: nextId++, op, host: topo.vip, port: tcpPorts[0], ...o };
    return new Promise((resolve, reject) => {
      if (destroyed || clientProc.child.exitCode !== null) return reject(new Error('the client is not running'));
      pending.set(cmd.id, { resolve, reject });
      clientProc.child.stdin.write(JSON.stringify(cmd) + '\n');
    }).then((r) => (summarized ? summarize(r.results, backends.map((b) => b.name)) : r));
  }

  /**
   * Readies the backends for direct routing: the VIP on loopback, and ARP
   * replies and announcements only for addresses on the asking interface,
   * so backends never answer ARP for the VIP.
   */
  async function setupDirectRouting({ vip = topo.vip } = {}) {
    await Promise.all(backends.map((b) => nsScript(b.netns, sysctls({
      'net/ipv4/conf/all/arp_ignore': 1,
      'net/ipv4/conf/all/arp_announce': 2,
      'net/ipv4/conf/eth0/arp_ignore': 1,
      'net/ipv4/conf/eth0/arp_announce': 2,
    }), [`addr replace ${vip}/32 dev lo`])));
  }

  /**
   * Readies the backends to decapsulate IPVS tunnel traffic of one kind:
   * 'ipip' (fallback device tunl0), 'gue' (a FOU/GUE port feeding tunl0) or
   * 'gre' (fallback device gre0); the VIP on loopback and rp_filter off, as
   * decapsulated packets arrive on the tunnel device.
   */
  async function setupTunnel(kind, { vip = topo.vip, port = 6080 } = {}) {
    const dev = kind === 'gre' ? 'gre0' : 'tunl0';
    const batch = [`link set ${dev} up`, `addr replace ${vip}/32 dev lo`];
    if (kind === 'gue') batch.push(`fou add port ${port} gue`);
    await Promise.all(backends.map(async (b) => {
      await nsScript(b.netns, sysctls({ 'net/ipv4/conf/all/arp_ignore': 1, 'net/ipv4/conf/all/arp_announce': 2 }), batch);
      // The device exists now: its own rp_filter counts too.
      await nsScript(b.netns, sysctls({ 'net/ipv4/conf/*/rp_filter': 0 }));
    }));
  }

  let destroyed = false;
  /** Stops every process and deletes every namespace; safe to call twice. */
  async function destroy() {
    if (destroyed) return;
    destroyed = true;
    live.delete(topo);
    await Promise.all(children.map(stop));
    for (const p of pending.values()) p.reject(new Error('topology destroyed'));
    await run('ip', ['-force', '-batch', '-'], namespaces.map((n) => `netns del ${n}`).join('\n') + '\n').catch(() => {});
  }
  /** The same, synchronously, for process exit. */
  function destroySync() {
    if (destroyed) return;
    destroyed = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const n of namespaces) {
      try {
        execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
      } catch {}
    }
  }

  live.add(topo);
  hookExit();
  try {
    // Namespaces and links in one `ip` run; each link is created straight
    // into its two namespaces.
    const root = namespaces.map((n) => `netns add ${n}`);
    root.push(`link add eth0 netns ${client.netns} type veth peer name front netns ${director.netns}`);
    backends.forEach((b, i) => {
      root.push(`link add b${i + 1} netns ${director.netns} type veth peer name eth0 netns ${b.netns}`);
      if (directReturn) root.push(`link add r${i + 1} netns ${client.netns} type veth peer name ret netns ${b.netns}`);
    });
    await run('ip', ['-batch', '-'], root.join('\n') + '\n');

    // rp_filter off everywhere: replies may come back on another link than
    // the one the route points to (direct return), and tunnels decapsulate.
    const noRpFilter = { 'net/ipv4/conf/*/rp_filter': 0 };
    await Promise.all([
      nsScript(client.netns, sysctls(noRpFilter), [
        'link set lo up',
        ...client.addresses.map((a) => `addr add ${a}/24 dev eth0`),
        'link set eth0 up',
        `route add default via ${director.address}`,
        ...(directReturn ? backends.flatMap((b, i) => [`addr add 10.3.${i + 1}.1/24 dev r${i + 1}`, `link set r${i + 1} up`]) : []),
      ]),
      nsScript(director.netns, sysctls({ ...noRpFilter, 'net/ipv4/ip_forward': 1 }), [
        'link set lo up',
        `addr add ${director.address}/24 dev front`,
        'link set front up',
        'link add lb0 type dummy',
        ...vips.map((v) => `addr add ${v}/32 dev lb0`),
        'link set lb0 up',
        ...backends.flatMap((b, i) => [`addr add ${b.gateway}/24 dev b${i + 1}`, `link set b${i + 1} up`]),
      ]),
      ...backends.map((b, i) => nsScript(b.netns, sysctls(noRpFilter), [
        'link set lo up',
        `addr add ${b.address}/24 dev eth0`,
        'link set eth0 up',
        `route add default via ${b.gateway}`,
        ...(directReturn ? [`addr add ${b.returnAddress}/24 dev ret`, 'link set ret up', `route add 10.1.0.0/24 via 10.3.${i + 1}.1`] : []),
      ])),
    ]);

    const specs = [...tcpPorts.map(String), ...udpPorts.map((p) => `udp:${p}`)];
    const servers = backends.map((b) => startNode(b.netns, serverScript, [b.name, ...specs]));
    clientProc = startNode(client.netns, clientScript, []);
    children.push(...servers.map((s) => s.child), clientProc.child);
    await Promise.all([...servers.map((s) => s.ready), clientProc.ready]);
    clientProc.lines.on('line', (line) => {
      const r = JSON.parse(line);
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      if (r.error) p.reject(new Error(`client ${r.error}`));
      else p.resolve(r);
    });
    clientProc.child.once('exit', (code) => {
      for (const p of pending.values()) p.reject(new Error(`client exited (${code})`));
      pending.clear();
    });
  } catch (e) {
    await destroy();
    throw e;
  }
  return topo;
}
