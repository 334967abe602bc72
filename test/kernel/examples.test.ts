// Smoke test of examples/: each runs as a person would run it (node, the
// built package imported by name), succeeds, prints what it promises, and
// leaves no network namespace behind.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runExample(file: string, ...args: string[]): Promise<Run> {
  return runExampleFor(50_000, file, ...args);
}

function runExampleFor(timeoutMs: number, file: string, ...args: string[]): Promise<Run> {
  if (!existsSync('dist/index.js')) throw new Error('dist/index.js is missing: build with `npx tsup` first (examples import the package by name)');
  return new Promise((resolve) => {
    execFile(process.execPath, [`examples/${file}`, ...args], { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

/** Runs an example and checks what every example owes: success, no noise, no leftovers. */
async function check(file: string, prefix: string, ...args: string[]): Promise<string> {
  return checkFor(50_000, file, prefix, ...args);
}

async function checkFor(timeoutMs: number, file: string, prefix: string, ...args: string[]): Promise<string> {
  const r = await runExampleFor(timeoutMs, file, ...args);
  expect(r.stderr).toBe('');
  expect(r.code, r.stdout).toBe(0);
  expect(namespaces()).not.toContain(`${prefix}-`);
  return r.stdout;
}

/** The numbers of a table row that starts with `label`. */
const rowOf = (out: string, label: string) => {
  const line = out.split('\n').find((l) => l.startsWith(`${label} `));
  expect(line, `row ${label}`).toBeDefined();
  return line!.slice(label.length).trim().split(/\s+/).slice(0, 3).map(Number);
};

describe('examples', () => {
  it('demo.mjs: a service with two real servers, listed and used', async () => {
    const out = await check('demo.mjs', 'ipvs-demo');
    expect(out).toMatch(/^IP Virtual Server version \d+\.\d+\.\d+ \(size=\d+\)$/m);
    expect(out).toMatch(/^TCP {2}10\.0\.0\.10:80 rr$/m);
    expect(out).toMatch(/^ {2}-> 10\.2\.1\.2:80 {18}Masq {4}1 {6}0 {10}0$/m);
    expect(out).toMatch(/^ {2}-> 10\.2\.2\.2:80 {18}Masq {4}1 {6}0 {10}0$/m);
    const replies = out.split('\n').filter((l) => /^backend-\d$/.test(l));
    expect(replies.sort()).toEqual(['backend-1', 'backend-1', 'backend-2', 'backend-2']);
    // After the requests, each real server holds two finished connections.
    expect(out).toMatch(/^ {2}-> 10\.2\.1\.2:80 {18}Masq {4}1 {6}0 {10}2$/m);
  });

  it('01-nat.mjs: the classic NAT walk-through', async () => {
    const out = await check('01-nat.mjs', 'ex-nat');
    expect(out).toMatch(/^TCP {2}10\.0\.0\.10:80 rr$/m);
    for (const k of [1, 2, 3]) expect(out).toMatch(new RegExp(`^ {2}-> 10\\.2\\.${k}\\.2:80 +Masq +1 +0 +0$`, 'm'));
    expect(out).toMatch(/^request 6: backend-\d$/m);
    expect(out).toContain('split: backend-1 ×2  backend-2 ×2  backend-3 ×2');
    // NAT counts both directions: six connections, packets out.
    expect(out).toMatch(/^TCP {2}10\.0\.0\.10:80 +6 +\d+ +[1-9]\d* /m);
  });

  it('02-kube-proxy.mjs: ClusterIPs on kube-ipvs0, a NodePort', async () => {
    const out = await check('02-kube-proxy.mjs', 'ex-kube');
    expect(out).toMatch(/^kube-ipvs0 +DOWN +10\.96\.0\.10\/32 10\.96\.0\.53\/32$/m);
    expect(out).toContain('net.ipv4.vs.conntrack = 1');
    expect(out).toMatch(/^TCP {2}10\.96\.0\.10:80 rr$/m);
    expect(out).toMatch(/^TCP {2}10\.1\.0\.1:30080 rr$/m);
    expect(out).toMatch(/^UDP {2}10\.96\.0\.53:53 rr$/m);
    expect(out).toMatch(/^ {2}-> 10\.2\.1\.2:8080 +Masq/m);
    expect(out).toMatch(/^ {2}-> 10\.2\.1\.2:5353 +Masq/m);
    const calls = out.split('\n').filter((l) => /^(web|dns) /.test(l));
    expect(calls).toHaveLength(3);
    for (const l of calls) expect(l).toContain('(pod-1 ×1  pod-2 ×1  pod-3 ×1)');
  });

  it('03-direct-routing.mjs: DR with an external IP, replies around the director', async () => {
    const out = await check('03-direct-routing.mjs', 'ex-dr');
    expect(out).toMatch(/^lo .* 203\.0\.113\.10\/32/m);
    expect(out).toContain('net.ipv4.conf.all.arp_ignore = 1');
    expect(out).toContain('net.ipv4.conf.all.arp_announce = 2');
    expect(out).toMatch(/^ {2}-> 10\.2\.1\.2:80 +Route +1 /m);
    expect(out).toContain('split: backend-1 ×2  backend-2 ×2; the backends saw the client as 10.1.0.2');
    // Four connections in, nothing out.
    expect(out).toMatch(/^TCP {2}203\.0\.113\.10:80 +4 +[1-9]\d* +0 +[1-9]\d* +0$/m);
  });

  for (const kind of ['ipip', 'gue', 'gre']) {
    it(`04-tunnel.mjs ${kind}: the real servers decapsulate and answer directly`, async () => {
      const out = await check('04-tunnel.mjs', 'ex-tun', kind);
      expect(out).toMatch(/^ {2}-> 10\.2\.1\.2:80 +Tunnel +1 /m);
      expect(out).toContain(`10.2.1.2: tunnel {"type":"${kind}"`);
      expect(out).toContain('split: backend-1 ×2  backend-2 ×2');
      const device = kind === 'gre' ? 'gre0' : 'tunl0';
      for (const b of ['backend-1', 'backend-2']) {
        const m = new RegExp(`^${b}: (\\d+) packets decapsulated on ${device}$`, 'm').exec(out);
        expect(Number(m?.[1])).toBeGreaterThan(0);
      }
      expect(out).toMatch(/^TCP {2}10\.0\.0\.10:80 +4 +[1-9]\d* +0 +[1-9]\d* +0$/m);
    });
  }

  it('05-schedulers.mjs: the schedulers side by side', async () => {
    const out = await check('05-schedulers.mjs', 'ex-sched');
    const [part1, part2] = out.split('# Part 2');
    expect(rowOf(part1!, 'rr')).toEqual([10, 10, 10]);
    expect(rowOf(part1!, 'wrr')).toEqual([15, 10, 5]);
    expect(rowOf(part1!, 'sh').sort()).toEqual([0, 0, 30]);
    for (const s of ['lc', 'sed', 'nq']) expect(rowOf(part1!, s).reduce((a, b) => a + b)).toBe(30);
    expect(rowOf(part2!, 'rr')).toEqual([4, 4, 4]);
    for (const s of ['lc', 'sed', 'nq']) {
      const [busy, ...others] = rowOf(part2!, s);
      expect(busy, s).toBe(0);
      expect(others.reduce((a, b) => a + b)).toBe(12);
    }
  });

  // The two multi-director examples run the real daemons (keepalived, BIRD)
  // and a Node process per keepalived notify: about 50 s each in the test
  // kernel, so they get more time than the others.
  const multi = 180_000;

  it('06-active-backup.mjs: keepalived moves the VIP, the synced connection lives on', async () => {
    const out = await checkFor(multi - 10_000, '06-active-backup.mjs', 'ex-ab');
    expect(out).toMatch(/^ {2}notify_master ".*notify-0\.sh master"$/m);
    expect(out).toContain('# sync daemons: director-1 master, director-2 backup');
    const served = /^# A long TCP connection from 10\.9\.0\.2:61001 to 10\.9\.0\.100:80, served by (backend-\d)$/m.exec(out)?.[1];
    expect(served).toBeDefined();
    // Both directors hold it, to the same real server: made on 1, synced to 2.
    const held = (d: number) => new RegExp(`^director-${d}: tcp ESTABLISHED 10\\.9\\.0\\.2:61001 -> (10\\.9\\.0\\.2\\d):80 \\((\\w+), expires in \\d+s\\)$`, 'm').exec(out);
    expect(held(1)?.slice(1)).toEqual([held(2)?.[1], 'local']);
    expect(held(2)?.[2]).toBe('sync');
    expect(out).toMatch(new RegExp(`^the same connection answers again after \\d+ ms, from ${served}$`, 'm'));
    expect(out).toMatch(/^# sync daemons now: director-1 \S+, director-2 master$/m);
    expect(out).toMatch(/^four new connections: backend-\d, backend-\d, backend-\d, backend-\d$/m);
  }, multi);

  it('07-active-active.mjs: ECMP over three directors, a withdrawn director\'s connections keep their real servers', async () => {
    const out = await checkFor(multi - 10_000, '07-active-active.mjs', 'ex-aa');
    const [, before, after] = out.split(/^# (?:Six long connections|The same connections now).*$/m);
    expect(out.match(/^\tnexthop via 10\.9\.0\.1[123] dev eth0 weight 1 ?$/gm)).toHaveLength(3 + 2);
    const victim = /^# Stopping BIRD on director-(\d)$/m.exec(out)?.[1];
    expect(victim).toBeDefined();
    expect(out).toMatch(/^the router dropped it after \d+ ms:$/m);
    const rows = (part: string | undefined) => Object.fromEntries([...(part ?? '').matchAll(/^ {2}port (\d+): (backend-\d) via director-(\d)$/gm)].map((m) => [m[1], [m[2], m[3]]]));
    const was = rows(before);
    const now = rows(after);
    expect(Object.keys(was)).toHaveLength(6);
    expect(Object.keys(now)).toEqual(Object.keys(was));
    for (const port of Object.keys(was)) {
      expect(now[port]![0], `port ${port} keeps its real server`).toBe(was[port]![0]);
      expect(now[port]![1], `port ${port} left director-${victim}`).not.toBe(victim);
    }
  }, multi);

  it('04-tunnel.mjs refuses an unknown tunnel kind', async () => {
    const r = await runExample('04-tunnel.mjs', 'vxlan');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('usage: node examples/04-tunnel.mjs [ipip|gue|gre]');
  });
});
