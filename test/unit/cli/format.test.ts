// ipvsadm's listing formats, golden text, without a kernel.
import { describe, expect, it } from 'vitest';
import { formatConnTable, parseConnTable } from '../../../src/cli/conn.js';
import { Fmt } from '../../../src/cli/options.js';
import { daemonLines, header, largenum, serviceEntry, timeoutsLine, title } from '../../../src/cli/format.js';
import { destRow, svcRow } from '../../../src/cli/rows.js';
import { cmpServices, msort } from '../../../src/cli/sort.js';
import type { Destination, Service, Stats } from '../../../src/ipvs/types.js';

const zero: Stats = {
  connections: 0n, packetsIn: 0n, packetsOut: 0n, bytesIn: 0n, bytesOut: 0n, cps: 0n, packetsInPerSecond: 0n, packetsOutPerSecond: 0n, bytesInPerSecond: 0n, bytesOutPerSecond: 0n,
};
const svc = (s: Partial<Service>): Service => ({
  family: 'inet', scheduler: 'wlc', schedulerFlags: [], netmask: '255.255.255.255', onePacket: false, flags: 2, timeout: 0, stats: zero, ...s,
});
const dest = (d: Partial<Destination>): Destination => ({
  family: 'inet', address: '10.0.0.2', port: 80, forwarding: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0,
  activeConnections: 0, inactiveConnections: 0, persistentConnections: 0, stats: zero, ...d,
});
const N = new Map<string, string>();
const entry = (s: Service, ds: Destination[], format: number) => serviceEntry(svcRow(s), ds.map(destRow), format, N);

const web = svc({ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'wrr', flags: 3, persistent: 60, timeout: 60, netmask: '255.255.255.0' });
const webDests = [
  dest({ weight: 3, activeConnections: 12, inactiveConnections: 4, persistentConnections: 2, upperThreshold: 100, lowerThreshold: 10 }),
  dest({ address: '10.0.0.3', port: 8080, forwarding: 'masq', stats: { ...zero, connections: 123456789n, packetsIn: 99999999n, bytesIn: 123456789012345n, bytesOut: 5000000000000000n, cps: 12n, bytesInPerSecond: 1000000000n } }),
  dest({ address: '10.0.0.4', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'remcsum' } }),
  dest({ address: '10.0.0.5', forwarding: 'tunnel', tunnel: { type: 'gre', checksum: 'csum' } }),
  dest({ address: '10.0.0.6', forwarding: 'tunnel', tunnel: { type: 'ipip', checksum: 'none' } }),
];

describe('listing formats', () => {
  it('prints the default listing', () => {
    expect(header({ version: '1.2.1', versionCode: 0x10201, connectionTableSize: 4096 }) + title(Fmt.NUMERIC) + entry(web, webDests, Fmt.NUMERIC)).toBe(
      'IP Virtual Server version 1.2.1 (size=4096)\n' +
        'Prot LocalAddress:Port Scheduler Flags\n' +
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
        'TCP  10.0.0.1:80 wrr persistent 60 mask 255.255.255.0\n' +
        '  -> 10.0.0.2:80                  Route   3      12         4         \n' +
        '  -> 10.0.0.3:8080                Masq    1      0          0         \n' +
        '  -> 10.0.0.4:80                  Tunnel  1      0          0         \n' +
        '  -> 10.0.0.5:80                  Tunnel  1      0          0         \n' +
        '  -> 10.0.0.6:80                  Tunnel  1      0          0         \n',
    );
  });

  it('prints --stats, --rate, --exact', () => {
    const ds = webDests.slice(0, 2);
    expect(title(Fmt.STATS) + entry(web, ds, Fmt.NUMERIC | Fmt.STATS)).toBe(
      'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n' +
        '  -> RemoteAddress:Port\n' +
        'TCP  10.0.0.1:80                         0        0        0        0        0\n' +
        '  -> 10.0.0.2:80                         0        0        0        0        0\n' +
        '  -> 10.0.0.3:8080                 123456K 99999999        0     123T    5000T\n',
    );
    expect(entry(web, ds, Fmt.NUMERIC | Fmt.STATS | Fmt.EXACT).split('\n')[2]).toBe(
      '  -> 10.0.0.3:8080                123456789 99999999        0 123456789012345 5000000000000000',
    );
    expect(title(Fmt.RATE) + entry(web, ds, Fmt.NUMERIC | Fmt.RATE)).toBe(
      'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n' +
        '  -> RemoteAddress:Port\n' +
        'TCP  10.0.0.1:80                         0        0        0        0        0\n' +
        '  -> 10.0.0.2:80                         0        0        0        0        0\n' +
        '  -> 10.0.0.3:8080                      12        0        0    1000M        0\n',
    );
  });

  it('prints --thresholds, --persistent-conn and --tun-info', () => {
    const ds = webDests.slice(0, 1);
    expect(title(Fmt.THRESHOLDS) + entry(web, ds, Fmt.NUMERIC | Fmt.THRESHOLDS)).toBe(
      'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n' +
        '  -> RemoteAddress:Port\n' +
        'TCP  10.0.0.1:80 wrr persistent 60 mask 255.255.255.0\n' +
        '  -> 10.0.0.2:80                  100        10         12         4         \n',
    );
    expect(title(Fmt.PERSISTENTCONN) + entry(web, ds, Fmt.NUMERIC | Fmt.PERSISTENTCONN)).toBe(
      'Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n' +
        '  -> RemoteAddress:Port\n' +
        'TCP  10.0.0.1:80 wrr persistent 60 mask 255.255.255.0\n' +
        '  -> 10.0.0.2:80                  3         2           12         4         \n',
    );
    expect(entry(web, webDests, Fmt.NUMERIC | Fmt.TUN_INFO).split('\n').slice(1, 6)).toEqual([
      '  -> 10.0.0.2:80                  Route   n/a           3      12         4         ',
      '  -> 10.0.0.3:8080                Masq    n/a           1      0          0         ',
      '  -> 10.0.0.4:80                  Tunnel  gue:6080:r+c  1      0          0         ',
      '  -> 10.0.0.5:80                  Tunnel  gre:+c        1      0          0         ',
      '  -> 10.0.0.6:80                  Tunnel  ipip          1      0          0         ',
    ]);
  });

  it('prints the save format', () => {
    expect(entry(web, webDests, Fmt.NUMERIC | Fmt.RULE)).toBe(
      '-A -t 10.0.0.1:80 -s wrr -p 60 -M 255.255.255.0\n' +
        '-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 3\n' +
        '-a -t 10.0.0.1:80 -r 10.0.0.3:8080 -m -w 1\n' +
        '-a -t 10.0.0.1:80 -r 10.0.0.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum\n' +
        '-a -t 10.0.0.1:80 -r 10.0.0.5:80 -i -w 1 --tun-type gre --tun-csum\n' +
        '-a -t 10.0.0.1:80 -r 10.0.0.6:80 -i -w 1 --tun-type ipip\n',
    );
    const sip = svc({ protocol: 'udp', address: '2001:db8::1', family: 'inet6', port: 5060, scheduler: 'sh', flags: 0x1f, persistent: 360, timeout: 360, netmask: 64, pe: 'sip', onePacket: true });
    expect(entry(sip, [], Fmt.NUMERIC | Fmt.RULE)).toBe('-A -u [2001:db8::1]:5060 -s sh -p 360 -M 64 --pe sip -o -b sh-fallback,sh-port\n');
    expect(entry(sip, [], Fmt.NUMERIC)).toBe('UDP  [2001:db8::1]:5060 sh (sh-fallback,sh-port) persistent 360 mask 64 pe sip ops\n');
    const mark = svc({ fwmark: 4294967295, family: 'inet6', netmask: 128, scheduler: 'rr', flags: 0x22 });
    expect(entry(mark, [], Fmt.RULE)).toBe('-A -f 4294967295 -6 -s rr -b flag-3\n');
    expect(entry(mark, [], 0)).toBe('FWM  4294967295 IPv6 rr (flag-3)\n');
  });

  it('prints names unless -n, cut where ipvsadm cuts them', () => {
    const names = new Map([['10.0.0.1', 'a-very-long-host-name.example.org'], ['10.0.0.2', 'localhost']]);
    const out = serviceEntry(svcRow(web), [destRow(webDests[0]!)], 0, names);
    expect(out).toBe('TCP  a-very-long-host-name.exampl wrr persistent 60 mask 255.255.255.0\n  -> localhost:http               Route   3      12         4         \n');
  });

  it('rounds large numbers as print_largenum does', () => {
    expect(largenum(99999999n, 0)).toBe(' 99999999');
    expect(largenum(100000000n, 0)).toBe('  100000K');
    expect(largenum(999999999999n, 0)).toBe('     999G');
    expect(largenum(123n, Fmt.EXACT)).toBe('      123');
    expect(largenum(1234567890n, Fmt.EXACT)).toBe(' 1234567890');
  });

  it('prints timeouts and daemons', () => {
    expect(timeoutsLine({ tcp: 900, tcpFin: 120, udp: 300 })).toBe('Timeout (tcp tcpfin udp): 900 120 300\n');
    expect(daemonLines([
      { state: 'master', interface: 'eth0', syncId: 5, syncMaxLen: 1472, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1 },
      { state: 'backup', interface: 'lo', syncId: 0 },
    ])).toBe('master sync daemon (mcast=eth0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\nbackup sync daemon (mcast=lo, syncid=0)\n');
  });

  it('sorts services with ipvsadm wrapping comparator', () => {
    const rows = ['200.0.0.1', '10.0.0.1', '1.2.3.4'].map((a) => svcRow(svc({ protocol: 'tcp', address: a, port: 80 })));
    // 200.0.0.1 - 1.2.3.4 wraps negative: 200/8 sorts before 1/8.
    expect(msort(rows, cmpServices).map((r) => r.service.address)).toEqual(['200.0.0.1', '1.2.3.4', '10.0.0.1']);
  });
});

describe('connection listing', () => {
  const table =
    'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n' +
    'TCP 0A000001 A2F0 0A000001 1F90 0A0000FE 1F90 TIME_WAIT       119\n' +
    'UDP 2001:0db8:0000:0000:0000:0000:0000:0009 0035 2001:0db8:0000:0000:0000:0000:0000:0001 0035 2001:0db8:0000:0000:0000:0000:0000:0002 0035 UDP             299\n' +
    'UDP 0A000009 13C4 0A000001 13C4 0A000002 13C4 UDP            3661 sip abc123\n';

  it('prints -c as ipvsadm does', async () => {
    expect(await formatConnTable(table, Fmt.NUMERIC)).toBe(
      'IPVS connection entries\n' +
        'pro expire state       source             virtual            destination\n' +
        'TCP 01:59  TIME_WAIT   10.0.0.1:41712     10.0.0.1:8080      10.0.0.254:8080\n' +
        'UDP 04:59  UDP         [2001:db8::9]:53   [2001:db8::1]:53   [2001:db8::2]:53\n' +
        'UDP 61:01  UDP         10.0.0.9:5060      10.0.0.1:5060      10.0.0.2:5060\n',
    );
    expect((await formatConnTable(table, Fmt.NUMERIC | Fmt.PERSISTENTCONN)).split('\n').slice(1, 5)).toEqual([
      'pro expire state       source             virtual            destination        pe name          pe_data',
      'TCP 01:59  TIME_WAIT   10.0.0.1:41712     10.0.0.1:8080      10.0.0.254:8080',
      'UDP 04:59  UDP         [2001:db8::9]:53   [2001:db8::1]:53   [2001:db8::2]:53',
      'UDP 61:01  UDP         10.0.0.9:5060      10.0.0.1:5060      10.0.0.2:5060    sip                abc123',
    ]);
    expect(parseConnTable(table)[2]).toEqual({
      protocol: 'UDP', client: { address: '10.0.0.9', port: 5060 }, virtual: { address: '10.0.0.1', port: 5060 },
      destination: { address: '10.0.0.2', port: 5060 }, state: 'UDP', expires: 3661, pe: 'sip', peData: 'abc123',
    });
  });
});
