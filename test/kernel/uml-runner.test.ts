// Self-test of the kernel-test environment (host with IPVS, or the UML guest
// from test/uml/run.sh): if this fails, the other kernel tests cannot pass.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ns = `ipvs-env-${process.pid}`;
const sh = (cmd: string, ...args: string[]) =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const inNs = (cmd: string, ...args: string[]) => sh('ip', 'netns', 'exec', ns, cmd, ...args);

const schedulers = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'];

describe('kernel test environment', () => {
  beforeAll(() => {
    sh('ip', 'netns', 'add', ns);
    // IPVS only accepts real servers it can route to.
    inNs('ip', 'link', 'add', 'dummy0', 'type', 'dummy');
    inNs('ip', 'addr', 'add', '10.0.0.254/24', 'dev', 'dummy0');
    inNs('ip', 'link', 'set', 'dummy0', 'up');
  });
  afterAll(() => sh('ip', 'netns', 'del', ns));

  it('runs as root', () => {
    expect(process.getuid?.()).toBe(0);
  });

  it('programs IPVS in a fresh network namespace', () => {
    inNs('ipvsadm', '-A', '-t', '10.0.0.1:80', '-s', 'rr');
    inNs('ipvsadm', '-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2:8080', '-m', '-w', '3');
    const out = inNs('ipvsadm', '-Ln');
    expect(out).toMatch(/^TCP {2}10\.0\.0\.1:80 rr\s*$/m);
    expect(out).toMatch(/^ {2}-> 10\.0\.0\.2:8080 +Masq +3 +0 +0\s*$/m);
    // The namespace is private: the initial one does not see the service.
    expect(sh('ipvsadm', '-Ln')).not.toContain('10.0.0.1:80');
    inNs('ipvsadm', '-C');
    expect(inNs('ipvsadm', '-Ln')).not.toContain('10.0.0.1:80');
  });

  it('has every IPVS scheduler', () => {
    schedulers.forEach((s, i) => inNs('ipvsadm', '-A', '-u', `10.0.1.${i + 1}:53`, '-s', s));
    const out = inNs('ipvsadm', '-Ln');
    schedulers.forEach((s, i) => expect(out).toContain(`UDP  10.0.1.${i + 1}:53 ${s}`));
    inNs('ipvsadm', '-C');
  });

  it('creates veth and dummy links', () => {
    inNs('ip', 'link', 'add', 'dummy1', 'type', 'dummy');
    inNs('ip', 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
    const links = inNs('ip', '-o', 'link', 'show');
    expect(links).toContain('dummy1');
    expect(links).toMatch(/veth0@veth1/);
  });

  it.runIf(process.env.IPVS_IN_UML === '1')('keeps guest scratch space off the host', () => {
    // /tmp, /run and HOME are tmpfs mounts private to the guest.
    const mounts = readFileSync('/proc/mounts', 'utf8');
    for (const dir of ['/tmp', '/run', '/var/tmp']) {
      expect(mounts).toMatch(new RegExp(`^tmpfs ${dir} tmpfs `, 'm'));
    }
    expect(process.env.HOME).toMatch(/^\/tmp\//);
    expect(process.env.TERM).toBe('dumb');
  });
});
