// Decoding IPVS replies (src/ipvs/scan.ts and codec.ts): what the Linux 6.1 kernel sent
// ipvsadm, checked against what ipvsadm printed from the same bytes; then
// golden replies built by hand for what that kernel does not send (32-bit
// stats only, no address family, counters past 2^53) and for bad replies.
import { describe, expect, it } from 'vitest';
import { decodeGenl } from '../../src/genetlink/genl.js';
import { decodeDaemon, decodeInfo, decodeTimeouts, schedulerFlagNames } from '../../src/ipvs/codec.js';
import { destinationOf, serviceOf } from './support/scanned.js';
import type { Destination, Service, Stats } from '../../src/ipvs/types.js';
import { AttributeDecoder } from '../../src/netlink/attributes.js';
import { NLMSG_DONE, NLMSG_ERROR } from '../../src/netlink/constants.js';
import { type NetlinkMessage, parseMessages } from '../../src/netlink/message.js';
import { type Fixture, ipvsFamilyId, loadFixture } from './support/fixtures.js';
import { type Bytes, type Node, be16, be32, hex, in4, knest, nla, str, tree, u16, u32, u64, u8 } from './support/wire.js';
import { decodeError } from './support/errors.js';

// ---- reading the fixtures -------------------------------------------------

interface Exchange {
  request: Uint8Array;
  /** The IPVS replies (not acks, not NLMSG_DONE). */
  replies: NetlinkMessage[];
}

/** Requests in order, each with the replies read after it. */
function exchanges(f: Fixture): Exchange[] {
  const out: Exchange[] = [];
  for (const d of f.datagrams) {
    if (d.dir === 'send') out.push({ request: d.bytes, replies: [] });
    else out.at(-1)!.replies.push(...parseMessages(d.bytes).filter((m) => m.type !== NLMSG_ERROR && m.type !== NLMSG_DONE));
  }
  return out;
}

const attrs = (m: NetlinkMessage | Uint8Array) => decodeGenl(m instanceof Uint8Array ? parseMessages(m)[0]! : m, 'reply').attrs;
/** The attributes of a message (its generic netlink payload after the 4-byte header). */
const attrBytes = (m: NetlinkMessage | Uint8Array) => (m instanceof Uint8Array ? parseMessages(m)[0]! : m).payload.subarray(4);
const cmdOf = (request: Uint8Array) => request[16];

/** Services and their destinations from an ipvsadm listing capture. */
function listing(f: Fixture): Array<{ service: Service; destinations: Destination[] }> {
  const out: Array<{ service: Service; destinations: Destination[] }> = [];
  for (const x of exchanges(f)) {
    if (cmdOf(x.request) === 4) for (const m of x.replies) out.push({ service: serviceOf(attrBytes(m)), destinations: [] });
    if (cmdOf(x.request) === 8) {
      // ipvsadm asks for each service's real servers in turn; find it by key.
      const key = serviceOf(attrBytes(x.request));
      const entry = out.find(({ service: s }) => s.family === key.family && s.address === key.address && s.port === key.port && s.fwmark === key.fwmark)!;
      entry.destinations.push(...x.replies.map((m) => destinationOf(attrBytes(m), entry.service.family)));
    }
  }
  return out;
}

// How ipvsadm -Ln names things (ipvsadm.c print_service_entry).
const hostPort = (family: string, address: string, port: number) => (family === 'inet6' ? `[${address}]:${port}` : `${address}:${port}`);
const serviceName = (s: Service) =>
  s.fwmark !== undefined ? `FWM ${s.fwmark}${s.family === 'inet6' ? ' IPv6' : ''}` : `${s.protocol!.toUpperCase()} ${hostPort(s.family, s.address!, s.port!)}`;
function serviceLine(s: Service): string {
  let line = `${serviceName(s)} ${s.scheduler}`;
  if (s.schedulerFlags.length) line += ` (${s.schedulerFlags.join(',')})`;
  if (s.persistent !== undefined) {
    line += ` persistent ${s.persistent}`;
    if (s.netmask !== '255.255.255.255' && s.netmask !== 128) line += ` mask ${s.netmask}`;
    if (s.pe) line += ` pe ${s.pe}`;
  }
  if (s.onePacket) line += ' ops';
  return line;
}
const FORWARD: Record<string, string> = { masq: 'Masq', local: 'Local', tunnel: 'Tunnel', route: 'Route', bypass: 'Bypass' };
const destLine = (d: Destination) =>
  `-> ${hostPort(d.family, d.address, d.port)} ${FORWARD[d.forwarding]} ${d.weight} ${d.activeConnections} ${d.inactiveConnections}`;

/** ipvsadm's printed lines, whitespace collapsed, without the header lines. */
const printedBody = (f: Fixture) =>
  f.printed.map((l) => l.trim().replace(/\s+/g, ' ')).filter((l) => !/^(IP Virtual Server|Prot |-> RemoteAddress)/.test(l));

const zero: Stats = {
  connections: 0n, packetsIn: 0n, packetsOut: 0n, bytesIn: 0n, bytesOut: 0n,
  cps: 0n, packetsInPerSecond: 0n, packetsOutPerSecond: 0n, bytesInPerSecond: 0n, bytesOutPerSecond: 0n,
};
const counters = (s: Stats) => [s.connections, s.packetsIn, s.packetsOut, s.bytesIn, s.bytesOut].map(String);
const rates = (s: Stats) => [s.cps, s.packetsInPerSecond, s.packetsOutPerSecond, s.bytesInPerSecond, s.bytesOutPerSecond].map(String);

// Which attributes of an IPVS reply are nests (the kernel does not flag them).
const ipvsNests = (path: number[]) =>
  (path.length === 1 && path[0]! <= 3) || (path.length === 2 && (path[0] === 1 || path[0] === 2) && (path[1] === 10 || path[1] === 12));

/** Rebuilds attributes from a tree, leaving out what `drop` says. */
function rebuild(nodes: Node[], drop: (path: number[]) => boolean, path: number[] = []): Bytes {
  return nodes.flatMap((n) => {
    const p = [...path, n.type];
    if (drop(p)) return [];
    return n.children ? knest(n.type, rebuild(n.children, drop, p)) : nla(n.type, n.payload!);
  });
}

// ---- the kernel's replies ------------------------------------------------

describe('replies the kernel sent ipvsadm', () => {
  it('services and real servers read as ipvsadm -Ln printed them', () => {
    const f = loadFixture('list');
    const ours: string[] = [];
    for (const { service, destinations } of listing(f)) {
      ours.push(serviceLine(service), ...destinations.map(destLine).sort());
    }
    const theirs: string[] = [];
    // Group ipvsadm's lines the same way: service, then its sorted real servers.
    for (const l of printedBody(f)) {
      if (l.startsWith('->')) theirs.push(l);
      else theirs.push(`\n${l}`);
    }
    const blocks = (lines: string[]) =>
      lines.join('\n').split('\n\n').filter(Boolean).map((b) => {
        const [head, ...rest] = b.replace(/^\n/, '').split('\n');
        return [head, ...rest.sort()].join('\n');
      }).sort();
    expect(ours.length).toBe(theirs.length);
    expect(blocks(ours.map((l) => (l.startsWith('->') ? l : `\n${l}`)))).toEqual(blocks(theirs));
  });

  it('every field of the services, including the kernel-only hashed flag', () => {
    const byName = new Map(listing(loadFixture('list')).map(({ service }) => [serviceName(service), service]));
    expect(byName.get('TCP 10.0.0.1:80')).toEqual({
      family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'wrr', schedulerFlags: [], netmask: '255.255.0.0',
      onePacket: false, flags: 0x1 | 0x2, timeout: 120, persistent: 120, stats: byName.get('TCP 10.0.0.1:80')!.stats,
    });
    expect(byName.get('UDP [2001:db8::1]:53')).toMatchObject({ family: 'inet6', scheduler: 'sh', schedulerFlags: ['sh-fallback', 'sh-port'], netmask: 64, flags: 0x1b });
    expect(byName.get('UDP 10.0.0.2:5060')).toMatchObject({ pe: 'sip', persistent: 60, flags: 0x3 });
    expect(byName.get('UDP 10.0.0.5:53')).toMatchObject({ onePacket: true, flags: 0x6, netmask: '255.255.255.255' });
    expect(byName.get('SCTP 10.0.0.3:3868')).toMatchObject({ protocol: 'sctp', scheduler: 'lc', stats: zero });
    expect(byName.get('FWM 7')).toMatchObject({ family: 'inet', fwmark: 7, persistent: 360, netmask: '255.255.255.0' });
    expect(byName.get('FWM 8 IPv6')).toMatchObject({ family: 'inet6', fwmark: 8, schedulerFlags: ['mh-port'], netmask: 128 });
    expect(byName.get('FWM 8 IPv6')).not.toHaveProperty('address');
    expect(byName.get('FWM 8 IPv6')).not.toHaveProperty('protocol');
    // Key fields first, so printed objects read naturally.
    expect(Object.keys(byName.get('FWM 7')!).slice(0, 2)).toEqual(['family', 'fwmark']);
    expect(Object.keys(byName.get('TCP 10.0.0.1:80')!).slice(0, 4)).toEqual(['family', 'protocol', 'address', 'port']);
  });

  it('counters as ipvsadm -Ln --exact --stats printed them, from the 64-bit stats', () => {
    const f = loadFixture('list-dests-tcp4');
    const x = exchanges(f);
    const service = serviceOf(attrBytes(x.find((e) => cmdOf(e.request) === 4)!.replies[0]!));
    const dests = x.find((e) => cmdOf(e.request) === 8)!.replies.map((m) => destinationOf(attrBytes(m), 'inet'));
    const lines = printedBody(f).map((l) => l.split(' '));
    expect(lines[0]).toEqual(['TCP', '10.0.0.1:80', ...counters(service.stats)]);
    expect(service.stats.connections).toBe(3n); // three connections went through in capture.sh
    for (const d of dests) {
      expect(lines).toContainEqual(['->', hostPort(d.family, d.address, d.port), ...counters(d.stats)]);
    }
    expect(dests.find((d) => d.forwarding === 'masq')!.stats.connections).toBe(3n);
  });

  it('rates as ipvsadm -Ln --rate printed them', () => {
    const f = loadFixture('list-rates-tcp4');
    const x = exchanges(f);
    const service = serviceOf(attrBytes(x.find((e) => cmdOf(e.request) === 4)!.replies[0]!));
    const dests = x.find((e) => cmdOf(e.request) === 8)!.replies.map((m) => destinationOf(attrBytes(m), 'inet'));
    const lines = printedBody(f).map((l) => l.split(' '));
    expect(lines[0]).toEqual(['TCP', '10.0.0.1:80', ...rates(service.stats)]);
    for (const d of dests) expect(lines).toContainEqual(['->', hostPort(d.family, d.address, d.port), ...rates(d.stats)]);
  });

  it('real servers: forwarding, thresholds, connections, tunnel settings, mixed family', () => {
    const x = exchanges(loadFixture('list-dests-tcp4'));
    const dests = x.find((e) => cmdOf(e.request) === 8)!.replies.map((m) => destinationOf(attrBytes(m), 'inet'));
    const by = new Map(dests.map((d) => [d.address, d]));
    expect(by.get('10.1.0.2')).toEqual({
      family: 'inet', address: '10.1.0.2', port: 8080, forwarding: 'masq', weight: 2, upperThreshold: 100, lowerThreshold: 10,
      // The connections are over (inactive), and persistence left a template.
      activeConnections: 0, inactiveConnections: 3, persistentConnections: 1, stats: by.get('10.1.0.2')!.stats,
    });
    // The kernel reports tunnel attributes for every real server; only tunnels get `tunnel`.
    expect(by.get('10.1.0.2')).not.toHaveProperty('tunnel');
    expect(by.get('10.0.0.3')).toMatchObject({ forwarding: 'tunnel', weight: 0, tunnel: { type: 'gue', port: 6081, checksum: 'csum' } });
    expect(by.get('10.0.0.4')).toMatchObject({ forwarding: 'tunnel', weight: 3, tunnel: { type: 'gre', port: 0, checksum: 'csum' } });
    expect(by.get('2001:db8::20')).toMatchObject({ family: 'inet6', port: 80, forwarding: 'tunnel', tunnel: { type: 'ipip', port: 0, checksum: 'none' } });
  });

  it('an IPv6 service and real server', () => {
    const x = exchanges(loadFixture('list-dests-udp6'));
    const service = serviceOf(attrBytes(x.find((e) => cmdOf(e.request) === 4)!.replies[0]!));
    expect(serviceLine(service)).toBe('UDP [2001:db8::1]:53 sh (sh-fallback,sh-port) persistent 600 mask 64');
    const [dest] = x.find((e) => cmdOf(e.request) === 8)!.replies.map((m) => destinationOf(attrBytes(m), service.family));
    expect(dest).toMatchObject({ family: 'inet6', address: '2001:db8::10', port: 53, forwarding: 'route', weight: 5 });
  });

  it('falls back to the 32-bit stats when STATS64 is missing (kernels before 4.1), same values', () => {
    const x = exchanges(loadFixture('list-dests-tcp4'));
    const serviceMsg = x.find((e) => cmdOf(e.request) === 4)!.replies[0]!;
    const destMsgs = x.find((e) => cmdOf(e.request) === 8)!.replies;
    for (const [m, top] of [[serviceMsg, 1], ...destMsgs.map((d) => [d, 2] as const)] as Array<[NetlinkMessage, number]>) {
      const nodes = tree(m.payload.subarray(4), ipvsNests);
      const without64 = Uint8Array.from(rebuild(nodes, (p) => p.length === 2 && p[0] === top && p[1] === 12));
      expect(new AttributeDecoder(without64).nested(top)!.has(12)).toBe(false);
      const full = m.payload.subarray(4);
      const a = top === 1 ? serviceOf(full).stats : destinationOf(full, 'inet').stats;
      const b = top === 1 ? serviceOf(without64).stats : destinationOf(without64, 'inet').stats;
      expect(b).toEqual(a);
    }
  });

  it('info, timeouts and sync daemons as ipvsadm printed them', () => {
    const info = loadFixture('info');
    const infoReply = exchanges(info).find((e) => cmdOf(e.request) === 15)!.replies[0]!;
    const i = decodeInfo(attrs(infoReply));
    expect(i).toEqual({ version: '1.2.1', versionCode: 0x010201, connectionTableSize: 4096 });
    expect(loadFixture('list').printed[0]).toBe(`IP Virtual Server version ${i.version} (size=${i.connectionTableSize})`);

    const t = loadFixture('timeouts-get');
    const tm = decodeTimeouts(attrs(exchanges(t).find((e) => cmdOf(e.request) === 13)!.replies[0]!));
    expect(tm).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    expect(t.printed).toContain(`Timeout (tcp tcpfin udp): ${tm.tcp} ${tm.tcpFin} ${tm.udp}`);

    const d = loadFixture('daemon-list');
    const daemons = exchanges(d).find((e) => cmdOf(e.request) === 11)!.replies.map((m) => decodeDaemon(attrs(m)));
    expect(daemons).toEqual([
      { state: 'master', interface: 'veth0', syncId: 5, syncMaxLen: 1400, mcastGroup: '239.1.2.3', mcastPort: 8849, mcastTtl: 2 },
      { state: 'backup', interface: 'veth0', syncId: 6, syncMaxLen: 1452, mcastGroup: 'ff15::81', mcastPort: 8848, mcastTtl: 1 },
    ]);
    expect(d.printed).toEqual(daemons.map((x) =>
      `${x.state} sync daemon (mcast=${x.interface}, syncid=${x.syncId}, maxlen=${x.syncMaxLen}, group=${x.mcastGroup}, port=${x.mcastPort}, ttl=${x.mcastTtl})`));
  });

  it('the library socket reads the same info reply', () => {
    const f = loadFixture('library-get-info');
    const m = parseMessages(f.datagrams[1]!.bytes)[0]!;
    expect(m.type).toBe(ipvsFamilyId(f));
    expect(decodeInfo(attrs(m)).version).toBe('1.2.1');
  });
});

// ---- golden replies built by hand ------------------------------------------

const svcReply = (...children: Bytes[]): Uint8Array => Uint8Array.from(knest(1, ...children));
const destReply = (...children: Bytes[]): Uint8Array => Uint8Array.from(knest(2, ...children));
const ipvsFlags = (f: number) => [...u32(f), ...u32(0xffffffff)];
const tcpService = [nla(1, u16(2)), nla(2, u16(6)), nla(3, in4(192, 168, 1, 1)), nla(4, be16(443)), nla(6, str('wlc')), nla(7, ipvsFlags(2)), nla(8, u32(0)), nla(9, be32(0xffffffff))];

describe('golden replies', () => {
  it('a service reply, field by field', () => {
    const golden = hex(`
      78 00 01 00                  # IPVS_CMD_ATTR_SERVICE (the kernel sets no NLA_F_NESTED), nla_len 120
        06 00 01 00 02 00 00 00    # AF_INET
        06 00 02 00 11 00 00 00    # IPPROTO_UDP
        14 00 03 00 c0 a8 01 01 00 00 00 00 00 00 00 00 00 00 00 00   # 192.168.1.1
        06 00 04 00 00 35 00 00    # port be16 53
        07 00 06 00 72 72 00 00    # "rr"
        0c 00 07 00 07 00 00 00 ff ff ff ff   # flags PERSISTENT|HASHED|ONEPACKET, mask
        08 00 08 00 2c 01 00 00    # timeout 300
        08 00 09 00 ff ff ff 00    # netmask 255.255.255.0
        08 00 0b 00 73 69 70 00    # pe "sip"
        1c 00 0c 00                # STATS64
          0c 00 01 00 05 00 00 00 00 00 00 00   # conns 5
          0c 00 04 00 00 00 00 00 01 00 00 00   # inbytes 2^32`);
    expect(golden).toEqual(knest(1, nla(1, u16(2)), nla(2, u16(17)), nla(3, in4(192, 168, 1, 1)), nla(4, be16(53)), nla(6, str('rr')),
      nla(7, ipvsFlags(7)), nla(8, u32(300)), nla(9, be32(0xffffff00)), nla(11, str('sip')), knest(12, nla(1, u64(5n)), nla(4, u64(1n << 32n)))));
    expect(serviceOf(golden)).toEqual({
      family: 'inet', protocol: 'udp', address: '192.168.1.1', port: 53, scheduler: 'rr', schedulerFlags: [], netmask: '255.255.255.0',
      onePacket: true, flags: 7, timeout: 300, persistent: 300, pe: 'sip', stats: { ...zero, connections: 5n, bytesIn: 1n << 32n },
    });
  });

  it('64-bit counters stay exact past 2^53', () => {
    const big = (1n << 64n) - 1n;
    const odd = (1n << 53n) + 1n;
    const s = serviceOf(svcReply(...tcpService, knest(12, nla(1, u64(big)), nla(5, u64(odd)), nla(11, []), nla(10, u64(7n)))));
    expect(s.stats).toEqual({ ...zero, connections: big, bytesOut: odd, bytesOutPerSecond: 7n });
  });

  it('32-bit stats: u32 counters and rates, u64 byte counters', () => {
    const s = serviceOf(svcReply(...tcpService, knest(10,
      nla(1, u32(0xffffffff)), nla(2, u32(2)), nla(3, u32(3)), nla(4, u64(1n << 40n)), nla(5, u64(5n)),
      nla(6, u32(6)), nla(7, u32(7)), nla(8, u32(8)), nla(9, u32(9)), nla(10, u32(10)))));
    expect(s.stats).toEqual({
      connections: 0xffffffffn, packetsIn: 2n, packetsOut: 3n, bytesIn: 1n << 40n, bytesOut: 5n,
      cps: 6n, packetsInPerSecond: 7n, packetsOutPerSecond: 8n, bytesInPerSecond: 9n, bytesOutPerSecond: 10n,
    });
  });

  it('prefers STATS64 over STATS; no stats at all reads as zeros', () => {
    const both = svcReply(...tcpService, knest(10, nla(1, u32(1))), knest(12, nla(1, u64(2n))));
    expect(serviceOf(both).stats.connections).toBe(2n);
    expect(serviceOf(svcReply(...tcpService)).stats).toEqual(zero);
  });

  it('an IPv6 service: 16-byte address, prefix-length netmask in host order', () => {
    const v6 = [0x20, 0x01, 0x0d, 0xb8, ...Array(10).fill(0), 0xff, 0xfe];
    const s = serviceOf(svcReply(nla(1, u16(10)), nla(2, u16(132)), nla(3, v6), nla(4, be16(9)), nla(6, str('mh')),
      nla(7, ipvsFlags(0x2 | 0x8 | 0x10)), nla(8, u32(0)), nla(9, u32(48))));
    expect(s).toMatchObject({ family: 'inet6', protocol: 'sctp', address: '2001:db8::fffe', port: 9, netmask: 48, schedulerFlags: ['mh-fallback', 'mh-port'] });
    expect(s.persistent).toBeUndefined();
  });

  it('a firewall-mark service; absent optional attributes take defaults', () => {
    const s = serviceOf(svcReply(nla(1, u16(2)), nla(5, u32(0xfffffffe))));
    expect(s).toEqual({ family: 'inet', fwmark: 0xfffffffe, scheduler: '', schedulerFlags: [], netmask: '255.255.255.255', onePacket: false, flags: 0, timeout: 0, stats: zero });
    expect(serviceOf(svcReply(nla(1, u16(10)), nla(5, u32(1)))).netmask).toBe(128);
  });

  it('scheduler flag names depend on the scheduler', () => {
    expect(schedulerFlagNames('sh', 0x38)).toEqual(['sh-fallback', 'sh-port', 'flag-3']);
    expect(schedulerFlagNames('mh', 0x08)).toEqual(['mh-fallback']);
    expect(schedulerFlagNames('rr', 0x18)).toEqual(['flag-1', 'flag-2']);
    expect(schedulerFlagNames('sh', 0x07)).toEqual([]);
  });

  it('a destination, field by field', () => {
    const golden = knest(2,
      nla(1, in4(10, 1, 0, 9)), nla(2, be16(8080)), nla(3, u32(0x0100 | 4)), // other IP_VS_CONN_F_* bits are ignored: BYPASS
      nla(4, u32(7)), nla(5, u32(1000)), nla(6, u32(500)), nla(7, u32(11)), nla(8, u32(12)), nla(9, u32(13)), nla(11, u16(2)),
      nla(13, u8(1)), nla(14, be16(5555)), nla(15, u16(1)),
      knest(12, nla(2, u64(99n)), nla(3, u64(100n))));
    const d = destinationOf(golden, 'inet');
    expect(d).toEqual({
      family: 'inet', address: '10.1.0.9', port: 8080, forwarding: 'bypass', weight: 7, upperThreshold: 1000, lowerThreshold: 500,
      activeConnections: 11, inactiveConnections: 12, persistentConnections: 13, stats: { ...zero, packetsIn: 99n, packetsOut: 100n },
    });
  });

  it('a destination without DEST_ATTR_ADDR_FAMILY (kernels before 3.18) has its service family', () => {
    const v6 = [0xfe, 0x80, ...Array(13).fill(0), 1];
    const d = destinationOf(destReply(nla(1, v6), nla(2, be16(1)), nla(3, u32(3)), nla(4, u32(1))), 'inet6');
    expect(d).toMatchObject({ family: 'inet6', address: 'fe80::1', forwarding: 'route' });
    const v4 = destinationOf(destReply(nla(1, in4(1, 2, 3, 4)), nla(2, be16(1)), nla(11, u16(0))), 'inet');
    expect(v4).toMatchObject({ family: 'inet', address: '1.2.3.4', forwarding: 'masq', weight: 0 });
  });

  it('tunnel settings: absent before Linux 5.2, read for tunnels only', () => {
    const base = [nla(1, in4(1, 2, 3, 4)), nla(2, be16(80)), nla(3, u32(2)), nla(11, u16(2))];
    expect(destinationOf(destReply(...base), 'inet')).not.toHaveProperty('tunnel');
    const t = (type: number, port: number, flags: number) =>
      destinationOf(destReply(...base, nla(13, u8(type)), nla(14, be16(port)), nla(15, u16(flags))), 'inet').tunnel;
    expect(t(0, 0, 0)).toEqual({ type: 'ipip', port: 0, checksum: 'none' });
    expect(t(1, 6080, 2)).toEqual({ type: 'gue', port: 6080, checksum: 'remcsum' });
    expect(t(2, 0, 1)).toEqual({ type: 'gre', port: 0, checksum: 'csum' });
    expect(t(1, 1, 3)).toEqual({ type: 'gue', port: 1, checksum: 'remcsum' }); // both bits: remcsum wins
  });

  it('a daemon with an IPv4 group, and one whose IPv6 group is all zeros', () => {
    const d = decodeDaemon(new AttributeDecoder(Uint8Array.from(knest(3,
      nla(1, u32(1)), nla(2, str('eth1')), nla(3, u32(200)), nla(4, u16(1500)), nla(5, [224, 0, 0, 81]), nla(6, Array(16).fill(0)),
      nla(7, u16(8848)), nla(8, u8(1))))));
    expect(d).toEqual({ state: 'master', interface: 'eth1', syncId: 200, syncMaxLen: 1500, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1 });
    // Old kernels send the state, interface and sync id only.
    expect(decodeDaemon(new AttributeDecoder(Uint8Array.from(knest(3, nla(1, u32(2)), nla(2, str('e')), nla(3, u32(0)))))))
      .toEqual({ state: 'backup', interface: 'e', syncId: 0 });
  });

  it('info and timeouts', () => {
    const info = new AttributeDecoder(Uint8Array.from([...nla(1, u32(0x010203)), ...nla(2, u32(1 << 20))]));
    expect(decodeInfo(info)).toEqual({ version: '1.2.3', versionCode: 0x010203, connectionTableSize: 1 << 20 });
    expect(decodeInfo(new AttributeDecoder(Uint8Array.from(nla(1, u32(0x010201)))))).toEqual({ version: '1.2.1', versionCode: 0x010201, connectionTableSize: 0 });
    expect(decodeTimeouts(new AttributeDecoder(Uint8Array.from([...nla(5, u32(60)), ...nla(4, u32(7200))])))).toEqual({ tcp: 7200, tcpFin: 60, udp: 0 });
  });
});

describe('bad replies are decode errors that say what is wrong', () => {
  it('services', () => {
    expect(decodeError(() => serviceOf([])).message).toBe('service reply without IPVS_CMD_ATTR_SERVICE');
    expect(decodeError(() => serviceOf(svcReply(nla(2, u16(6))))).message).toBe('service: attribute 1 is missing');
    expect(decodeError(() => serviceOf(svcReply(nla(1, u16(7))))).message).toBe('service: unknown address family 7');
    expect(decodeError(() => serviceOf(svcReply(nla(1, u16(2)), nla(2, u16(99))))).message).toBe('service: unknown protocol 99');
    expect(decodeError(() => serviceOf(svcReply(nla(1, u16(2)), nla(2, u16(6)), nla(4, be16(1))))).message).toBe('service: attribute 3 is missing');
    expect(decodeError(() => serviceOf(svcReply(nla(1, u16(10)), nla(2, u16(6)), nla(3, [1, 2, 3, 4]), nla(4, be16(1))))).message)
      .toBe('service: attribute 3 is not an inet6 address; length 4');
    expect(decodeError(() => serviceOf(svcReply(nla(1, u16(2)), nla(2, u16(6)), nla(3, in4(1, 1, 1, 1))))).message).toBe('service: attribute 4 is missing');
    expect(decodeError(() => serviceOf(svcReply(nla(1, u16(2)), nla(5, u32(1)), nla(7, [1, 2])))).message).toMatch(/not struct ip_vs_flags/);
    decodeError(() => serviceOf(svcReply(nla(1, u32(2)))));
    decodeError(() => serviceOf(svcReply(...tcpService, knest(12, nla(1, u32(1))))));
  });

  it('destinations', () => {
    expect(decodeError(() => destinationOf([], 'inet')).message).toBe('destination reply without IPVS_CMD_ATTR_DEST');
    expect(decodeError(() => destinationOf(destReply(nla(1, in4(1, 1, 1, 1)), nla(2, be16(1)), nla(3, u32(5))), 'inet')).message)
      .toBe('destination: unknown forwarding method 5');
    expect(decodeError(() => destinationOf(destReply(nla(1, in4(1, 1, 1, 1)), nla(2, be16(1)), nla(3, u32(2)), nla(13, u8(9))), 'inet')).message)
      .toBe('destination: unknown tunnel type 9');
    expect(decodeError(() => destinationOf(destReply(nla(2, be16(1))), 'inet')).message).toBe('destination: attribute 1 is missing');
    expect(decodeError(() => destinationOf(destReply(nla(1, in4(1, 1, 1, 1))), 'inet')).message).toBe('destination: attribute 2 is missing');
    expect(decodeError(() => destinationOf(destReply(nla(1, in4(1, 1, 1, 1)), nla(2, be16(1)), nla(11, u16(3))), 'inet')).message)
      .toBe('destination: unknown address family 3');
  });

  it('daemons and info', () => {
    expect(decodeError(() => decodeDaemon(new AttributeDecoder(new Uint8Array(0)))).message).toBe('daemon reply without IPVS_CMD_ATTR_DAEMON');
    const noState = new AttributeDecoder(Uint8Array.from(knest(3, nla(2, str('x')))));
    expect(decodeError(() => decodeDaemon(noState)).message).toBe('daemon: attribute 1 is missing');
    expect(decodeError(() => decodeInfo(new AttributeDecoder(new Uint8Array(0), 'info'))).message).toBe('info: attribute 1 is missing');
  });
});
