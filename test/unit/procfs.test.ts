// The parsers and checks behind listConnections, getSysctls/setSysctls and
// `ipvs sync`: pure functions, tested on text laid out as the kernel prints
// it (ip_vs_conn_seq_show / ip_vs_conn_sync_seq_show formats).
import { describe, expect, it } from 'vitest';
import { IpvsError } from '../../src/errors.js';
import { parseConnections } from '../../src/procfs/connections.js';
import { SYSCTL_NAMES, encodeSysctls } from '../../src/procfs/sysctls.js';
import { planSyncRole } from '../../src/sync/role.js';

const CONN =
  'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n' +
  'TCP 0A010002 9C40 0A00000A 0050 0A020102 0050 ESTABLISHED     899\n' +
  'TCP 0A010000 0000 0A00000A 0050 0A020102 0050 NONE            359\n' +
  'IP  0A010002 0000 00000001 0000 0A020102 0000 NONE            300\n' +
  'UDP 2001:0db8:0000:0000:0000:0000:0000:0009 0035 2001:0db8:0000:0000:0000:0000:0000:0001 0035 2001:0db8:0000:0000:0000:0000:0000:0002 0035 UDP             299\n' +
  'UDP 0A000009 13C4 0A000001 13C4 0A000002 13C4 UDP            3661 sip abc123\n';

const SYNC =
  'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires\n' +
  'TCP 0A010002 9C40 0A00000A 0050 0A020102 0050 ESTABLISHED SYNC       899\n' +
  'TCP 0A010003 9C41 0A00000A 0050 0A020101 0050 SYN_RECV    LOCAL       59\n';

describe('parseConnections', () => {
  it('reads IPv4, IPv6, templates and persistence-engine data', () => {
    const c = parseConnections(CONN);
    expect(c).toHaveLength(5);
    expect(c[0]).toEqual({
      protocol: 'tcp', family: 'inet', client: { address: '10.1.0.2', port: 40000 }, virtual: { address: '10.0.0.10', port: 80 },
      destination: { family: 'inet', address: '10.2.1.2', port: 80 }, state: 'ESTABLISHED', expires: 899, template: false,
    });
    expect(c[1]!.template).toBe(true);
    expect(c[2]).toMatchObject({ protocol: 'ip', virtual: { address: '0.0.0.1', port: 0 }, template: true });
    expect(c[3]).toMatchObject({
      family: 'inet6', client: { address: '2001:db8::9', port: 53 }, virtual: { address: '2001:db8::1', port: 53 },
      destination: { family: 'inet6', address: '2001:db8::2', port: 53 }, state: 'UDP', template: false,
    });
    expect(c[4]!.pe).toEqual({ name: 'sip', data: 'abc123' });
  });

  it('reads the origin column of ip_vs_conn_sync', () => {
    const c = parseConnections(SYNC, true);
    expect(c.map((x) => [x.origin, x.state, x.expires])).toEqual([['sync', 'ESTABLISHED', 899], ['local', 'SYN_RECV', 59]]);
  });

  it('an empty table is a header only', () => {
    expect(parseConnections('Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n')).toEqual([]);
    expect(parseConnections('')).toEqual([]);
  });

  it('a line that does not parse is a decode error naming the line', () => {
    const e = (() => {
      try {
        parseConnections('header\nTCP 0A01XX02 9C40 0A00000A 0050 0A020102 0050 ESTABLISHED 899\n');
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(IpvsError);
    expect(e).toMatchObject({ kind: 'decode', operation: 'listConnections' });
    expect((e as Error).message).toContain('line 2');
  });
});

describe('encodeSysctls', () => {
  it('writes booleans as 0/1, the threshold pair and whole numbers', () => {
    expect(encodeSysctls({ sloppy_tcp: true, conntrack: 0 as unknown as boolean, sync_threshold: { threshold: 3, period: 50 }, sync_ports: 4, sync_version: 1 })).toEqual([
      ['sloppy_tcp', '1'], ['conntrack', '0'], ['sync_threshold', '3 50'], ['sync_ports', '4'], ['sync_version', '1'],
    ]);
  });

  it('refuses bad values naming the setting, before anything is written', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ sloppy_tcp: 'yes' }, 'sloppy_tcp', /true or false/],
      [{ sync_ports: 3 }, 'sync_ports', /power of two/],
      [{ sync_threshold: { threshold: 50, period: 50 } }, 'sync_threshold', /threshold < period/],
      [{ sync_retries: 4 }, 'sync_retries', /0 to 3/],
      [{ nonsense: 1 }, 'nonsense', /not an IPVS sysctl/],
    ];
    for (const [values, field, msg] of cases) {
      let err: unknown;
      try {
        encodeSysctls(values);
      } catch (e) {
        err = e;
      }
      expect(err, field).toBeInstanceOf(IpvsError);
      expect(err).toMatchObject({ kind: 'input', code: 'EINVAL', field });
      expect((err as Error).message).toMatch(msg);
    }
  });

  it('knows every setting the issue lists', () => {
    expect(SYSCTL_NAMES).toEqual(expect.arrayContaining(['conntrack', 'sloppy_tcp', 'sloppy_sctp', 'expire_nodest_conn', 'expire_quiescent_template',
      'conn_reuse_mode', 'backup_only', 'sync_threshold', 'sync_refresh_period', 'sync_retries', 'sync_qlen_max', 'sync_sock_size', 'sync_ports',
      'sync_persist_mode', 'sync_version', 'schedule_icmp', 'ignore_tunneled', 'pmtu_disc']));
  });
});

describe('planSyncRole', () => {
  const master = { state: 'master' as const, interface: 'eth0', syncId: 1, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1, syncMaxLen: 1472 };
  const backup = { ...master, state: 'backup' as const };
  const want = { interface: 'eth0', syncId: 1 };
  it('starts the role when nothing runs', () => {
    expect(planSyncRole([], 'master', want)).toEqual({ stop: [], start: ['master'], keep: [] });
  });
  it('keeps a daemon already in the role with the same settings', () => {
    expect(planSyncRole([master], 'master', want)).toEqual({ stop: [], start: [], keep: ['master'] });
  });
  it('master -> backup stops the master and starts a backup', () => {
    expect(planSyncRole([master], 'backup', want)).toEqual({ stop: ['master'], start: ['backup'], keep: [] });
  });
  it('restarts a daemon whose settings differ', () => {
    expect(planSyncRole([backup], 'backup', { interface: 'eth1', syncId: 1 })).toEqual({ stop: ['backup'], start: ['backup'], keep: [] });
    expect(planSyncRole([backup], 'backup', { ...want, mcastPort: 9000 })).toEqual({ stop: ['backup'], start: ['backup'], keep: [] });
  });
  it('stop stops everything', () => {
    expect(planSyncRole([master, backup], 'stop')).toEqual({ stop: ['master', 'backup'], start: [], keep: [] });
  });
});

describe('state files: the sysctls key', () => {
  it('is checked with the rest of the file, each problem named by path and line', async () => {
    const { parseStateText } = await import('../../src/state/file.js');
    const ok = parseStateText('sysctls:\n  sloppy_tcp: true\n  sync_threshold: { threshold: 3, period: 50 }\nservices: []\n', 'a.yaml');
    expect(ok.sysctls).toEqual({ sloppy_tcp: true, sync_threshold: { threshold: 3, period: 50 } });
    let err: unknown;
    try {
      parseStateText('services: []\nsysctls:\n  sloppy_tcp: yes\n  sync_ports: 3\n', 'b.yaml');
    } catch (e) {
      err = e;
    }
    const problems = (err as { problems: { path: string; line?: number; file?: string; message: string }[] }).problems;
    expect(problems.map((p) => [p.path, p.line, p.file])).toEqual([['sysctls.sloppy_tcp', 3, 'b.yaml'], ['sysctls.sync_ports', 4, 'b.yaml']]);
    expect(problems[1]!.message).toMatch(/power of two/);
  });
});

describe('ipvs sync: command line', () => {
  const run = async (args: string[]) => {
    const { runSyncCommand } = await import('../../src/cli/sync.js');
    let out = '';
    let err = '';
    const status = await runSyncCommand(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
    return { status, out, err };
  };
  it('refuses what it cannot do before touching the kernel (status 2, usage)', async () => {
    for (const [args, msg] of [[['bogus'], /master, backup or stop/], [['master'], /needs --interface/], [['backup', '-i', 'eth0', '--syncid', '300'], /--syncid takes a whole number from 0 to 255/], [['stop', '--nope'], /nope/]] as const) {
      const r = await run([...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err).toContain('usage: ipvs sync');
    }
  });
  it('prints its usage on --help', async () => {
    const r = await run(['--help']);
    expect(r).toMatchObject({ status: 0, err: '' });
    expect(r.out).toContain('master   run the master sync daemon only');
  });
});
