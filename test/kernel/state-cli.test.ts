/**
 * `ipvs apply`, `ipvs diff` and `ipvs export` on the real kernel: a real
 * shell pipe `ipvs export | ipvs apply -f -` that changes nothing, files in
 * both formats, readable diffs and their exit statuses, ownership options,
 * and file errors that name file, line and path.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { main } from '../../src/cli/app.js';
import { useNetns } from '../helpers/netns.js';

const t = useNetns('state-cli');
const dir = mkdtempSync(join(tmpdir(), 'ipvs-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  await t.ipvs.flush();
});

const saved = () => t.ns.exec('ipvsadm', ['-Sn']).split('\n').filter(Boolean).sort();
async function ipvs(args: string[], input?: string) {
  let out = '';
  let err = '';
  const status = await main(args, { out: (s) => void (out += s), err: (s) => void (err += s) }, { netns: t.ns.name, ...(input !== undefined ? { readInput: () => input } : {}) });
  return { status, out, err };
}
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** Made by hand with ipvsadm, servers added out of the documented order. */
const RULES = `-A -t 10.0.0.1:80 -s wrr -p 60 -M 255.255.255.0
-a -t 10.0.0.1:80 -r 10.1.0.3:8080 -m -w 2
-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.1.0.4:80 -i --tun-type gue --tun-port 6080 --tun-csum
-A -u [2001:db8::1]:53 -s sh -b sh-port
-a -u [2001:db8::1]:53 -r [2001:db8::3]:53 -g -w 1
-A -f 7 -s rr
-a -f 7 -r 10.1.0.7:0 -g -w 1
`;

describe('ipvs export | apply | diff', () => {
  it('`ipvs export | ipvs apply -f -` through a real shell pipe changes nothing', () => {
    t.ns.exec('ipvsadm', ['-R'], { input: RULES });
    const before = saved();
    const listed = t.ns.exec('ipvsadm', ['-Ln', '--nosort']);
    const cli = join(process.cwd(), 'dist/cli.js');
    const out = t.ns.exec('sh', ['-c', `node ${cli} export | node ${cli} apply -f -; echo "status $?"`]);
    expect(out).toBe('status 0\n');
    expect(saved()).toEqual(before);
    expect(t.ns.exec('ipvsadm', ['-Ln', '--nosort'])).toBe(listed);
  });

  it('export as YAML and JSON; either applied to an empty namespace gives the same table; diff shows nothing', async () => {
    t.ns.exec('ipvsadm', ['-R'], { input: RULES });
    const before = saved();
    const yaml = await ipvs(['export']);
    const json = await ipvs(['export', '--json']);
    expect(yaml.status).toBe(0);
    expect(parseYaml(yaml.out)).toEqual(JSON.parse(json.out));
    expect(JSON.parse(json.out).services[0]).toEqual({
      protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'wrr', persistent: 60, netmask: '255.255.255.0',
      destinations: [
        { address: '10.1.0.2', port: 8080, forwarding: 'masq', weight: 1 },
        { address: '10.1.0.3', port: 8080, forwarding: 'masq', weight: 2 },
        { address: '10.1.0.4', port: 80, forwarding: 'tunnel', weight: 1, tunnel: { type: 'gue', port: 6080, checksum: 'csum' } },
      ],
    });
    expect(await ipvs(['diff', '-f', file('same.yaml', yaml.out)])).toEqual({ status: 0, out: '', err: '' });
    for (const text of [yaml.out, json.out]) {
      await t.ipvs.flush();
      const r = await ipvs(['apply', '-f', file('state.json', text)]);
      expect(r.status).toBe(0);
      expect(saved()).toEqual(before);
    }
  });

  it('diff prints the plan readably and exits 1 when there are changes; apply makes them', async () => {
    t.ns.exec('ipvsadm', ['-R'], { input: RULES });
    const p = file('changed.yaml', `# the web service
services:
  - protocol: tcp
    address: 10.0.0.1
    port: 80
    scheduler: rr            # was wrr
    persistent: 60
    netmask: 24
    destinations:
      - { address: 10.1.0.2, port: 8080, forwarding: masq, weight: 5 }
      - { address: 10.1.0.3, port: 8080, forwarding: masq, weight: 2 }
  - fwmark: 9
    destinations: [{ address: 10.1.0.9 }]
`);
    const d = await ipvs(['diff', '-f', p]);
    expect(d.status).toBe(1);
    const lines = d.out.split('\n').filter(Boolean);
    // removals first (in the kernel's listing order), then services, then real servers
    expect(lines.slice(0, 3).sort()).toEqual(['- server TCP 10.0.0.1:80 -> 10.1.0.4:80', '- service FWM 7', '- service UDP [2001:db8::1]:53']);
    expect(lines.slice(3)).toEqual([
      '~ service TCP 10.0.0.1:80: scheduler wrr -> rr',
      '+ service FWM 9: scheduler wlc',
      '~ server TCP 10.0.0.1:80 -> 10.1.0.2:8080: weight 1 -> 5',
      '+ server FWM 9 -> 10.1.0.9:0: route, weight 1',
    ]);
    const a = await ipvs(['apply', '-f', p]);
    expect(a.status).toBe(0);
    expect(a.out).toBe(d.out);
    expect(await ipvs(['diff', '-f', p])).toEqual({ status: 0, out: '', err: '' });
  });

  it("a state's sysctls: diff shows the one that differs, apply sets it, the second diff is empty; export --sysctls | apply -f - is a no-op", async () => {
    const sloppy = () => t.ns.exec('cat', ['/proc/sys/net/ipv4/vs/sloppy_tcp']).trim();
    await t.ipvs.setSysctls({ sloppy_tcp: false });
    try {
      const reuse = (await t.ipvs.getSysctls()).conn_reuse_mode;
      // (conn_reuse_mode as the kernel has it: named, equal, so no change)
      const p = file('sysctls.yaml', `sysctls:\n  sloppy_tcp: true\n  conn_reuse_mode: ${reuse}\nservices:\n  - { protocol: tcp, address: 10.0.0.1, port: 80 }\n`);
      const d = await ipvs(['diff', '-f', p]);
      expect(d).toEqual({ status: 1, out: '~ sysctl net.ipv4.vs.sloppy_tcp: 0 -> 1\n+ service TCP 10.0.0.1:80: scheduler wlc\n', err: '' });
      expect(sloppy()).toBe('0');
      const a = await ipvs(['apply', '-f', p]);
      expect(a).toEqual({ status: 0, out: d.out, err: '' });
      expect(sloppy()).toBe('1');
      expect(await ipvs(['diff', '-f', p])).toEqual({ status: 0, out: '', err: '' });
      // the export names every sysctl the kernel has only when asked
      expect(parseYaml((await ipvs(['export'])).out)).not.toHaveProperty('sysctls');
      const e = await ipvs(['export', '--sysctls']);
      const exported = parseYaml(e.out);
      expect(exported.sysctls).toMatchObject({ sloppy_tcp: true, conn_reuse_mode: reuse });
      expect(Object.keys(exported.sysctls).length).toBeGreaterThan(10);
      expect(await ipvs(['apply', '-f', '-'], e.out)).toEqual({ status: 0, out: '', err: '' });
      expect(await ipvs(['diff', '-f', '-'], e.out)).toEqual({ status: 0, out: '', err: '' });
      // a change to one of them in the exported file is that one change
      const changed = e.out.replace('sloppy_tcp: true', 'sloppy_tcp: false');
      expect(await ipvs(['apply', '-f', '-'], changed)).toEqual({ status: 0, out: '~ sysctl net.ipv4.vs.sloppy_tcp: 1 -> 0\n', err: '' });
      expect(sloppy()).toBe('0');
    } finally {
      await t.ipvs.setSysctls({ sloppy_tcp: false });
    }
  });

  it('the README example applies cleanly, and its export passes the JSON Schema', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = /<!-- state-example -->\n```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    const r = await ipvs(['apply', '-f', file('example.yaml', example)]);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(await ipvs(['diff', '-f', file('example.yaml', example)])).toEqual({ status: 0, out: '', err: '' });
    const schema = JSON.parse(readFileSync(new URL('../../schema/ipvs-state.schema.json', import.meta.url), 'utf8')) as object;
    const validate = new Ajv({ strict: false }).compile(schema);
    expect(validate(JSON.parse((await ipvs(['export', '--json'])).out)), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(JSON.parse((await ipvs(['export', '--json', '--sysctls'])).out)), JSON.stringify(validate.errors)).toBe(true);
    await t.ipvs.setSysctls({ sloppy_tcp: false }); // (the example sets it)
  });

  it('--owns and --owns-fwmark limit what apply touches; --drain drains', async () => {
    t.ns.exec('ipvsadm', ['-R'], { input: RULES });
    const empty = file('empty.yaml', 'services: []\n');
    const r = await ipvs(['apply', '-f', empty, '--owns', '2001:db8::/32', '--owns-fwmark', '5-7']);
    expect(r.status).toBe(0);
    expect(saved().filter((l) => l.startsWith('-A'))).toEqual(['-A -t 10.0.0.1:80 -s wrr -p 60 -M 255.255.255.0']);
    // a service in the file but outside what is owned: refused with its line
    const outside = file('outside.yaml', 'services:\n  - protocol: tcp\n    address: 10.9.0.1\n    port: 80\n');
    expect(await ipvs(['diff', '-f', outside, '--owns', '10.0.0.0/24'])).toMatchObject({ status: 2, err: `ipvs diff: invalid desired state: ${outside}:2: services[0]: virtual service TCP 10.9.0.1:80 is outside what this apply owns\n` });
    // draining idle servers: weight 0, then gone at the first poll
    const one = file('one.yaml', 'services:\n  - { protocol: tcp, address: 10.0.0.1, port: 80, scheduler: wrr, persistent: 60, netmask: 255.255.255.0, destinations: [{ address: 10.1.0.2, port: 8080, forwarding: masq }] }\n');
    const dr = await ipvs(['apply', '-f', one, '--drain=30']);
    expect(dr.status).toBe(0);
    expect(dr.out).toContain('> server TCP 10.0.0.1:80 -> 10.1.0.3:8080: weight 2 -> 0, deleted when idle, at the latest after 30 s\n');
    expect(dr.out).toContain('drained TCP 10.0.0.1:80 -> 10.1.0.3:8080: drained\n');
    expect(saved()).toEqual(['-A -t 10.0.0.1:80 -s wrr -p 60 -M 255.255.255.0', '-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 1']);
  });

  it('refuses a bad file before changing anything, naming file, line and path of every bad entry', async () => {
    t.ns.exec('ipvsadm', ['-R'], { input: RULES });
    const before = saved();
    const p = file('bad.yaml', `services:
  - protocol: tcp
    address: 10.0.0.1
    port: 80
    destinations:
      - address: 10.1.0.2
        weight: -1
      - address: 10.1.0.2
  - protocol: tcpp
    address: 10.0.0.2
    port: 80
  - fwmark: 3
    schedular: rr
`);
    const r = await ipvs(['apply', '-f', p]);
    expect(r.status).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`ipvs apply: invalid desired state (4 problems):
  ${p}:7: services[0].destinations[0].weight: weight must be an integer from 0 to 2147483647, got -1
  ${p}:8: services[0].destinations[1]: real server 10.1.0.2:80 is listed twice (also services[0].destinations[0])
  ${p}:9: services[1].protocol: protocol must be 'tcp', 'udp' or 'sctp', got "tcpp"
  ${p}:13: services[2].schedular: unknown setting "schedular" (known: protocol, address, port, fwmark, family, scheduler, schedulerFlags, persistent, netmask, onePacket, pe, destinations, drain)
`);
    // YAML syntax and JSON syntax errors carry lines too
    const y = await ipvs(['diff', '-f', '-'], 'services:\n  - protocol: tcp\n   address: 1\n');
    expect(y.status).toBe(2);
    expect(y.err).toMatch(/^ipvs diff: invalid desired state: <stdin>:3: /);
    const j = await ipvs(['diff', '-f', file('bad.json', '{\n  "services": [\n    {"protocol": "tcp", "address": "10.0.0.1", "port": 80,}\n    {}\n  ]\n}\n')]);
    expect(j.status).toBe(2);
    expect(j.err).toMatch(/bad\.json:4: /);
    expect(await ipvs(['apply', '-f', join(dir, 'missing.yaml')])).toMatchObject({ status: 2, err: `ipvs apply: cannot read ${join(dir, 'missing.yaml')}: no such file\n` });
    expect((await ipvs(['apply'])).status).toBe(2);
    expect((await ipvs(['export', '--json', '--yaml'])).status).toBe(2);
    expect((await ipvs(['diff', '-f', p, '--drain=soon'])).err).toMatch(/--drain: "soon" is not a number of seconds/);
    expect(saved()).toEqual(before);
  });
});
