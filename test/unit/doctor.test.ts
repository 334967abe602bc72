// The doctor's decisions on made-up facts, its parsers, and its command line.
import { describe, expect, it } from 'vitest';
import { evaluate, exitCode, runDoctor, type Check, type Facts } from '../../src/doctor/index.js';
import { conntrackModule, hasCapNetAdmin, kernelAtLeast, parseModuleList, parseProcModules } from '../../src/doctor/kernel.js';
import { renderJson, renderText } from '../../src/doctor/render.js';

const schedulerPaths = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'].map((s) => `ip_vs_${s}`);

/** A healthy NAT director on Linux 6.1. */
function healthy(): Facts {
  return {
    kernelRelease: '6.1.0-18-amd64',
    ipvsProc: true,
    loadedModules: ['ip_vs_rr', 'ip_vs', 'nf_conntrack', 'nf_defrag_ipv4'],
    modulesDir: '/lib/modules/6.1.0-18-amd64',
    availableModules: ['ip_vs', ...schedulerPaths, 'nf_conntrack'],
    builtinModules: [],
    sysctl: {
      'net.ipv4.ip_forward': 1,
      'net.ipv4.vs.conntrack': 0,
      'net.netfilter.nf_conntrack_max': 262144,
      'net.netfilter.nf_conntrack_count': 12,
      'net.ipv4.conf.all.arp_ignore': 0,
      'net.ipv4.conf.all.arp_announce': 0,
    },
    open: { ok: true, version: '1.2.1', connectionTableSize: 4096 },
    capNetAdmin: true,
  };
}

const find = (checks: Check[], id: string) => {
  const c = checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}`);
  return c;
};
const statusOf = (f: Facts, id: string, mode?: 'masq' | 'route' | 'tunnel') => find(evaluate(f, mode ? { mode } : {}), id).status;

describe('doctor parsers', () => {
  it('reads module names from /proc/modules', () => {
    const text = 'ip_vs_rr 12288 1 - Live 0x0000000000000000\nip_vs 225280 3 ip_vs_rr, Live 0x0\nnf_conntrack 196608 1 ip_vs, Live 0x0\n';
    expect(parseProcModules(text)).toEqual(['ip_vs_rr', 'ip_vs', 'nf_conntrack']);
  });

  it('reads module names from modules.dep and modules.builtin, compressed or not', () => {
    const dep = [
      'kernel/net/netfilter/ipvs/ip_vs.ko.xz: kernel/net/netfilter/nf_conntrack.ko.xz kernel/lib/libcrc32c.ko.xz',
      'kernel/net/netfilter/ipvs/ip_vs_rr.ko.zst: kernel/net/netfilter/ipvs/ip_vs.ko.zst',
      'kernel/net/ipv4/netfilter/nf_conntrack_ipv4.ko:',
      'kernel/drivers/net/dummy.ko:',
      '',
    ].join('\n');
    expect(parseModuleList(dep)).toEqual(['ip_vs', 'ip_vs_rr', 'nf_conntrack_ipv4', 'dummy']);
    expect(parseModuleList('kernel/net/netfilter/nf-conntrack.ko\n')).toEqual(['nf_conntrack']);
  });

  it('names the conntrack module by kernel version (merged in 4.19)', () => {
    expect(conntrackModule('4.14.336')).toBe('nf_conntrack_ipv4');
    expect(conntrackModule('4.18.0-553.el8_10.x86_64')).toBe('nf_conntrack_ipv4');
    expect(conntrackModule('4.19.0-26-amd64')).toBe('nf_conntrack');
    expect(conntrackModule('6.1.176')).toBe('nf_conntrack');
    expect(kernelAtLeast('5.2.0', 5, 2)).toBe(true);
    expect(kernelAtLeast('3.10.0', 4, 19)).toBe(false);
  });

  it('reads CAP_NET_ADMIN (bit 12) from CapEff', () => {
    expect(hasCapNetAdmin('Name:\tnode\nCapEff:\t000001ffffffffff\n')).toBe(true);
    expect(hasCapNetAdmin('CapEff:\t0000000000001000\n')).toBe(true);
    expect(hasCapNetAdmin('CapEff:\t000001ffffffefff\n')).toBe(false);
    expect(hasCapNetAdmin('CapEff:\t0000000000000000\n')).toBe(false);
    expect(hasCapNetAdmin('Name:\tnode\n')).toBeUndefined();
  });
});

describe('doctor checks', () => {
  it('finds nothing wrong with a healthy director', () => {
    const checks = evaluate(healthy());
    expect(checks.map((c) => c.id)).toEqual(['ipvs', 'privileges', 'schedulers', 'conntrack-module', 'ip-forward', 'vs-conntrack', 'conntrack-table', 'dr-arp']);
    expect(checks.filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
    expect(exitCode(checks)).toBe(0);
    expect(find(checks, 'ipvs').detail).toBe('IPVS 1.2.1, connection table size 4096 (module ip_vs loaded)');
    expect(find(checks, 'schedulers').data).toMatchObject({ loaded: ['rr'], missing: [] });
    expect(find(checks, 'conntrack-table').detail).toBe('12 of 262144 entries in use (0%)');
  });

  it('IPVS not loaded but installed: fail, with modprobe as the fix', () => {
    const f = { ...healthy(), ipvsProc: false, loadedModules: [], open: { ok: false as const, code: 'ENOENT', message: 'IPVS is not available' } };
    const checks = evaluate(f);
    const c = find(checks, 'ipvs');
    expect(c.status).toBe('fail');
    expect(c.fix).toMatch(/^modprobe ip_vs/);
    // Root without IPVS still has the privilege.
    expect(find(checks, 'privileges').status).toBe('ok');
    expect(exitCode(checks)).toBe(1);
  });

  it('IPVS nowhere: fail, pointing at the kernel', () => {
    const f = { ...healthy(), ipvsProc: false, loadedModules: [], availableModules: ['dummy'], open: { ok: false as const, code: 'ENOENT', message: 'x' } };
    const c = find(evaluate(f), 'ipvs');
    expect(c.status).toBe('fail');
    expect(c.detail).toContain('this kernel has no IPVS');
    expect(c.fix).toContain('CONFIG_IP_VS');
    expect(find(evaluate(f), 'schedulers').status).toBe('fail');
  });

  it('IPVS built in counts as present', () => {
    const f = { ...healthy(), loadedModules: [], builtinModules: ['ip_vs', 'ip_vs_rr'] };
    expect(find(evaluate(f), 'ipvs').detail).toContain('built into the kernel');
    expect(find(evaluate(f), 'schedulers').data).toMatchObject({ loaded: ['rr'] });
  });

  it('no CAP_NET_ADMIN: the privilege check fails and says how to get it', () => {
    const denied = { ...healthy(), open: { ok: false as const, code: 'EPERM', message: 'permission denied' }, capNetAdmin: false };
    const c = find(evaluate(denied), 'privileges');
    expect(c.status).toBe('fail');
    expect(c.fix).toContain('CAP_NET_ADMIN');
    expect(exitCode(evaluate(denied))).toBe(1);
    // Without IPVS the kernel answers ENOENT even to the unprivileged: CapEff decides.
    const both = { ...denied, ipvsProc: false, open: { ok: false as const, code: 'ENOENT', message: 'x' } };
    expect(statusOf(both, 'privileges')).toBe('fail');
  });

  it('other open failures are reported as they are', () => {
    const f = { ...healthy(), open: { ok: false as const, code: 'ENOENT', message: 'cannot enter network namespace /var/run/netns/x: no such namespace' }, capNetAdmin: undefined };
    const c = find(evaluate(f), 'privileges');
    expect(c.status).toBe('fail');
    expect(c.detail).toContain('no such namespace');
  });

  it('ip_forward off: a warning, a problem for NAT, fine for DR and tunnel', () => {
    const f = healthy();
    f.sysctl['net.ipv4.ip_forward'] = 0;
    expect(statusOf(f, 'ip-forward')).toBe('warn');
    expect(find(evaluate(f), 'ip-forward').fix).toMatch(/^sysctl -w net\.ipv4\.ip_forward=1/);
    expect(exitCode(evaluate(f))).toBe(0);
    expect(statusOf(f, 'ip-forward', 'masq')).toBe('fail');
    expect(exitCode(evaluate(f, { mode: 'masq' }))).toBe(1);
    expect(statusOf(f, 'ip-forward', 'route')).toBe('ok');
    expect(statusOf(f, 'ip-forward', 'tunnel')).toBe('ok');
  });

  it('conntrack table: full fails, nearly full warns, no limit is fine', () => {
    const at = (count: number, max: number) => {
      const f = healthy();
      f.sysctl['net.netfilter.nf_conntrack_count'] = count;
      f.sysctl['net.netfilter.nf_conntrack_max'] = max;
      return find(evaluate(f), 'conntrack-table');
    };
    expect(at(65536, 65536)).toMatchObject({ status: 'fail', data: { count: 65536, max: 65536 } });
    expect(at(65536, 65536).detail).toContain('table full, dropping packet');
    expect(at(65000, 65536).status).toBe('fail'); // 99%: as full as a table gets
    expect(at(60000, 65536).status).toBe('warn');
    expect(at(100, 65536).status).toBe('ok');
    expect(at(100, 0).status).toBe('ok');
    const none = healthy();
    delete none.sysctl['net.netfilter.nf_conntrack_max'];
    delete none.sysctl['net.netfilter.nf_conntrack_count'];
    expect(statusOf(none, 'conntrack-table')).toBe('info');
  });

  it('conntrack module name follows the kernel', () => {
    const old = { ...healthy(), kernelRelease: '4.14.0', loadedModules: ['ip_vs'], sysctl: {} };
    const c = find(evaluate(old), 'conntrack-module');
    expect(c).toMatchObject({ status: 'info', fix: 'modprobe nf_conntrack_ipv4', data: { module: 'nf_conntrack_ipv4', loaded: false } });
    expect(find(evaluate(healthy()), 'conntrack-module')).toMatchObject({ status: 'ok', data: { module: 'nf_conntrack' } });
  });

  it('net.ipv4.vs.conntrack: 1 is ok, 0 is worth knowing', () => {
    const f = healthy();
    expect(statusOf(f, 'vs-conntrack')).toBe('info');
    f.sysctl['net.ipv4.vs.conntrack'] = 1;
    expect(statusOf(f, 'vs-conntrack')).toBe('ok');
  });

  it('DR real-server ARP settings', () => {
    const f = healthy();
    expect(find(evaluate(f), 'dr-arp')).toMatchObject({ status: 'info', data: { arp_ignore: 0, arp_announce: 0 } });
    f.sysctl['net.ipv4.conf.all.arp_ignore'] = 1;
    f.sysctl['net.ipv4.conf.all.arp_announce'] = 2;
    expect(statusOf(f, 'dr-arp')).toBe('ok');
  });

  it('schedulers: unknown module directory is not an error', () => {
    const f = { ...healthy(), availableModules: undefined };
    const c = find(evaluate(f), 'schedulers');
    expect(c.status).toBe('info');
    expect(c.detail).toContain('loaded: rr');
    expect(c.fix).toContain('IPVS_MODULES_DIR');
  });
});

describe('doctor output', () => {
  it('text: one line per check, fixes under problems, a verdict', () => {
    const f = healthy();
    f.sysctl['net.ipv4.ip_forward'] = 0;
    const text = renderText(f, evaluate(f, { mode: 'masq' }));
    expect(text).toMatch(/^ipvs doctor: Linux 6\.1\.0-18-amd64, this network namespace$/m);
    expect(text).toMatch(/^ok {4}IPVS in the kernel: IPVS 1\.2\.1/m);
    expect(text).toMatch(/^FAIL {2}net\.ipv4\.ip_forward: 0: /m);
    expect(text).toMatch(/^ {6}fix: sysctl -w net\.ipv4\.ip_forward=1/m);
    expect(text.trimEnd().split('\n').pop()).toBe('1 problem keeps IPVS from working.');
  });

  it('json: ok flag, kernel, and every check', () => {
    const report = JSON.parse(renderJson({ ...healthy(), netns: 'blue' }, evaluate(healthy()), undefined));
    expect(report).toMatchObject({ ok: true, kernel: '6.1.0-18-amd64', netns: 'blue', mode: null });
    expect(report.checks).toHaveLength(8);
  });

  it('command line: help, bad arguments', async () => {
    const io = () => {
      const o = { out: '', err: '' };
      return { o, io: { out: (t: string) => void (o.out += t), err: (t: string) => void (o.err += t) } };
    };
    const a = io();
    expect(await runDoctor(['--help'], a.io)).toBe(0);
    expect(a.o.out).toMatch(/^usage: ipvs doctor /);
    const b = io();
    expect(await runDoctor(['--bogus'], b.io)).toBe(2);
    expect(b.o.err).toContain("unknown argument '--bogus'");
    const c = io();
    expect(await runDoctor(['--mode', 'fast'], c.io)).toBe(2);
    expect(c.o.err).toContain("unknown mode 'fast'");
    const d = io();
    expect(await runDoctor(['--netns'], d.io)).toBe(2);
    expect(d.o.err).toContain('--netns needs a value');
  });
});
