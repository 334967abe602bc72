// ipvs against ipvsadm 1.31: -R/-S round trips, -Z -C --set, sync daemons,
// connections (-c) and counters after real traffic, option scanning corner
// cases, and what ipvs adds (--json, --netns).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/app.js';
import { compareReadOnly, compareSteps, createPair, ipvs, ipvsadm, prepare, runIn, state, type Pair } from './cli-compare.js';
import { createNetns, type TestNetns } from '../helpers/netns.js';

const CONFIG = [
  ['-A', '-t', '10.0.0.1:80', '-s', 'wrr', '-p', '60', '-M', '255.255.255.0'],
  ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-w', '3'],
  ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.3:8080', '-m', '-x', '10', '-y', '2'],
  ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.4', '-i', '--tun-type', 'gue', '--tun-port', '6080', '--tun-remcsum'],
  ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.5', '-i', '--tun-type', 'gre', '--tun-csum'],
  ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.6', '-i'],
  ['-A', '-u', '10.0.0.1:5060', '-s', 'sh', '-b', 'sh-port', '-p', '--pe', 'sip', '-o'],
  ['-a', '-u', '10.0.0.1:5060', '-r', '10.0.0.2', '-m', '-w', '0'],
  ['-A', '-t', '[2001:db8::1]:443', '-s', 'mh', '-b', 'mh-fallback,mh-port', '-p', '100', '-M', '64'],
  ['-a', '-t', '[2001:db8::1]:443', '-r', '[2001:db8::2]:8443', '-m'],
  ['-a', '-t', '[2001:db8::1]:443', '-r', '10.0.0.2', '-i'],
  ['-A', '-f', '7', '-s', 'lblc'],
  ['-a', '-f', '7', '-r', '10.0.0.7:0'],
  ['-A', '-f', '8', '-6', '-p', '-M', '96'],
  ['-A', '--sctp-service', '10.0.0.1:3868'],
  ['--sctp-service', '10.0.0.1:3868', '-A'],
];

describe('ipvs CLI and ipvsadm: restore, zero, flush, timeouts, daemons, connections', () => {
  let p: Pair;
  let extra: TestNetns[] = [];
  const fresh = (): TestNetns => {
    const ns = createNetns('cli-r');
    prepare(ns);
    extra.push(ns);
    return ns;
  };
  beforeAll(() => {
    p = createPair();
  });
  afterAll(() => {
    p.remove();
    for (const ns of extra) ns.remove();
    extra = [];
  });

  it('restores ipvsadm saves and its own, and both tools read each other', async () => {
    // (The last CONFIG line does not start with a command: both refuse it alike.)
    await compareSteps(p, CONFIG);
    const savedByIpvsadm = (await ipvsadm(p.a, ['-S'])).stdout;
    const savedByIpvs = (await ipvs(p.b, ['-S'])).stdout;
    expect(savedByIpvs).toBe(savedByIpvsadm);
    const savedN = (await ipvsadm(p.a, ['-Sn'])).stdout;
    const [a1, b1, a2, b2] = [fresh(), fresh(), fresh(), fresh()];
    expect(await ipvsadm(a1, ['-R'], savedN)).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(await ipvs(b1, ['-R'], savedN)).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(await state(b1)).toBe(await state(a1));
    expect(await state(b1)).toBe(await state(p.a));
    // Saves with names (-S without -n) restore too.
    expect((await ipvsadm(a2, ['--restore'], savedByIpvs)).status).toBe(0);
    expect((await ipvs(b2, ['--restore'], savedByIpvsadm)).status).toBe(0);
    expect(await state(b2)).toBe(await state(a2));
    expect(await state(b2)).toBe(await state(p.a));
  });

  it('applies restore lines like ipvsadm: failures reported, the rest applied', async () => {
    const input = [
      'ipvsadm -C',
      '',
      '-A -t 10.0.0.1:80 -s rr',
      '  -A -t 10.0.0.1:80 -s rr  ',
      '-a -t 10.0.0.1:80 -r 10.0.0.2 -m\r',
      '-a -t 10.0.0.9:80 -r 10.0.0.2',
      '--set 100 20 30',
      '-Z',
      '-E -t 10.0.0.1:80 -s wlc -p 10',
      '-e -t 10.0.0.1:80 -r 10.0.0.2 -w 4',
      '-A -t 10.0.0.1:80',
      '',
    ].join('\n');
    const [a, b] = [fresh(), fresh()];
    const ra = await ipvsadm(a, ['-R'], input);
    const rb = await ipvs(b, ['-R'], input);
    expect(await state(b)).toBe(await state(a));
    expect(rb.status).toBe(ra.status);
    expect(ra.stderr).toBe('Service already exists\nService not defined\nService already exists\n');
    // ipvsadm's messages first, then which line it was.
    expect(rb.stderr).toBe([
      'Service already exists', 'ipvsadm: line 4 failed: -A -t 10.0.0.1:80 -s rr',
      'Service not defined', 'ipvsadm: line 6 failed: -a -t 10.0.0.9:80 -r 10.0.0.2',
      'Service already exists', 'ipvsadm: line 11 failed: -A -t 10.0.0.1:80',
      'ipvsadm: 3 of 10 lines failed; the others were applied', '',
    ].join('\n'));
    expect((await ipvs(b, ['-L', '--timeout'])).stdout).toBe('Timeout (tcp tcpfin udp): 100 20 30\n');
  });

  it('applies an input longer than one batch (4,096 lines) in order, refusals in any of them reported', async () => {
    // 3,000 services and one real server each: 6,000 lines, two batches; a
    // duplicate service in each batch, a listing between them.
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const vip = `10.1.${i >> 8}.${i & 255}:80`;
      lines.push(`-A -t ${vip} -s rr`, `-a -t ${vip} -r 10.2.${i >> 8}.${i & 255}:8080 -m`);
      if (i === 100 || i === 2500) lines.push(`-A -t ${vip}`);
      if (i === 2100) lines.push('-L -t 10.1.0.5:80 -n');
    }
    const b = fresh();
    const rb = await ipvs(b, ['-R'], `${lines.join('\n')}\n`);
    expect(rb.status).toBe(255);
    expect(rb.stderr).toBe([
      'Service already exists', 'ipvsadm: line 203 failed: -A -t 10.1.0.100:80',
      'Service already exists', 'ipvsadm: line 5005 failed: -A -t 10.1.9.196:80',
      'ipvsadm: 2 of 6003 lines failed; the others were applied', '',
    ].join('\n'));
    expect(rb.stdout).toContain('TCP  10.1.0.5:80 rr\n  -> 10.2.0.5:8080');
    const saved = (await ipvs(b, ['-Sn'])).stdout.trim().split('\n');
    expect(saved).toHaveLength(6000);
    expect(saved).toContain('-a -t 10.1.11.183:80 -r 10.2.11.183:8080 -m -w 1');
  });

  it('checks every restore line before applying any (where ipvsadm stops half way)', async () => {
    const input = '-A -t 10.0.0.1:80\n# a comment\n-A -t 10.0.0.2:80 -w 3\n-A -t 10.0.0.3:80 # trailing comment\n-A -t bad::address::80\n';
    const [a, b] = [fresh(), fresh()];
    const ra = await ipvsadm(a, ['-R'], input);
    // ipvsadm applied line 1, then gave up on the comment line.
    expect(ra.status).toBe(255);
    expect(await state(a)).toBe('-A -t 10.0.0.1:80 -s wlc\n');
    const rb = await ipvs(b, ['-R'], input);
    expect(rb).toEqual({
      status: 2,
      stdout: '',
      stderr:
        "ipvsadm: line 3: Illegal 'weight' option with the 'add-service' command: -A -t 10.0.0.2:80 -w 3\n" +
        'ipvsadm: line 5: illegal virtual server address[:port] specified: -A -t bad::address::80\n' +
        'ipvsadm: nothing was applied (2 bad lines)\n',
    });
    expect(await state(b)).toBe('');
    // Comments are skipped, so without the bad lines everything applies.
    const ok = await ipvs(b, ['-R'], '-A -t 10.0.0.1:80\n# a comment\n-A -t 10.0.0.3:80 # trailing comment\n-L -n\n');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('TCP  10.0.0.3:80 wlc\n');
    expect(await state(b)).toBe('-A -t 10.0.0.1:80 -s wlc\n-A -t 10.0.0.3:80 -s wlc\n');
    expect((await ipvs(b, ['-R'], '-R\n')).status).toBe(255);
    // ipvsadm saves a mark of 3000000000 as -1294967296 and cannot read it back; ipvs can.
    expect(await ipvs(b, ['-R'], '-A -f -1294967296 -s wlc\n')).toEqual({ status: 0, stdout: '', stderr: '' });
    expect((await ipvsadm(b, ['-Sn'])).stdout).toContain('-A -f -1294967296 -s wlc\n');
    expect((await ipvsadm(a, ['-R'], '-A -f -1294967296 -s wlc\n')).stderr).toBe("invalid fwmark value `-1294967296' specified\n");
  });

  it('zeroes, flushes and sets timeouts as ipvsadm does', async () => {
    await compareSteps(p, [
      ['-Z'],
      ['-Z', '-t', '10.0.0.1:80'],
      ['-Z', '-f', '7'],
      ['-Z', '-t', '10.0.0.99:80'],
      ['-Z', '-t', '0.0.0.0:0'],
      ['--zero', '-r', '10.0.0.2'],
      ['--set', '10', '20', '30'],
      ['--set', '0', '0', '45'],
      ['--set', '1', '2'],
      ['--set', '1', '2', 'x'],
      ['--set', '1', '2', '2678401'],
      ['--set', '1', '2', '3', '4'],
      ['-L', '--timeout'],
      ['-C'],
      ['--clear'],
      ['-C', '-n'],
      ['-Ln'],
    ]);
  });

  it('starts, lists and stops sync daemons as ipvsadm does', async () => {
    await compareSteps(p, [
      ['--start-daemon', 'master'],
      ['--start-daemon', 'bogus'],
      ['--start-daemon', 'master', '--mcast-interface', 'lo', '--syncid', '5', '--mcast-group', '224.0.0.82', '--mcast-port', '9000', '--mcast-ttl', '2', '--sync-maxlen', '1000'],
      ['-L', '--daemon'],
      ['--start-daemon', 'master', '--mcast-interface', 'lo'],
      ['--start-daemon', 'backup', '--mcast-interface', 'lo', '--mcast-group', 'ff02::1'],
      ['-L', '--daemon'],
      ['-l', '--daemon', '-n'],
      ['--start-daemon', 'backup', '--mcast-interface', 'lo', '--mcast-group', '10.0.0.1'],
      ['--start-daemon', 'backup', '--mcast-interface', 'lo', '--mcast-group', '2001:db8::1'],
      ['--start-daemon', 'backup', '--syncid', '256'],
      ['--start-daemon', 'backup', '--mcast-port', '0'],
      ['--start-daemon', 'backup', '--mcast-ttl', '256'],
      ['--start-daemon', 'backup', '--sync-maxlen', '65508'],
      ['--start-daemon', 'backup', '--mcast-interface', 'a:b'],
      ['--start-daemon', 'backup', '-t', '10.0.0.1:80'],
      ['--stop-daemon', 'master'],
      ['--stop-daemon', 'master'],
      ['--stop-daemon', 'backup', '--syncid', '3'],
      ['--stop-daemon', 'foo'],
      ['--stop-daemon'],
      ['-L', '--daemon'],
    ]);
  });

  it('lists connections and counters after real traffic', async () => {
    const ns = fresh();
    const ip = (...args: string[]) => ns.exec('ip', args);
    ip('addr', 'add', '10.0.0.1/32', 'dev', 'd0');
    await ipvsadm(ns, ['-A', '-t', '10.0.0.1:8080', '-s', 'rr']);
    await ipvsadm(ns, ['-a', '-t', '10.0.0.1:8080', '-r', '10.0.0.254']);
    await ipvsadm(ns, ['-A', '-t', '10.0.0.1:8081', '-p', '--pe', 'sip']);
    await ipvsadm(ns, ['-a', '-t', '10.0.0.1:8081', '-r', '10.0.0.254']);
    // Connect through the virtual service a few times from inside the namespace.
    const script = `
      const net = require('net');
      const srv = net.createServer((s) => { s.end('hello'); }).listen(8080, '0.0.0.0', async () => {
        for (let i = 0; i < 3; i++) await new Promise((res) => { const c = net.connect(8080, '10.0.0.1'); c.on('data', () => {}); c.on('close', res); c.on('error', res); c.write('x'); });
        srv.close();
      });`;
    ns.exec('node', ['-e', script]);
    // The kernel folds counters into what it reports every 2 seconds: wait for them.
    const statsOf = async () =>
      (JSON.parse((await ipvs(ns, ['-L', '--json', '-t', '10.0.0.1:8080'])).stdout) as { services: Array<{ stats: Record<string, string>; destinations: Array<{ stats: Record<string, string> }> }> }).services[0]!;
    await expect.poll(async () => (await statsOf()).stats.connections, { timeout: 6000, interval: 250 }).toMatch(/^[1-9]\d*$/);
    const conns = await compareReadOnly(ns, ['-Lnc']);
    expect(conns.stdout).toMatch(/^TCP \d\d:\d\d +\S+ +10\.0\.0\.\d+:\d+ +10\.0\.0\.1:8080 +10\.0\.0\.254:8080$/m);
    for (const args of [['-L', '-c'], ['-Ln', '--connection', '--persistent-conn'], ['-Ln', '--stats'], ['-Ln', '--stats', '--exact'], ['-Ln', '--rate'], ['-L', '--stats'], ['-Ln', '-t', '10.0.0.1:8080', '--stats']]) {
      await compareReadOnly(ns, args);
    }
    const json = JSON.parse((await ipvs(ns, ['-Lnc', '--json'])).stdout) as { schema: number; connections: Array<Record<string, unknown>> };
    expect(json.schema).toBe(1);
    expect(json.connections.length).toBeGreaterThan(0);
    expect(json.connections[0]).toMatchObject({ protocol: 'TCP', virtual: { address: '10.0.0.1', port: 8080 }, destination: { address: '10.0.0.254', port: 8080 } });
    const stats = await statsOf();
    expect(stats.stats.connections).toMatch(/^[1-9]\d*$/);
    expect(stats.destinations[0]!.stats.packetsIn).toMatch(/^[1-9]\d*$/);
  });
});

describe('ipvs CLI: option scanning as popt does it, help, --json, --netns', () => {
  let p: Pair;
  beforeAll(() => {
    p = createPair();
  });
  afterAll(() => p.remove());

  it('scans options exactly as ipvsadm (popt) does', async () => {
    await compareSteps(p, [
      ['-At', '10.0.0.1:80', '-s', 'rr'],
      ['-A', '-t=10.0.0.2:80', '-p=60'],
      ['-A', '--tcp-service=10.0.0.3:80', '--persistent', '--scheduler', 'lc'],
      ['-A', '-t', '10.0.0.4:80', '-p', '-s', 'rr'],
      ['-A', '-t', '10.0.0.5:80', '-p', '90'],
      ['-A', '-t', '10.0.0.6:80', '-p90'],
      ['-A', '-t', '10.0.0.7:80', '-s', '-p'],
      ['-a', '-t', '10.0.0.1:80', '-r10.0.0.2', '-mw7'],
      ['-a', '-t', '10.0.0.1:80', '-mr', '10.0.0.3'],
      ['-Ln', '--numeric=yes'],
      ['-Lnt', '10.0.0.1:80'],
      ['-L='],
      ['-L', '-'],
      ['-L', '--'],
      ['--list', '--', '-n'],
      ['-Lq'],
      ['-L', '--stat'],
      ['-L', '-list'],
      ['-l', '-x'],
      ['-L', '-L'],
      ['-L', '--list'],
      ['-L', '-n', '-n'],
      ['-L', '-h'],
      ['-L', '--start-daemon', 'master'],
      ['-L', '--sort', '-n'],
      ['-E', '-t', '10.0.0.1:80', '-6'],
      ['-A', '-f', '3', '-6', '-6'],
      ['-A', '-M', '64', '-t', '[2001:db8::5]:80', '-p'],
      ['-A', '-f', '4', '-M', '0.0.0.64', '-6'],
      ['-A', '-t', '10.0.0.8:80', '-p', '-M', '255.255'],
      ['-A', '-t', '10.0.0.9:80', '-p', '-M', '0xffffff00'],
      ['-A', '-t', '0x0a.0.0.10:80'],
      ['-A', '-t', '10.11:80'],
      ['-A', '-t', '[2001:db8::a]:https'],
      ['-A', '-t', '2001:db8::b'],
      ['-A', '-u', 'localhost:domain'],
      ['-a', '-r', '10.0.0.4', '-t', '10.0.0.1:80', '-m'],
      ['-Sn'],
    ]);
  });

  it('prints ipvsadm help and version texts', async () => {
    const a = await ipvsadm(p.a, ['-h']);
    const b = await ipvs(p.b, ['-h']);
    expect(b.status).toBe(0);
    expect(b.stdout.startsWith(a.stdout)).toBe(true);
    expect(b.stdout.slice(a.stdout.length)).toContain('--json');
    for (const args of [['-v'], ['--version'], ['--help', '-n'], ['-V'], ['--version', 'x']]) {
      const ra = await ipvsadm(p.a, args);
      const rb = await ipvs(p.b, args);
      expect({ status: rb.status, stderr: rb.stderr }).toEqual({ status: ra.status, stderr: ra.stderr });
      if (args[0] !== '--help') expect(rb.stdout).toBe(ra.stdout);
    }
  });

  it('works in another namespace with --netns, and prints listings as JSON', async () => {
    const outs: string[] = [];
    const io = { out: (t: string) => void outs.push(t), err: (t: string) => void outs.push(`ERR ${t}`) };
    await ipvsadm(p.a, ['-C']);
    await ipvsadm(p.a, ['-A', '-t', '10.0.0.1:80', '-s', 'rr', '-p', '30']);
    await ipvsadm(p.a, ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2:8080', '-m', '-w', '2']);
    await ipvsadm(p.a, ['-A', '-f', '3000000000', '-6']);
    expect(await main(['--netns', p.a.name, '-Ln'], io, { prog: 'ipvsadm' })).toBe(0);
    expect(outs.join('')).toBe((await ipvsadm(p.a, ['-Ln'])).stdout.replace('FWM  -1294967296 IPv6', 'FWM  3000000000 IPv6'));
    outs.length = 0;
    expect(await main(['-A', '-t', '10.0.0.3:80', '--netns', p.a.name], io)).toBe(0);
    expect((await ipvsadm(p.a, ['-Ln', '-t', '10.0.0.3:80'])).status).toBe(0);
    expect(await main(['-Ln', '--netns', 'no-such-namespace-here'], io, { prog: 'ipvsadm' })).toBe(2);
    expect(outs.join('')).toMatch(/^ERR Can't initialize ipvs: cannot enter network namespace .*no-such-namespace-here: no such namespace\n/);

    const json = JSON.parse((await ipvs(p.a, ['-L', '--json'])).stdout);
    expect(json).toMatchObject({ schema: 1, version: '1.2.1', connectionTableSize: 4096 });
    // In ipvsadm's order, where a mark above 2^31 sorts first.
    expect(json.services.map((s: { fwmark?: number; address?: string }) => s.fwmark ?? s.address)).toEqual([3000000000, '10.0.0.1', '10.0.0.3']);
    expect(json.services[1]).toEqual({
      family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr', schedulerFlags: [], persistent: 30,
      netmask: '255.255.255.255', onePacket: false, flags: 3, timeout: 30, stats: expect.any(Object),
      destinations: [{
        family: 'inet', address: '10.0.0.2', port: 8080, forwarding: 'masq', weight: 2, upperThreshold: 0, lowerThreshold: 0,
        activeConnections: 0, inactiveConnections: 0, persistentConnections: 0, stats: expect.any(Object),
      }],
    });
    expect(json.services[1].stats.bytesIn).toBe('0');
    expect(JSON.parse((await ipvs(p.a, ['-L', '--timeout', '--json'])).stdout)).toEqual({ schema: 1, timeouts: { tcp: 900, tcpFin: 120, udp: 300 } });
    expect(JSON.parse((await ipvs(p.a, ['-L', '--daemon', '--json'])).stdout)).toEqual({ schema: 1, daemons: [] });
    expect(JSON.parse((await ipvs(p.a, ['-S', '--json'])).stdout).services).toHaveLength(3);
    expect(await ipvs(p.a, ['-A', '-t', '10.0.0.4:80', '--json'])).toEqual({ status: 2, stdout: '', stderr: "Illegal 'json' option with the 'add-service' command\n" });
  });

  it('runs as the built binary, status and streams included', async () => {
    const bin = 'dist/cli.js';
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    const run = (args: string[], input?: string) => runIn(p.b, ['node', bin, ...args], input);
    expect(await run(['-C'])).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(await run(['-R'], '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m\n')).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(await run(['-Ln'])).toEqual(await ipvsadm(p.b, ['-Ln']));
    expect(await run(['-A', '-t', '10.0.0.1:80'])).toEqual({ status: 255, stdout: '', stderr: 'Service already exists\n' });
    expect(await run(['-Lq'])).toEqual({ status: 255, stdout: '', stderr: '-Lq: unknown option\n' });
    const doctor = await run(['doctor', '--help']);
    expect(doctor.status).toBe(0);
    expect(doctor.stdout).toContain('usage: ipvs doctor');
    // A listing past 64 KiB is written in parts as it is formatted; the text is the same.
    let rules = '';
    for (let i = 0; i < 1000; i++) rules += `-A -t 10.1.${i >> 8}.${i & 255}:80 -s wlc\n-a -t 10.1.${i >> 8}.${i & 255}:80 -r 10.2.0.1:8080 -m -w 3\n`;
    expect(await run(['-R'], rules)).toEqual({ status: 0, stdout: '', stderr: '' });
    for (const args of [['-Ln'], ['-Sn']]) {
      const ours = await run(args);
      expect(ours.stdout.length).toBeGreaterThan(64 * 1024);
      expect(ours).toEqual(await ipvsadm(p.b, args));
    }
    // A reader that stops early ends it quietly, with ipvsadm's status (killed by SIGPIPE: 141).
    const piped = (cmd: string) => runIn(p.b, ['bash', '-c', `${cmd} -Ln | head -1; echo "status \${PIPESTATUS[0]}"`]);
    const theirs = await piped('ipvsadm');
    expect(theirs.stdout).toMatch(/^IP Virtual Server version .*\nstatus 141\n$/);
    expect(await piped(`node ${bin}`)).toEqual(theirs);
    expect(await run(['-C'])).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});

