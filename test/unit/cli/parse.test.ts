// The CLI's argument handling without a kernel: the C parsers, popt's
// scanning, ipvsadm's option checks and -R's line parsing.
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../src/cli/command.js';
import { CliExit } from '../../../src/cli/exit.js';
import { Fmt, OPT, OPTION_TABLE } from '../../../src/cli/options.js';
import { atoi, inetAton, inetNtop, inetPton4, inetPton6, stringToNumber } from '../../../src/cli/cparse.js';
import { Scanner } from '../../../src/cli/popt.js';
import { checkRestore, parseRestoreLine, tokenize } from '../../../src/cli/restore.js';
import { destSpec, serviceSpec } from '../../../src/cli/run.js';

const parse = (...args: string[]) => parseCommand(args, { prog: 'ipvsadm' });
async function refusal(...args: string[]): Promise<{ status: number; text: string }> {
  try {
    await parse(...args);
  } catch (e) {
    if (e instanceof CliExit) return { status: e.status, text: e.text };
    throw e;
  }
  throw new Error(`accepted: ${args.join(' ')}`);
}

describe('C parsers', () => {
  it('reads numbers as strtol and atoi do', () => {
    expect(stringToNumber('42', 0, 100)).toBe(42);
    expect(stringToNumber(' +7', 0, 100)).toBe(7);
    expect(stringToNumber('7 ', 0, 100)).toBe(-1);
    expect(stringToNumber('', 0, 100)).toBe(-1);
    expect(stringToNumber('101', 0, 100)).toBe(-1);
    expect(stringToNumber('99999999999999999999', 0, 100)).toBe(-1);
    expect(atoi('64abc')).toBe(64);
    expect(atoi('255.255.255.0')).toBe(255);
    expect(atoi('x')).toBe(0);
  });

  it('reads IPv4 addresses as inet_aton does', () => {
    const t = (s: string) => (inetAton(s) ? inetNtop(inetAton(s)!) : undefined);
    expect(t('10.0.0.1')).toBe('10.0.0.1');
    expect(t('10.1')).toBe('10.0.0.1');
    expect(t('10.1.2')).toBe('10.1.0.2');
    expect(t('167772161')).toBe('10.0.0.1');
    expect(t('0x0a.010.0.1')).toBe('10.8.0.1');
    expect(t('1.2.3.4 ')).toBe('1.2.3.4');
    expect(t('09.1.1.1')).toBeUndefined();
    expect(t('1.2.3.256')).toBeUndefined();
    expect(t('1.2.3.4.5')).toBeUndefined();
    expect(t('a.b')).toBeUndefined();
    expect(t('')).toBeUndefined();
  });

  it('reads addresses as inet_pton does', () => {
    expect(inetPton4('1.2.3.4')).toEqual(Uint8Array.of(1, 2, 3, 4));
    expect(inetPton4('01.2.3.4')).toBeUndefined();
    expect(inetPton4('1.2.3')).toBeUndefined();
    const six = (s: string) => (inetPton6(s) ? inetNtop(inetPton6(s)!) : undefined);
    expect(six('2001:db8::1')).toBe('2001:db8::1');
    expect(six('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(six('::')).toBe('::');
    expect(six('::ffff:1.2.3.4')).toBe('::ffff:1.2.3.4');
    expect(six('1::2::3')).toBeUndefined();
    expect(six('fe80::1%eth0')).toBeUndefined();
    expect(six('12345::1')).toBeUndefined();
    expect(six(':1::')).toBeUndefined();
    expect(six('1:')).toBeUndefined();
    expect(six('1.2.3.4')).toBeUndefined();
  });
});

describe('option scanning (popt)', () => {
  const scan = (...args: string[]) => {
    const s = new Scanner(OPTION_TABLE, args);
    const out: string[] = [];
    for (;;) {
      const r = s.nextOpt();
      if (r.kind === 'end') break;
      if (r.kind === 'error') {
        out.push(`error ${r.bad}: ${r.error}`);
        break;
      }
      out.push(r.arg === null ? r.val : `${r.val}=${r.arg}`);
    }
    let a;
    while ((a = s.getArg()) !== undefined) out.push(`arg ${a}`);
    return out;
  };

  it('clusters short options and takes values from the cluster or the next argument', () => {
    expect(scan('-Ln')).toEqual(['L', 'n']);
    expect(scan('-At10.0.0.1:80')).toEqual(['A', 't=10.0.0.1:80']);
    expect(scan('-At', '10.0.0.1:80')).toEqual(['A', 't=10.0.0.1:80']);
    expect(scan('-t=1.2.3.4:80')).toEqual(['t=1.2.3.4:80']);
    expect(scan('-s', '-x')).toEqual(['s=-x']);
  });

  it('takes an optional value only when it does not look like an option', () => {
    expect(scan('-p', '60')).toEqual(['p=60']);
    expect(scan('-p60')).toEqual(['p=60']);
    expect(scan('-p', '-s', 'rr')).toEqual(['p', 's=rr']);
    expect(scan('-p')).toEqual(['p']);
    expect(scan('--persistent=5')).toEqual(['p=5']);
    expect(scan('--persistent', '5')).toEqual(['p=5']);
  });

  it('handles long options, leftovers, "--" and errors', () => {
    expect(scan('--list', '--numeric')).toEqual(['L', 'n']);
    expect(scan('--tcp-service=1.2.3.4:80', '--scheduler', 'rr')).toEqual(['t=1.2.3.4:80', 's=rr']);
    expect(scan('--set', '1', '2', '3')).toEqual(['set', 'arg 1', 'arg 2', 'arg 3']);
    expect(scan('-L', '--', '-n')).toEqual(['L', 'arg -n']);
    expect(scan('-L', '-')).toEqual(['L', 'arg -']);
    expect(scan('-Lq')).toEqual(['L', 'error -Lq: unknown option']);
    expect(scan('--lis')).toEqual(['error --lis: unknown option']);
    expect(scan('-list')).toEqual(['l', 'i', 's=t']);
    expect(scan('--numeric=1')).toEqual(['error --numeric=1: option does not take an argument']);
    expect(scan('-L=')).toEqual(['error -L=: option does not take an argument']);
    expect(scan('-A', '-t')).toEqual(['A', 'error -t: missing argument']);
  });
});

describe('ipvsadm command lines', () => {
  it('fills a service as ipvsadm does', async () => {
    const c = await parse('-A', '-t', '10.0.0.1:http', '-s', 'rr', '-p', '-M', '255.255.0.0', '-b', 'flag-2');
    expect(c.cmd).toBe('add-service');
    expect(serviceSpec(c.svc)).toEqual({
      protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr', schedulerFlags: ['flag-2'], persistent: 360, netmask: '255.255.0.0', onePacket: false, pe: '',
    });
    const f = await parse('-E', '-f', '9', '-6', '-M', '64', '--pe', 'sip', '-p', '10');
    expect(serviceSpec(f.svc)).toMatchObject({ fwmark: 9, family: 'inet6', scheduler: 'wlc', netmask: 64, persistent: 10, pe: 'sip' });
    // Order matters: an IPv6 -t after -M resets the mask.
    expect((await parse('-A', '-M', '64', '-t', '[::1]:80')).svc.netmask).toBe(128);
    // "[v4]:port" loses its port in ipvsadm.
    expect(await refusal('-A', '-t', '[1.2.3.4]:80')).toEqual({ status: 2, text: 'Zero port specified for non-persistent service\n' });
  });

  it('fills a real server as ipvsadm does (DR and tunnels take the service port)', async () => {
    const dr = await parse('-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2:8080');
    expect(destSpec(dr.dest)).toEqual({ address: '10.0.0.2', port: 80, forwarding: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 });
    const nat = await parse('-e', '-t', '10.0.0.1:80', '-r', '10.0.0.2:8080', '-m', '-w', '0', '-x', '9', '-y', '3');
    expect(destSpec(nat.dest)).toEqual({ address: '10.0.0.2', port: 8080, forwarding: 'masq', weight: 0, upperThreshold: 9, lowerThreshold: 3 });
    const gue = await parse('-a', '-t', '10.0.0.1:80', '-r', '2001:db8::2', '-i', '--tun-type', 'gue', '--tun-port', '6080', '--tun-csum');
    expect(destSpec(gue.dest)).toEqual({
      address: '2001:db8::2', port: 80, forwarding: 'tunnel', weight: 1, upperThreshold: 0, lowerThreshold: 0, tunnel: { type: 'gue', port: 6080, checksum: 'csum' },
    });
  });

  it('sets listing formats', async () => {
    const c = await parse('-L', '-n', '--stats', '--exact', '--nosort');
    expect(c.format).toBe(Fmt.NUMERIC | Fmt.STATS | Fmt.EXACT | Fmt.NOSORT);
    expect(c.options.has(OPT.stats)).toBe(true);
    expect((await parse('-S')).format).toBe(Fmt.RULE);
    expect((await parse('--netns', 'blue', '-Ln')).netns).toBe('blue');
    expect((await parse('-Ln', '--json')).options.has(OPT.json)).toBe(true);
  });

  it('refuses with ipvsadm messages and statuses', async () => {
    const cases: Array<[string[], number, string]> = [
      [['-n', '-L'], 255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n"],
      [[], 255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n"],
      [['-L', '-A'], 2, "invalid option `-A'\n"],
      [['-L', '-c', '-t', '1.2.3.4:80'], 2, "The option 'service-address' conflicts with the 'connection' option in the 'list' command\n"],
      [['-A', '-t', '1.2.3.4:80', '-6'], 2, '-6 used before -f\n\n'],
      [['-A', '-u', '1.2.3.4:53', '-b', ','], 0, ''],
      [['-A', '-t', '1.2.3.4:80', '-w', '2'], 2, "Illegal 'weight' option with the 'add-service' command\n"],
      [['-a', '-t', '1.2.3.4:80'], 2, "You need to supply the 'real-server' option for the 'add-server' command\n"],
      [['-a', '-t', '1.2.3.4:80', '-r', '::1'], 2, 'Different address family is allowed only for tunneling servers\n'],
      [['-a', '-t', '1.2.3.4:80', '-r', '1.2.3.5', '-i', '--tun-type', 'gre', '--tun-remcsum'], 2, "Illegal 'tun-remcsum' option with the 'gre' tunnel type\n"],
      [['-a', '-t', '1.2.3.4:80', '-r', '1.2.3.5', '-i', '--tun-type', 'gue'], 2, "You need to supply the 'tun-port' option for the 'gue' tunnel type\n"],
      [['-a', '-t', '1.2.3.4:80', '-r', '1.2.3.5', '--tun-type', 'gue'], 2, 'Tunnel options conflict with forward method\n'],
      [['-a', '-t', '1.2.3.4:80', '-r', '1.2.3.5', '-i', '--tun-type', 'gue', '--tun-port', '9', '--tun-nocsum', '--tun-csum'], 2, "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type\n"],
      [['-a', '-t', '1.2.3.4:80', '-r', '1.2.3.5', '-i', '--tun-port', '9'], 2, "Illegal 'tun-port' option with the 'ipip' tunnel type\n"],
      [['-a', '-t', '1.2.3.4:80', '-r', '1.2.3.5', '-w', 'x'], 2, 'illegal weight specified\n'],
      [['--start-daemon', 'master', '--mcast-port', '0'], 2, 'illegal mcast-port specified\n'],
      [['-Ln', '--stats', '--stats'], 2, "multiple 'stats' options specified\n"],
      [['--start-daemon', 'master', '--mcast-group', '10.0.0.1'], 2, "invalid IPv4 mcast-group `10.0.0.1'\n"],
      [['--set', '1', '2'], 2, '--set option requires 3 timeout values\n'],
      [['--start-daemon', 'x'], 2, 'illegal start-daemon parameter specified\n'],
      [['--stop-daemon', 'x'], 2, 'illegal start_daemon specified\n'],
      [['-A', '-f', '0'], 2, "invalid fwmark value `0' specified\n"],
      [['-A', '-t', '1.2.3.4:80', '-p', '0'], 2, "invalid timeout value `0' specified\n"],
      [['-A', '-t', '1.2.3.4:80', 'x'], 2, 'unexpected argument x\n'],
      [['-Lq'], 255, '-Lq: unknown option\n'],
    ];
    for (const [args, status, text] of cases) {
      if (status === 0) {
        // ipvsadm crashes on an empty flag list; ipvs takes it as no flags.
        expect((await parse(...args)).svc.flags & 0x38).toBe(0);
        continue;
      }
      expect(await refusal(...args), args.join(' ')).toEqual({ status, text });
    }
  });
});

describe('-R input', () => {
  it('tokenizes lines like ipvsadm, with comments', () => {
    expect(tokenize('ipvsadm -A -t 1.2.3.4:80\t-s rr\r')).toEqual(['-A', '-t', '1.2.3.4:80', '-s', 'rr']);
    expect(tokenize('# all comment')).toEqual([]);
    expect(tokenize('-C # flush')).toEqual(['-C']);
  });

  it('reads back the negative marks of ipvsadm saves', async () => {
    const c = await parseRestoreLine('-A -f -1294967296 -6 -s wlc', 'ipvs');
    expect(serviceSpec(c!.svc)).toMatchObject({ fwmark: 3000000000, family: 'inet6' });
    expect(await refusal('-A', '-f', '-1')).toEqual({ status: 2, text: "invalid fwmark value `-1' specified\n" });
  });

  it('reports every bad line and applies nothing', async () => {
    const lines = await checkRestore('-A -t 1.2.3.4:80\n\n-a -t 1.2.3.4:80 -r 1.2.3.5 -m # a comment\n', 'ipvs');
    expect(lines).toEqual([{ line: 1, text: '-A -t 1.2.3.4:80' }, { line: 3, text: '-a -t 1.2.3.4:80 -r 1.2.3.5 -m # a comment' }]);
    expect((await parseRestoreLine(lines[1]!.text, 'ipvs'))!.cmd).toBe('add-server');
    expect(await parseRestoreLine('  # only a comment', 'ipvs')).toBeUndefined();
    await expect(checkRestore('-A -t 1.2.3.4:80\n-A -x\n-L -A\n', 'ipvs')).rejects.toMatchObject({
      status: 255,
      text: 'ipvs: line 2: -x: missing argument: -A -x\nipvs: line 3: invalid option `-A\': -L -A\nipvs: nothing was applied (2 bad lines)\n',
    });
  });
});
