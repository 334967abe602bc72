/**
 * Whole-table operations on the real kernel: info, timeouts, counters and
 * zeroing them (with real connections), and connection sync daemons.
 */
import { describe, expect, it } from 'vitest';
import { useNetns } from '../helpers/netns.js';


const t = useNetns('admin');

describe('info and timeouts', () => {
  it('reports the IPVS version and connection table size', async () => {
    const info = await t.ipvs.info();
    expect(info.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.versionCode).toBe(0x010201);
    const header = t.ns.exec('ipvsadm', ['-Ln']).split('\n')[0];
    expect(header).toBe(`IP Virtual Server version ${info.version} (size=${info.connectionTableSize})`);
  });

  it('reads and sets timeouts, leaving out what is not given', async () => {
    await t.ipvs.setTimeouts({ tcp: 901, tcpFin: 121, udp: 301 });
    expect(await t.ipvs.getTimeouts()).toEqual({ tcp: 901, tcpFin: 121, udp: 301 });
    expect(t.ns.exec('ipvsadm', ['-L', '--timeout']).trim()).toBe('Timeout (tcp tcpfin udp): 901 121 301');
    await t.ipvs.setTimeouts({ udp: 60 });
    expect(await t.ipvs.getTimeouts()).toEqual({ tcp: 901, tcpFin: 121, udp: 60 });
    await t.ipvs.setTimeouts({ tcp: 0, tcpFin: 0, udp: 0 }); // 0 leaves each as it is
    expect(await t.ipvs.getTimeouts()).toEqual({ tcp: 901, tcpFin: 121, udp: 60 });
    t.ns.exec('ipvsadm', ['--set', '100', '20', '30']);
    expect(await t.ipvs.getTimeouts()).toEqual({ tcp: 100, tcpFin: 20, udp: 30 });
  });
});

describe('counters', () => {
  it('counts real connections, exactly, and zeroes one service or all', async () => {
    // A VIP on lo, a TCP server on the same address, and IPVS sending
    // local clients' connections for port 80 to port 8080.
    t.ns.exec('ip', ['addr', 'add', '10.0.0.1/32', 'dev', 'lo']);
    await t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr' });
    await t.ipvs.addService({ protocol: 'tcp', address: '10.0.0.1', port: 81, scheduler: 'rr' });
    await t.ipvs.addDestination({ protocol: 'tcp', address: '10.0.0.1', port: 80 }, { address: '10.0.0.1', port: 8080, forwarding: 'masq' });
    await t.ipvs.addDestination({ protocol: 'tcp', address: '10.0.0.1', port: 81 }, { address: '10.0.0.1', port: 8080, forwarding: 'masq' });
    const script = `
      const net = require('net');
      const srv = net.createServer((s) => s.end('hello\\n')).listen(8080, '10.0.0.1', async () => {
        for (const port of [80, 80, 80, 81]) {
          await new Promise((ok, fail) => {
            const c = net.connect(port, '10.0.0.1');
            let got = '';
            c.on('data', (d) => (got += d)).on('end', () => (got === 'hello\\n' ? ok() : fail(new Error(got)))).on('error', fail);
          });
        }
        srv.close();
        console.log('done');
      });`;
    expect(t.ns.exec('node', ['-e', script]).trim()).toBe('done');

    // The kernel folds per-CPU counters into what it reports every 2 s.
    const k80 = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
    for (let i = 0; i < 50 && (await t.ipvs.getService(k80))?.stats.connections !== 3n; i++) await new Promise((r) => setTimeout(r, 200));
    const s80 = await t.ipvs.getService(k80);
    const s81 = await t.ipvs.getService({ protocol: 'tcp', address: '10.0.0.1', port: 81 });
    expect(s80?.stats.connections).toBe(3n);
    expect(s81?.stats.connections).toBe(1n);
    expect(s80!.stats.packetsIn).toBeGreaterThan(0n);
    expect(s80!.stats.bytesOut).toBeGreaterThan(0n);
    const [d80] = await t.ipvs.listDestinations({ protocol: 'tcp', address: '10.0.0.1', port: 80 });
    expect(d80?.stats.connections).toBe(3n);
    expect(d80!.activeConnections + d80!.inactiveConnections).toBeGreaterThan(0);

    // ipvsadm agrees on the exact numbers.
    const stats = t.ns.exec('ipvsadm', ['-Ln', '--stats', '--exact', '-t', '10.0.0.1:80']);
    expect(stats).toMatch(new RegExp(`TCP  10\\.0\\.0\\.1:80\\s+3\\s+${s80!.stats.packetsIn}\\s+${s80!.stats.packetsOut}\\s+${s80!.stats.bytesIn}\\s+${s80!.stats.bytesOut}`));

    await t.ipvs.zero({ protocol: 'tcp', address: '10.0.0.1', port: 80 });
    expect((await t.ipvs.getService({ protocol: 'tcp', address: '10.0.0.1', port: 80 }))?.stats.connections).toBe(0n);
    expect((await t.ipvs.getService({ protocol: 'tcp', address: '10.0.0.1', port: 81 }))?.stats.connections).toBe(1n);
    await t.ipvs.zero();
    const after = await t.ipvs.listServices({ withDestinations: true });
    for (const s of after) {
      expect(s.stats.connections).toBe(0n);
      expect(s.stats.bytesIn).toBe(0n);
      for (const d of s.destinations ?? []) expect(d.stats.connections).toBe(0n);
    }
    const err = await t.ipvs.zero({ protocol: 'tcp', address: '10.9.9.9', port: 80 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ESRCH' });
    await t.ipvs.flush();
  });
});

describe('sync daemons', () => {
  it('starts, lists and stops master and backup daemons with every setting', async () => {
    t.ns.exec('ip', ['link', 'add', 'sync0', 'type', 'veth', 'peer', 'name', 'sync1']);
    t.ns.exec('ip', ['link', 'set', 'sync0', 'up']);
    t.ns.exec('ip', ['link', 'set', 'sync1', 'up']);
    expect(await t.ipvs.listDaemons()).toEqual([]);
    await t.ipvs.startDaemon({ state: 'master', interface: 'sync0', syncId: 7 });
    await t.ipvs.startDaemon({ state: 'backup', interface: 'sync1', syncId: 9, syncMaxLen: 1400, mcastGroup: '239.1.2.3', mcastPort: 9000, mcastTtl: 4 });
    const daemons = await t.ipvs.listDaemons();
    expect(daemons).toContainEqual({ state: 'master', interface: 'sync0', syncId: 7, syncMaxLen: 1472, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1 });
    expect(daemons).toContainEqual({ state: 'backup', interface: 'sync1', syncId: 9, syncMaxLen: 1400, mcastGroup: '239.1.2.3', mcastPort: 9000, mcastTtl: 4 });
    const text = t.ns.exec('ipvsadm', ['-L', '--daemon']);
    expect(text).toContain('master sync daemon (mcast=sync0, syncid=7');
    expect(text).toContain('backup sync daemon (mcast=sync1, syncid=9');

    const dup = await t.ipvs.startDaemon({ state: 'master', interface: 'sync0', syncId: 1 }).catch((e) => e);
    expect(dup).toMatchObject({ code: 'EEXIST', message: 'a master sync daemon is already running' });

    await t.ipvs.stopDaemon({ state: 'master' });
    expect((await t.ipvs.listDaemons()).map((d) => d.state)).toEqual(['backup']);
    await t.ipvs.stopDaemon({ state: 'backup' });
    expect(await t.ipvs.listDaemons()).toEqual([]);
    const none = await t.ipvs.stopDaemon({ state: 'backup' }).catch((e) => e);
    expect(none).toMatchObject({ code: 'ESRCH', message: 'no backup sync daemon is running' });
  });

  it('says when the interface does not exist', async () => {
    for (const spec of [
      { state: 'backup', interface: 'nosuch1', mcastGroup: '239.1.1.1' },
      { state: 'master', interface: 'nosuch0' },
    ] as const) {
      const err = await t.ipvs.startDaemon(spec).catch((e) => e);
      expect(err).toMatchObject({ code: 'ENODEV', kind: 'kernel', operation: 'startDaemon' });
      expect(err.message).toBe(`startDaemon: the ${spec.state} sync daemon's network interface does not exist`);
    }
    expect(await t.ipvs.listDaemons()).toEqual([]);
  });

  it('reads a daemon that ipvsadm started', async () => {
    t.ns.exec('ipvsadm', ['--start-daemon', 'master', '--mcast-interface', 'sync0', '--syncid', '12', '--mcast-port', '8999']);
    expect(await t.ipvs.listDaemons()).toEqual([expect.objectContaining({ state: 'master', interface: 'sync0', syncId: 12, mcastPort: 8999 })]);
    await t.ipvs.stopDaemon({ state: 'master' });
    expect(t.ns.exec('ipvsadm', ['-L', '--daemon']).trim()).toBe('');
  });

  // The kernel sends no reply at all, not even the ack asked for, when it
  // stops a sync thread that has not run yet (kthread_stop's -EINTR, which
  // netlink_rcv_skb swallows): started and stopped in one send, it never has.
  it('stops daemons whose threads have not started yet (the kernel acks nothing then)', async () => {
    const ipvs = await t.ns.open({ timeoutMs: 5000 });
    try {
      for (let round = 0; round < 5; round++) {
        await Promise.all([
          ipvs.startDaemon({ state: 'master', interface: 'sync0', syncId: round }),
          ipvs.startDaemon({ state: 'backup', interface: 'sync1', syncId: round }),
          ipvs.stopDaemon({ state: 'master' }),
          ipvs.stopDaemon({ state: 'backup' }),
        ]);
        expect(await ipvs.listDaemons()).toEqual([]);
      }
      const none = await ipvs.stopDaemon({ state: 'master' }).catch((e) => e);
      expect(none).toMatchObject({ code: 'ESRCH', message: 'no master sync daemon is running' });
    } finally {
      ipvs.close();
    }
    expect(t.ns.exec('ipvsadm', ['-L', '--daemon']).trim()).toBe('');
  });
});
