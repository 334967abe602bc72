// Active/backup directors with the real daemons: Debian's keepalived runs
// VRRP for the VIP in two director namespaces on one segment, its notify
// scripts set the IPVS sync daemon's role with `ipvs sync` (master on the
// active director, backup on the other), and both directors carry the same
// direct-routing service, programmed through the library. One lab for the
// whole file (see examples/lib/multi.mjs); the tests run in order, each
// starting from the state the one before left.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { createMultiLab, keepalivedConf, syncNotifyScript, type LabProcess, type LineResult, type MultiLab } from '../../examples/lib/multi.mjs';
import { runSyncCommand } from '../../src/cli/sync.js';
import { Ipvs, IpvsError, getSysctls, listConnections, netnsPath, setSysctls, type IpvsConnection } from '../../src/index.js';

let lab: MultiLab;
const handles: Ipvs[] = [];
const keepalived: (LabProcess | undefined)[] = [];
// Generous: in the one-CPU test kernel each notify script (a Node start)
// takes seconds.
const poll = { timeout: 60_000, interval: 250 };
const ipvsCli = `${process.execPath} ${resolve('dist/cli.js')}`;

const d = (i: number) => lab.directors[i]!;
const conns = (i: number) => listConnections({ netnsPath: netnsPath(d(i).netns), origin: true });
/** The sync daemons running on director i, as "master"/"backup" words. */
const daemons = async (i: number) => (await handles[i]!.listDaemons()).map((x) => x.state).sort().join(',');
const holdsVip = async (i: number) => (await lab.exec(d(i).netns, 'ip', ['-o', '-4', 'addr', 'show', 'dev', 'eth0'])).includes(`${lab.vip}/32`);

function startKeepalived(i: number, priority: number) {
  const notify = lab.file(`notify-${i}.sh`, syncNotifyScript({ ipvs: ipvsCli, lock: `${lab.dir}/sync-${i}.lock`, log: `${lab.dir}/notify-${i}.log` }), 0o755);
  const conf = lab.file(`keepalived-${i}.conf`, keepalivedConf({ vip: lab.vip, priority, notify }));
  // -P: VRRP only; -n: stay in the foreground (the test owns the process); -l: log to stderr.
  keepalived[i] = lab.daemon(d(i).netns, 'keepalived', ['-P', '-n', '-l', '-f', conf, '-p', `${lab.dir}/k${i}.pid`, '-r', `${lab.dir}/v${i}.pid`]);
}

/** Polls `fn` until it returns `want` (expect.poll is for tests, not hooks). */
async function until<T>(fn: () => Promise<T>, want: T, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await fn();
    if (JSON.stringify(last) === JSON.stringify(want)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`still ${JSON.stringify(last)}, not ${JSON.stringify(want)}, after ${timeoutMs} ms`);
}

/**
 * The sync daemons' kernel threads, name ("ipvs-m:NETNS-GEN:N" or
 * "ipvs-b:...") -> pid, of every namespace: a daemon stopped and started
 * again runs in new threads.
 */
function syncThreads(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pid of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    let comm = '';
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue; // exited meanwhile
    }
    if (/^ipvs-[mb]:/.test(comm)) out[comm] = Number(pid);
  }
  return out;
}

/** Finds a connection of the table by its client port. */
const byPort = (list: IpvsConnection[], port: number) => list.find((c) => c.client.port === port && !c.template);

/**
 * (Loop requests wait up to 3 s: a request caught by the failover is then
 * held by a SYN retransmission rather than counted lost, and the loaded
 * one-CPU test kernel can be slow on its own.)
 *
 * Checks a request loop across a failover that began at `since`, the new
 * director having taken over (its notify script ran) at `tookOver`: every
 * request started after the takeover succeeded. Returns what the client saw:
 * requests lost, and the time from `since` to the start of the first
 * request that succeeded after the last loss (0 when none was lost).
 */
function takeover(results: LineResult[], since: number, tookOver: number): { lost: number; gapMs: number } {
  const after = results.filter((r) => r.t! >= since);
  expect(after.filter((r) => r.t! >= tookOver && r.error), 'requests lost after the takeover').toEqual([]);
  expect(after.filter((r) => r.t! >= tookOver).length).toBeGreaterThan(5);
  const lastLoss = after.map((r) => !!r.error).lastIndexOf(true);
  return { lost: after.filter((r) => r.error).length, gapMs: lastLoss < 0 ? 0 : after[lastLoss + 1]!.t! - since };
}

/** Polls until director i runs only the `role` daemon; returns when it saw it. */
async function roleAt(i: number, role: string): Promise<number> {
  await expect.poll(() => daemons(i), poll).toBe(role);
  return Date.now();
}

beforeAll(async () => {
  lab = await createMultiLab({ prefix: 'mb', directors: 2, backends: 2 });
  for (const dir of lab.directors) {
    const h = await Ipvs.open({ netns: dir.netns });
    handles.push(h);
    const svc = { protocol: 'tcp' as const, address: lab.vip, port: lab.port };
    await h.addService({ ...svc, scheduler: 'rr' });
    for (const b of lab.backends) await h.addDestination(svc, { address: b.address, port: lab.port, forwarding: 'route' });
  }
  // The active one first, so that the other never holds the VIP for a
  // moment at start (each notify script takes seconds in the test kernel).
  startKeepalived(0, 150);
  await until(() => daemons(0), 'master').catch(logs);
  startKeepalived(1, 100);
  // The notify scripts ran: master daemon on the active director, backup on the other.
  await until(async () => [await daemons(0), await daemons(1)], ['master', 'backup']).catch(logs);
  if (!(await holdsVip(0))) throw new Error('director 1 is master but has no VIP');
}, 180_000);

function logs(e: Error): never {
  const logs = [0, 1].map((i) => `keepalived ${i + 1}:\n${keepalived[i]?.log}\nnotify ${i + 1}:\n${readFileSync(`${lab.dir}/notify-${i}.log`, { encoding: 'utf8', flag: 'a+' })}`);
  throw new Error(`${e.message}\n${logs.join('\n')}`);
}

afterAll(async () => {
  for (const h of handles) h.close();
  await lab?.destroy();
});

describe('active/backup: keepalived VRRP, IPVS sync daemons driven by `ipvs sync`', () => {
  it('reads and writes the IPVS sysctls of a director namespace, refusing bad values by name', async () => {
    const opts = { netnsPath: netnsPath(d(1).netns) };
    const before = await getSysctls(opts);
    expect(before).toMatchObject({ sloppy_tcp: false, sync_threshold: { threshold: 3, period: 50 }, sync_version: 1, conntrack: false });
    await setSysctls({ sync_refresh_period: 0, expire_nodest_conn: true, sync_threshold: { threshold: 3, period: 50 } }, opts);
    expect(await getSysctls(opts)).toMatchObject({ expire_nodest_conn: true, sync_refresh_period: 0 });
    const bad = await setSysctls({ sync_ports: 3 }, opts).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(IpvsError);
    expect(bad).toMatchObject({ kind: 'input', field: 'sync_ports' });
    // Nothing else moved.
    expect((await getSysctls(opts)).sync_ports).toBe(before.sync_ports);
    await setSysctls({ expire_nodest_conn: false }, opts);
  });

  it('`ipvs sync` keeps a daemon already running as asked (same kernel threads) and restarts one with other settings', async () => {
    /** `ipvs sync ARGS` on director i, in process (the notify scripts run the same command as a process). */
    const sync = async (i: number, ...args: string[]) => {
      let out = '';
      const code = await runSyncCommand([...args, '--netns', d(i).netns], { out: (t) => (out += t), err: (t) => (out += t) });
      expect(code, out).toBe(0);
      return out;
    };
    const same = ['--interface', 'eth0', '--syncid', '51'];
    const before = syncThreads();
    expect(Object.keys(before).map((n) => n.slice(0, 7)).sort()).toEqual(['ipvs-b:', 'ipvs-m:']);
    expect(await sync(0, 'master', ...same)).toBe('ipvs sync: kept master (eth0, syncid 51)\n');
    expect(await sync(1, 'backup', ...same)).toBe('ipvs sync: kept backup (eth0, syncid 51)\n');
    // No stop/start churn: the very same kernel threads run.
    expect(syncThreads()).toEqual(before);

    // Other settings: the daemon is restarted with them (a new thread).
    expect(await sync(1, 'backup', '--interface', 'eth0', '--syncid', '52')).toBe('ipvs sync: stopped backup, started backup (eth0, syncid 52)\n');
    expect(await handles[1]!.listDaemons()).toMatchObject([{ state: 'backup', interface: 'eth0', syncId: 52 }]);
    const changed = syncThreads();
    const backupThread = (t: Record<string, number>) => Object.entries(t).find(([n]) => n.startsWith('ipvs-b:'))![1];
    const masterThread = (t: Record<string, number>) => Object.entries(t).find(([n]) => n.startsWith('ipvs-m:'))![1];
    expect(backupThread(changed)).not.toBe(backupThread(before));
    expect(masterThread(changed)).toBe(masterThread(before));
    // Back to the pair's settings for the failovers below.
    expect(await sync(1, 'backup', ...same)).toBe('ipvs sync: stopped backup, started backup (eth0, syncid 51)\n');
    expect(await handles[1]!.listDaemons()).toMatchObject([{ state: 'backup', syncId: 51 }]);
  });

  const slow = 150_000;

  it('stopping the active keepalived: the VIP moves, a long TCP connection lives on, no request is lost after the takeover', async () => {
    // Client ports above the ephemeral range, so that no connection of the
    // request loops shares the tuple (their entries linger in TIME_WAIT).
    const open = await lab.call({ op: 'open', name: 'long', localPort: 61001 });
    if (open.error) {
      const diag = await Promise.all([lab.exec(lab.client.netns, 'ip', ['neigh']), lab.exec(d(0).netns, 'ip', ['neigh']), lab.exec(d(0).netns, 'ip', ['-o', 'addr']), lab.exec(d(1).netns, 'ip', ['-o', 'addr']), conns(0), handles[0]!.listServices()]);
      console.log(JSON.stringify(diag, null, 1), keepalived[0]!.log, keepalived[1]!.log);
    }
    expect(open.error).toBeUndefined();
    const first = await lab.call({ op: 'ping', name: 'long' });
    expect(first.backend).toMatch(/^backend-/);
    // The backup learnt the connection from the sync daemon.
    await expect.poll(async () => byPort(await conns(1), open.localPort!), poll).toMatchObject({
      origin: 'sync', state: 'ESTABLISHED', virtual: { address: lab.vip, port: lab.port },
      destination: { address: lab.backends.find((b) => b.name === first.backend)!.address },
    });
    expect(byPort(await conns(0), open.localPort!)?.origin).toBe('local');

    await lab.call({ op: 'stream', name: 'long', intervalMs: 100 });
    await lab.call({ op: 'loop', intervalMs: 50, timeoutMs: 3000 });
    await new Promise((r) => setTimeout(r, 500));
    const since = Date.now();
    await keepalived[0]!.stop();
    const tookOver = await roleAt(1, 'master');
    expect(await holdsVip(1)).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    const loop = (await lab.call({ op: 'unloop' })).results!;
    const stream = (await lab.call({ op: 'unstream', name: 'long' })).results!;

    // Every ping of the long connection was answered, by the same backend.
    expect(stream.filter((r) => r.backend !== first.backend)).toEqual([]);
    expect(stream.filter((r) => r.t! > since).length).toBeGreaterThan(3);
    const t = takeover(loop, since, tookOver);
    console.log(`active/backup, keepalived stopped: ${t.lost} requests lost, all served again ${t.gapMs} ms after the stop; notify_master done after ${tookOver - since} ms`);
    // The new director served new connections (made here, not synced).
    expect((await conns(1)).some((c) => c.origin === 'local' && c.client.port !== open.localPort)).toBe(true);
  }, slow);

  it('failback: a connection made on the backup and quiet while the old master returns is reset; the old one lives on', async () => {
    // Director 2 is active now; director 1 runs no keepalived and receives
    // nothing (its master daemon may still run: notify_stop does not always
    // get to run when keepalived stops).
    const open = await lab.call({ op: 'open', name: 'made-on-2', localPort: 61002 });
    const r = await lab.call({ op: 'ping', name: 'made-on-2' });
    expect(r.backend).toMatch(/^backend-/);
    expect(byPort(await conns(1), open.localPort!)?.origin).toBe('local');

    startKeepalived(0, 150);
    // It comes back as backup (its notify starts a backup daemon), then preempts.
    await expect.poll(async () => [await daemons(0), await daemons(1)], poll).toEqual(['master', 'backup']);
    // Sync is one way and per packet: the quiet connection never reached director 1.
    expect(byPort(await conns(0), open.localPort!)).toBeUndefined();
    const after = await lab.call({ op: 'ping', name: 'made-on-2', timeoutMs: 5000 });
    expect(after.error, 'director 1 answers a packet of an unknown TCP connection with a reset').toMatch(/ECONNRESET|closed/);
    // The connection made on director 1 before the failover is still in its table and still works.
    expect((await lab.call({ op: 'ping', name: 'long' })).backend).toMatch(/^backend-/);
  }, slow);

  it('cutting the active director off the segment: the backup takes over after VRRP\'s master-down interval', async () => {
    const open = await lab.call({ op: 'open', name: 'cut', localPort: 61003 });
    const first = await lab.call({ op: 'ping', name: 'cut' });
    await expect.poll(async () => byPort(await conns(1), open.localPort!)?.origin, poll).toBe('sync');
    await lab.call({ op: 'stream', name: 'cut', intervalMs: 100 });
    await lab.call({ op: 'loop', intervalMs: 50, timeoutMs: 3000 });
    await new Promise((r) => setTimeout(r, 500));
    const since = Date.now();
    await lab.cut(d(0));
    const tookOver = await roleAt(1, 'master');
    await new Promise((r) => setTimeout(r, 1500));
    const loop = (await lab.call({ op: 'unloop' })).results!;
    const stream = (await lab.call({ op: 'unstream', name: 'cut' })).results!;
    expect(stream.filter((x) => x.backend !== first.backend)).toEqual([]);
    const t = takeover(loop, since, tookOver);
    console.log(`active/backup, link cut: ${t.lost} requests lost, all served again ${t.gapMs} ms after the cut; notify_master done after ${tookOver - since} ms`);
    await lab.mend(d(0));
  }, slow);
});
