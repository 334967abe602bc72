// `ipvs doctor` against the real kernel, with each condition both met and
// broken: ip_forward, ARP and conntrack sysctls in a namespace of our own,
// a conntrack table filled for real, and the privilege check run as a
// process without CAP_NET_ADMIN.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor, type Check } from '../../src/doctor/index.js';
import { SCHEDULERS } from '../../src/doctor/kernel.js';
import type { JsonReport } from '../../src/doctor/render.js';
import { createNetns, type TestNetns } from '../helpers/netns.js';

const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
// The test kernel keeps its modules outside /lib/modules (see test/uml/guest-init.sh).
const moduleArgs = process.env.IPVS_IN_UML === '1' ? ['--modules-dir', `/usr/lib/uml/modules/${release}`] : [];

let ns: TestNetns;
let bundleDir: string;
let bundle: string;

/** Runs the doctor in this process; returns its exit status and output. */
async function doctor(...args: string[]) {
  let out = '';
  let err = '';
  const code = await runDoctor([...args, ...moduleArgs], { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

/** The doctor's JSON report for a namespace. */
async function report(netns: TestNetns, ...args: string[]): Promise<{ code: number; report: JsonReport; check: (id: string) => Check }> {
  const r = await doctor('--json', '--netns', netns.name, ...args);
  expect(r.err).toBe('');
  const rep = JSON.parse(r.out) as JsonReport;
  return { code: r.code, report: rep, check: (id) => rep.checks.find((c) => c.id === id)! };
}

const sysctl = (netns: TestNetns, ...settings: string[]) => netns.exec('sysctl', ['-qw', ...settings]);

/** Runs the bundled doctor as a separate process, optionally through a wrapper such as setpriv. */
function runBundle(wrapper: string[], args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, ...rest] = [...wrapper, process.execPath, bundle, ...args, ...moduleArgs];
  return new Promise((done) => {
    execFile(cmd!, rest, { encoding: 'utf8', env: { ...process.env, IPVS_NATIVE_BINDING: resolve('build/Release/ipvs_netlink.node') } }, (e, stdout, stderr) => {
      done({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  ns = createNetns('ipvs-doctor');
  // The doctor as a program of its own, for the unprivileged run.
  bundleDir = mkdtempSync(join(tmpdir(), 'ipvs-doctor-'));
  await build({ entry: { doctor: 'src/doctor/main.ts' }, outDir: bundleDir, format: ['esm'], platform: 'node', target: 'node20', config: false, silent: true, dts: false, sourcemap: false, shims: true });
  // .js in an ESM package ("type": "module"), .mjs otherwise.
  bundle = ['doctor.js', 'doctor.mjs'].map((f) => join(bundleDir, f)).find((f) => existsSync(f))!;
});

afterAll(() => {
  ns?.remove();
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

describe('ipvs doctor', () => {
  it('passes a namespace set up for NAT and DR, and its claims hold', async () => {
    sysctl(ns, 'net.ipv4.ip_forward=1', 'net.ipv4.vs.conntrack=1', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2');
    const { code, report: rep, check } = await report(ns, '--mode', 'masq');
    expect(code).toBe(0);
    expect(rep).toMatchObject({ ok: true, kernel: release, netns: ns.name, mode: 'masq' });
    expect(rep.checks.filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);

    const ipvs = await ns.open();
    try {
      const info = await ipvs.info();
      expect(check('ipvs').detail).toContain(`IPVS ${info.version}, connection table size ${info.connectionTableSize}`);
      expect(check('privileges').status).toBe('ok');
      expect(check('ip-forward')).toMatchObject({ status: 'ok', data: { value: 1 } });
      expect(check('vs-conntrack')).toMatchObject({ status: 'ok', data: { value: 1 } });
      expect(check('dr-arp')).toMatchObject({ status: 'ok', data: { arp_ignore: 1, arp_announce: 2 } });
      expect(check('conntrack-module')).toMatchObject({ status: 'ok', data: { module: 'nf_conntrack', loaded: true } });
      const table = check('conntrack-table');
      expect(table.status).toBe('ok');
      expect(table.data).toEqual({ count: Number(ns.exec('cat', ['/proc/sys/net/netfilter/nf_conntrack_count'])), max: Number(ns.exec('cat', ['/proc/sys/net/netfilter/nf_conntrack_max'])) });

      // Every scheduler it calls usable really makes a service; the missing ones don't.
      const { usable, missing } = check('schedulers').data as { usable: string[]; missing: string[] };
      expect(usable).toEqual(expect.arrayContaining(['rr', 'wrr', 'lc', 'wlc', 'sh', 'sed', 'nq']));
      expect([...usable, ...missing].sort()).toEqual([...SCHEDULERS].sort());
      for (const [i, scheduler] of usable.entries()) {
        await ipvs.addService({ protocol: 'tcp', address: '10.9.0.1', port: 1000 + i, scheduler });
      }
      for (const [i, scheduler] of missing.entries()) {
        await expect(ipvs.addService({ protocol: 'tcp', address: '10.9.0.2', port: 1000 + i, scheduler })).rejects.toMatchObject({ code: 'ENOENT' });
      }
    } finally {
      await ipvs.flush();
      ipvs.close();
    }
  });

  it('ip_forward off: a warning by default, a failure for NAT (--mode masq)', async () => {
    sysctl(ns, 'net.ipv4.ip_forward=0');
    const plain = await doctor('--netns', ns.name);
    expect(plain.code).toBe(0);
    expect(plain.out).toMatch(/^WARN {2}net\.ipv4\.ip_forward: 0: /m);
    expect(plain.out).toMatch(/^ {6}fix: sysctl -w net\.ipv4\.ip_forward=1/m);
    expect(plain.out).toMatch(/^Nothing blocks IPVS; 1 warning above may matter for your setup\.$/m);

    const nat = await doctor('--netns', ns.name, '--mode', 'masq');
    expect(nat.code).toBe(1);
    expect(nat.out).toMatch(/^FAIL {2}net\.ipv4\.ip_forward: 0: /m);
    expect(nat.out).toMatch(/^1 problem keeps IPVS from working\.$/m);

    expect((await report(ns, '--mode', 'route')).check('ip-forward').status).toBe('ok');
    sysctl(ns, 'net.ipv4.ip_forward=1');
    expect((await doctor('--netns', ns.name, '--mode', 'masq')).code).toBe(0);
  });

  it('DR ARP settings and vs.conntrack off are reported, not failed', async () => {
    sysctl(ns, 'net.ipv4.vs.conntrack=0', 'net.ipv4.conf.all.arp_ignore=0', 'net.ipv4.conf.all.arp_announce=0');
    const { code, check } = await report(ns);
    expect(code).toBe(0);
    expect(check('dr-arp')).toMatchObject({ status: 'info', data: { arp_ignore: 0, arp_announce: 0 } });
    expect(check('dr-arp').fix).toContain('arp_ignore=1');
    expect(check('vs-conntrack')).toMatchObject({ status: 'info', data: { value: 0 } });
  });

  it('a full connection tracking table fails', async () => {
    // A namespace of its own: filling its table drops its packets only.
    const full = createNetns('ipvs-doctor-ct');
    try {
      // A conntrack match makes the kernel track this namespace's traffic.
      const iptables = ['iptables-legacy', 'iptables'].find((c) => full.run(c, ['--version']).status === 0)!;
      full.exec(iptables, ['-A', 'OUTPUT', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'ACCEPT']);
      const max = Number(full.exec('cat', ['/proc/sys/net/netfilter/nf_conntrack_max']));
      expect(max).toBeGreaterThan(0);
      expect((await report(full)).check('conntrack-table').status).toBe('ok');
      // One UDP datagram per new address:port pair, a tracked connection each, until past the limit.
      const fill = `const s = require('dgram').createSocket('udp4'); const n = ${max + 64}; let i = 0, done = 0;
        const step = () => { for (let k = 0; k < 512 && i < n; k++, i++) s.send('x', 1024 + (i % 60000), '127.0.0.' + (2 + Math.floor(i / 60000)), () => { if (++done === n) process.exit(0); }); if (i < n) setImmediate(step); };
        step();`;
      full.exec(process.execPath, ['-e', fill]);
      // Full: the kernel keeps a full table a few entries under the limit.
      const count = Number(full.exec('cat', ['/proc/sys/net/netfilter/nf_conntrack_count']));
      expect(count).toBeGreaterThanOrEqual(Math.ceil(max * 0.99));
      expect(count).toBeLessThanOrEqual(max);

      const r = await doctor('--netns', full.name);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/^FAIL {2}connection tracking table: full: \d+ of \d+ entries; the kernel drops new connections \("nf_conntrack: table full, dropping packet"\)$/m);
      expect(r.out).toContain('fix: raise the limit: sysctl -w net.netfilter.nf_conntrack_max=');
    } finally {
      full.remove();
    }
  });

  it('without CAP_NET_ADMIN the privilege check fails', async () => {
    // The same program with the capability is the control.
    const root = await runBundle([], ['--json', '--netns', ns.name]);
    expect(root.stderr).toBe('');
    expect(root.code).toBe(0);
    expect((JSON.parse(root.stdout) as JsonReport).checks.find((c) => c.id === 'privileges')).toMatchObject({ status: 'ok', data: { capNetAdmin: true, open: 'ok' } });

    execFileSync('setpriv', ['--version']);
    const r = await runBundle(['setpriv', '--inh-caps=-net_admin', '--bounding-set=-net_admin'], ['--json', '--netns', ns.name]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as JsonReport;
    expect(rep.ok).toBe(false);
    const priv = rep.checks.find((c) => c.id === 'privileges')!;
    expect(priv).toMatchObject({ status: 'fail', data: { capNetAdmin: false, open: 'EPERM' } });
    expect(priv.fix).toContain('CAP_NET_ADMIN');
    // Without the privilege, the rest is still read: IPVS is there.
    expect(rep.checks.find((c) => c.id === 'ipvs')!.status).toBe('ok');
  });

  it('reports a namespace that does not exist', async () => {
    const r = await doctor('--netns', 'ipvs-doctor-no-such-namespace');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^ipvs doctor: cannot read inside network namespace ipvs-doctor-no-such-namespace: /);
  });
});
