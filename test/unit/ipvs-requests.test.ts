// Every IPVS request kind (src/ipvs/requests.ts) against golden bytes built
// by the naive builder in support/wire.ts; then the same bytes decoded back
// through the codec's decoders (src/ipvs/codec.ts), which read a request's
// nests the same way as a reply's.
import { describe, expect, it } from 'vitest';
import { decodeGenl } from '../../src/genetlink/genl.js';
import { decodeDaemon, decodeTimeouts } from '../../src/ipvs/codec.js';
import { decodeDestination, decodeService } from './support/reference-decoders.js';
import * as requests from '../../src/ipvs/requests.js';
import type { Stats } from '../../src/ipvs/types.js';
import { checkServiceKey } from '../../src/ipvs/validate.js';
import type { AttributeDecoder } from '../../src/netlink/attributes.js';
import type { Request } from '../../src/netlink/connection.js';
import { parseMessages } from '../../src/netlink/message.js';
import { type Bytes, be16, be32, genlmsg, hex, in4, nest, nla, str, u16, u32, u8 } from './support/wire.js';

const FAMILY = 0x1c; // what the test kernel gave IPVS; any id works
const ACK = 0x05; // NLM_F_REQUEST | NLM_F_ACK
const DUMP = 0x301; // NLM_F_REQUEST | NLM_F_DUMP

// enum IPVS_CMD_* and attribute numbers, written out again from ip_vs.h.
const CMD = { NEW_SERVICE: 1, SET_SERVICE: 2, DEL_SERVICE: 3, GET_SERVICE: 4, NEW_DEST: 5, SET_DEST: 6, DEL_DEST: 7, GET_DEST: 8,
  NEW_DAEMON: 9, DEL_DAEMON: 10, GET_DAEMON: 11, SET_CONFIG: 12, GET_CONFIG: 13, GET_INFO: 15, ZERO: 16, FLUSH: 17 };
const ip6 = (text: string): Bytes => {
  // Only the forms used below: "2001:db8::N" and "ff15::81".
  const [head, tail] = text.split('::');
  const words = [...head!.split(':').map((w) => parseInt(w, 16))];
  const rest = tail ? tail.split(':').map((w) => parseInt(w, 16)) : [];
  const all = [...words, ...Array(8 - words.length - rest.length).fill(0), ...rest];
  return all.flatMap((w) => be16(w));
};
const flags = (f: number): Bytes => [...u32(f), ...u32(0xffffffff)]; // struct ip_vs_flags { flags, mask }

const tcp4Key = [nla(1, u16(2)), nla(2, u16(6)), nla(3, in4(10, 0, 0, 1)), nla(4, be16(80))];

const zeroStats: Stats = {
  connections: 0n, packetsIn: 0n, packetsOut: 0n, bytesIn: 0n, bytesOut: 0n,
  cps: 0n, packetsInPerSecond: 0n, packetsOutPerSecond: 0n, bytesInPerSecond: 0n, bytesOutPerSecond: 0n,
};

function check(req: Request, golden: Bytes, operation: string, dump = false): AttributeDecoder {
  expect([...req.message]).toEqual(golden);
  expect(req.dump).toBe(dump);
  expect(req.operation).toBe(operation);
  const [m] = parseMessages(req.message);
  return decodeGenl(m!, 'request').attrs;
}

describe('service requests', () => {
  it('addService TCP 10.0.0.1:80 rr, field by field', () => {
    const golden = hex(`
      68 00 00 00        # nlmsg_len 104
      1c 00              # nlmsg_type: the IPVS family id
      05 00              # NLM_F_REQUEST | NLM_F_ACK
      00 00 00 00        # seq, filled in by the connection
      00 00 00 00        # pid
      01 01 00 00        # genl: IPVS_CMD_NEW_SERVICE, version 1
      54 00 01 80        # IPVS_CMD_ATTR_SERVICE, nested, nla_len 84
        06 00 01 00 02 00 00 00   # SVC_ATTR_AF u16 2 (AF_INET) + padding
        06 00 02 00 06 00 00 00   # SVC_ATTR_PROTOCOL u16 6 (TCP) + padding
        14 00 03 00               # SVC_ATTR_ADDR, 16 bytes (union nf_inet_addr)
          0a 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00
        06 00 04 00 00 50 00 00   # SVC_ATTR_PORT be16 80 + padding
        07 00 06 00 72 72 00 00   # SVC_ATTR_SCHED_NAME "rr\\0" + padding
        0c 00 07 00               # SVC_ATTR_FLAGS struct ip_vs_flags
          00 00 00 00 ff ff ff ff #   flags 0, mask all
        08 00 08 00 00 00 00 00   # SVC_ATTR_TIMEOUT u32 0
        08 00 09 00 ff ff ff ff   # SVC_ATTR_NETMASK be32 255.255.255.255`);
    expect(golden).toEqual(
      genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_SERVICE, 1,
        nest(1, ...tcp4Key, nla(6, str('rr')), nla(7, flags(0)), nla(8, u32(0)), nla(9, be32(0xffffffff)))),
    );
    const attrs = check(requests.addService(FAMILY, { protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr' }), golden, 'addService');
    expect(decodeService(attrs)).toEqual({
      family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr', schedulerFlags: [],
      netmask: '255.255.255.255', onePacket: false, flags: 0, timeout: 0, stats: zeroStats,
    });
  });

  it('addService UDP [2001:db8::1]:53 sh with scheduler flags, persistence and an IPv6 prefix', () => {
    const golden = genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_SERVICE, 1,
      nest(1,
        nla(1, u16(10)), // AF_INET6
        nla(2, u16(17)), // UDP
        nla(3, ip6('2001:db8::1')),
        nla(4, be16(53)),
        nla(6, str('sh')),
        nla(7, flags(0x01 | 0x08 | 0x10)), // PERSISTENT | SCHED1 | SCHED2
        nla(8, u32(600)),
        nla(9, u32(64)))); // IPv6: a prefix length, host order
    const attrs = check(requests.addService(FAMILY, {
      protocol: 'udp', address: '2001:db8::1', port: 53, scheduler: 'sh', schedulerFlags: ['sh-fallback', 'sh-port'], persistent: 600, netmask: 64,
    }), golden, 'addService');
    expect(decodeService(attrs)).toEqual({
      family: 'inet6', protocol: 'udp', address: '2001:db8::1', port: 53, scheduler: 'sh', schedulerFlags: ['sh-fallback', 'sh-port'],
      persistent: 600, netmask: 64, onePacket: false, flags: 0x19, timeout: 600, stats: zeroStats,
    });
  });

  it("addService FWM 7: default scheduler wlc, ipvsadm's default persistence 360 s, dotted netmask", () => {
    const golden = genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_SERVICE, 1,
      nest(1, nla(1, u16(2)), nla(5, u32(7)), nla(6, str('wlc')), nla(7, flags(1)), nla(8, u32(360)), nla(9, hex('ff ff ff 00'))));
    const attrs = check(requests.addService(FAMILY, { fwmark: 7, persistent: true, netmask: '255.255.255.0' }), golden, 'addService');
    expect(decodeService(attrs)).toEqual({
      family: 'inet', fwmark: 7, scheduler: 'wlc', schedulerFlags: [], persistent: 360, netmask: '255.255.255.0',
      onePacket: false, flags: 1, timeout: 360, stats: zeroStats,
    });
  });

  it('addService FWM 8 IPv6 mh with mh-port: no persistence, prefix 128', () => {
    const golden = genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_SERVICE, 1,
      nest(1, nla(1, u16(10)), nla(5, u32(8)), nla(6, str('mh')), nla(7, flags(0x10)), nla(8, u32(0)), nla(9, u32(128))));
    const attrs = check(requests.addService(FAMILY, { fwmark: 8, family: 'inet6', scheduler: 'mh', schedulerFlags: ['mh-port'] }), golden, 'addService');
    expect(decodeService(attrs)).toMatchObject({ family: 'inet6', fwmark: 8, scheduler: 'mh', schedulerFlags: ['mh-port'], netmask: 128, flags: 0x10 });
    expect(decodeService(attrs).persistent).toBeUndefined();
  });

  it('addService UDP with one-packet scheduling and the sip persistence engine', () => {
    const golden = genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_SERVICE, 1,
      nest(1,
        nla(1, u16(2)), nla(2, u16(17)), nla(3, in4(10, 0, 0, 2)), nla(4, be16(5060)),
        nla(6, str('rr')),
        nla(11, str('sip')), // SVC_ATTR_PE_NAME
        nla(7, flags(0x01 | 0x04)), // PERSISTENT | ONEPACKET
        nla(8, u32(60)),
        nla(9, be32(0xffffffff))));
    const attrs = check(requests.addService(FAMILY, {
      protocol: 'udp', address: '10.0.0.2', port: 5060, scheduler: 'rr', persistent: 60, pe: 'sip', onePacket: true,
    }), golden, 'addService');
    expect(decodeService(attrs)).toMatchObject({ protocol: 'udp', port: 5060, pe: 'sip', onePacket: true, persistent: 60, flags: 5 });
  });

  it('addService SCTP with a prefix-length netmask and the raw scheduler flags', () => {
    const golden = genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_SERVICE, 1,
      nest(1, nla(1, u16(2)), nla(2, u16(132)), nla(3, in4(10, 0, 0, 3)), nla(4, be16(3868)),
        nla(6, str('lc')), nla(7, flags(0x08 | 0x20)), nla(8, u32(0)), nla(9, be32(0xffffff00))));
    const attrs = check(requests.addService(FAMILY, {
      protocol: 'sctp', address: '10.0.0.3', port: 3868, scheduler: 'lc', netmask: 24, schedulerFlags: ['flag-1', 'flag-3'],
    }), golden, 'addService');
    expect(decodeService(attrs)).toMatchObject({ protocol: 'sctp', netmask: '255.255.255.0', schedulerFlags: ['flag-1', 'flag-3'], flags: 0x28 });
  });

  it('updateService: IPVS_CMD_SET_SERVICE with the full entry', () => {
    const golden = genlmsg({ type: FAMILY, flags: ACK }, CMD.SET_SERVICE, 1,
      nest(1, ...tcp4Key, nla(6, str('wrr')), nla(7, flags(1)), nla(8, u32(120)), nla(9, be32(0xffff0000))));
    const attrs = check(requests.updateService(FAMILY, {
      protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'wrr', persistent: 120, netmask: '255.255.0.0',
    }), golden, 'updateService');
    expect(decodeService(attrs)).toMatchObject({ scheduler: 'wrr', persistent: 120, netmask: '255.255.0.0' });
  });

  it('deleteService and getService send the key only', () => {
    const key = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
    check(requests.deleteService(FAMILY, key), genlmsg({ type: FAMILY, flags: ACK }, CMD.DEL_SERVICE, 1, nest(1, ...tcp4Key)), 'deleteService');
    const attrs = check(requests.getService(FAMILY, key), genlmsg({ type: FAMILY, flags: ACK }, CMD.GET_SERVICE, 1, nest(1, ...tcp4Key)), 'getService');
    expect(decodeService(attrs)).toMatchObject({ family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: '' });
    check(requests.deleteService(FAMILY, { fwmark: 0xffffffff, family: 'inet6' }),
      genlmsg({ type: FAMILY, flags: ACK }, CMD.DEL_SERVICE, 1, nest(1, nla(1, u16(10)), nla(5, u32(0xffffffff)))), 'deleteService');
  });

  it('listServices is a dump of IPVS_CMD_GET_SERVICE with no attributes', () => {
    check(requests.listServices(FAMILY), genlmsg({ type: FAMILY, flags: DUMP }, CMD.GET_SERVICE, 1), 'listServices', true);
  });
});

describe('destination requests', () => {
  const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;

  it('addDestination masq with weight and thresholds, field by field', () => {
    const golden = [
      ...hex(`
        8c 00 00 00  1c 00  05 00  00 00 00 00  00 00 00 00  # nlmsg_len 140, IPVS, REQUEST|ACK
        05 01 00 00                                          # IPVS_CMD_NEW_DEST, version 1
        30 00 01 80                                          # IPVS_CMD_ATTR_SERVICE, nested: the key
          06 00 01 00 02 00 00 00  06 00 02 00 06 00 00 00
          14 00 03 00 0a 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00
          06 00 04 00 00 50 00 00
        48 00 02 80                  # IPVS_CMD_ATTR_DEST, nested, nla_len 72
          14 00 01 00                # DEST_ATTR_ADDR 10.1.0.2 in 16 bytes
            0a 01 00 02 00 00 00 00 00 00 00 00 00 00 00 00
          06 00 02 00 1f 90 00 00    # DEST_ATTR_PORT be16 8080
          08 00 03 00 00 00 00 00    # DEST_ATTR_FWD_METHOD 0 (IP_VS_CONN_F_MASQ)
          08 00 04 00 02 00 00 00    # DEST_ATTR_WEIGHT 2
          08 00 05 00 64 00 00 00    # DEST_ATTR_U_THRESH 100
          08 00 06 00 0a 00 00 00    # DEST_ATTR_L_THRESH 10
          06 00 0b 00 02 00 00 00    # DEST_ATTR_ADDR_FAMILY AF_INET`),
    ];
    expect(golden).toEqual(genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_DEST, 1, nest(1, ...tcp4Key),
      nest(2, nla(1, in4(10, 1, 0, 2)), nla(2, be16(8080)), nla(3, u32(0)), nla(4, u32(2)), nla(5, u32(100)), nla(6, u32(10)), nla(11, u16(2)))));
    const attrs = check(requests.addDestination(FAMILY, svc, {
      address: '10.1.0.2', port: 8080, forwarding: 'masq', weight: 2, upperThreshold: 100, lowerThreshold: 10,
    }), golden, 'addDestination');
    expect(decodeService(attrs)).toMatchObject({ protocol: 'tcp', address: '10.0.0.1', port: 80 });
    expect(decodeDestination(attrs, 'inet')).toEqual({
      family: 'inet', address: '10.1.0.2', port: 8080, forwarding: 'masq', weight: 2, upperThreshold: 100, lowerThreshold: 10,
      activeConnections: 0, inactiveConnections: 0, persistentConnections: 0, stats: zeroStats,
    });
  });

  it("addDestination defaults as ipvsadm: the service's port, route (direct), weight 1", () => {
    const golden = genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_DEST, 1, nest(1, ...tcp4Key),
      nest(2, nla(1, in4(10, 1, 0, 3)), nla(2, be16(80)), nla(3, u32(3)), nla(4, u32(1)), nla(5, u32(0)), nla(6, u32(0)), nla(11, u16(2))));
    const attrs = check(requests.addDestination(FAMILY, svc, { address: '10.1.0.3' }), golden, 'addDestination');
    expect(decodeDestination(attrs, 'inet')).toMatchObject({ port: 80, forwarding: 'route', weight: 1 });
    // A firewall-mark service has no port: the real server's port defaults to 0.
    const fwm = requests.addDestination(FAMILY, { fwmark: 3 }, { address: '10.1.0.3', forwarding: 'local' });
    expect([...fwm.message]).toEqual(genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_DEST, 1, nest(1, nla(1, u16(2)), nla(5, u32(3))),
      nest(2, nla(1, in4(10, 1, 0, 3)), nla(2, be16(0)), nla(3, u32(1)), nla(4, u32(1)), nla(5, u32(0)), nla(6, u32(0)), nla(11, u16(2)))));
  });

  it('addDestination tunnel over GUE: type, UDP port (network order) and remote checksum', () => {
    const golden = genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_DEST, 1, nest(1, ...tcp4Key),
      nest(2,
        nla(1, in4(10, 0, 0, 3)), nla(2, be16(80)),
        nla(3, u32(2)), // IP_VS_CONN_F_TUNNEL
        nla(4, u32(1)), nla(5, u32(0)), nla(6, u32(0)), nla(11, u16(2)),
        nla(13, u8(1)), // DEST_ATTR_TUN_TYPE GUE
        nla(14, be16(6080)), // DEST_ATTR_TUN_PORT
        nla(15, u16(2)))); // DEST_ATTR_TUN_FLAGS REMCSUM
    const attrs = check(requests.addDestination(FAMILY, svc, {
      address: '10.0.0.3', port: 80, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'remcsum' },
    }), golden, 'addDestination');
    expect(decodeDestination(attrs, 'inet')).toMatchObject({ forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'remcsum' } });
  });

  it('addDestination tunnel over GRE with checksums; plain ipip', () => {
    const tail = (type: number, csum: number): Bytes[] => [nla(13, u8(type)), nla(14, be16(0)), nla(15, u16(csum))];
    const common = [nla(1, in4(10, 0, 0, 4)), nla(2, be16(80)), nla(3, u32(2)), nla(4, u32(3)), nla(5, u32(0)), nla(6, u32(0)), nla(11, u16(2))];
    const gre = check(requests.addDestination(FAMILY, svc, { address: '10.0.0.4', forwarding: 'tunnel', weight: 3, tunnel: { type: 'gre', checksum: 'csum' } }),
      genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_DEST, 1, nest(1, ...tcp4Key), nest(2, ...common, ...tail(2, 1))), 'addDestination');
    expect(decodeDestination(gre, 'inet').tunnel).toEqual({ type: 'gre', port: 0, checksum: 'csum' });
    const ipip = check(requests.addDestination(FAMILY, svc, { address: '10.0.0.4', forwarding: 'tunnel', weight: 3, tunnel: { type: 'ipip' } }),
      genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_DEST, 1, nest(1, ...tcp4Key), nest(2, ...common, ...tail(0, 0))), 'addDestination');
    expect(decodeDestination(ipip, 'inet').tunnel).toEqual({ type: 'ipip', port: 0, checksum: 'none' });
  });

  it('addDestination IPv6 in an IPv6 service, and IPv6 behind an IPv4 service (tunnel)', () => {
    const v6svc = { protocol: 'udp', address: '2001:db8::1', port: 53 } as const;
    const v6key = [nla(1, u16(10)), nla(2, u16(17)), nla(3, ip6('2001:db8::1')), nla(4, be16(53))];
    const same = check(requests.addDestination(FAMILY, v6svc, { address: '2001:db8::10', weight: 5 }),
      genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_DEST, 1, nest(1, ...v6key),
        nest(2, nla(1, ip6('2001:db8::10')), nla(2, be16(53)), nla(3, u32(3)), nla(4, u32(5)), nla(5, u32(0)), nla(6, u32(0)), nla(11, u16(10)))),
      'addDestination');
    expect(decodeDestination(same, 'inet6')).toMatchObject({ family: 'inet6', address: '2001:db8::10', port: 53, weight: 5 });
    const mixed = check(requests.addDestination(FAMILY, svc, { address: '2001:db8::20', forwarding: 'tunnel' }),
      genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_DEST, 1, nest(1, ...tcp4Key),
        nest(2, nla(1, ip6('2001:db8::20')), nla(2, be16(80)), nla(3, u32(2)), nla(4, u32(1)), nla(5, u32(0)), nla(6, u32(0)), nla(11, u16(10)))),
      'addDestination');
    // The destination's own family wins over the service's.
    expect(decodeDestination(mixed, 'inet')).toMatchObject({ family: 'inet6', address: '2001:db8::20', forwarding: 'tunnel' });
  });

  it('updateDestination: IPVS_CMD_SET_DEST with the full entry', () => {
    check(requests.updateDestination(FAMILY, svc, { address: '10.1.0.2', port: 8080, forwarding: 'masq', weight: 0 }),
      genlmsg({ type: FAMILY, flags: ACK }, CMD.SET_DEST, 1, nest(1, ...tcp4Key),
        nest(2, nla(1, in4(10, 1, 0, 2)), nla(2, be16(8080)), nla(3, u32(0)), nla(4, u32(0)), nla(5, u32(0)), nla(6, u32(0)), nla(11, u16(2)))),
      'updateDestination');
  });

  it('deleteDestination sends the service key and the destination key only', () => {
    const attrs = check(requests.deleteDestination(FAMILY, svc, { address: '10.1.0.2', port: 8080 }),
      genlmsg({ type: FAMILY, flags: ACK }, CMD.DEL_DEST, 1, nest(1, ...tcp4Key), nest(2, nla(1, in4(10, 1, 0, 2)), nla(2, be16(8080)), nla(11, u16(2)))),
      'deleteDestination');
    expect(decodeDestination(attrs, 'inet')).toMatchObject({ address: '10.1.0.2', port: 8080, forwarding: 'masq', weight: 0 });
  });

  it('listDestinations is a dump of IPVS_CMD_GET_DEST keyed by the service', () => {
    const key = checkServiceKey('listDestinations', svc);
    check(requests.listDestinations(FAMILY, key), genlmsg({ type: FAMILY, flags: DUMP }, CMD.GET_DEST, 1, nest(1, ...tcp4Key)), 'listDestinations', true);
  });
});

describe('table-wide requests', () => {
  it('flush, zero all, zero one service', () => {
    check(requests.flush(FAMILY), genlmsg({ type: FAMILY, flags: ACK }, CMD.FLUSH, 1), 'flush');
    check(requests.zero(FAMILY), genlmsg({ type: FAMILY, flags: ACK }, CMD.ZERO, 1), 'zero');
    check(requests.zero(FAMILY, { protocol: 'tcp', address: '10.0.0.1', port: 80 }),
      genlmsg({ type: FAMILY, flags: ACK }, CMD.ZERO, 1, nest(1, ...tcp4Key)), 'zero');
  });

  it('timeouts: get, set all three, set one', () => {
    check(requests.getTimeouts(FAMILY), genlmsg({ type: FAMILY, flags: ACK }, CMD.GET_CONFIG, 1), 'getTimeouts');
    const all = check(requests.setTimeouts(FAMILY, { tcp: 900, tcpFin: 120, udp: 300 }),
      hex(`
        2c 00 00 00  1c 00  05 00  00 00 00 00  00 00 00 00
        0c 01 00 00                # IPVS_CMD_SET_CONFIG
        08 00 04 00 84 03 00 00    # IPVS_CMD_ATTR_TIMEOUT_TCP 900
        08 00 05 00 78 00 00 00    # IPVS_CMD_ATTR_TIMEOUT_TCP_FIN 120
        08 00 06 00 2c 01 00 00    # IPVS_CMD_ATTR_TIMEOUT_UDP 300`),
      'setTimeouts');
    expect(decodeTimeouts(all)).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    const one = check(requests.setTimeouts(FAMILY, { udp: 300 }), genlmsg({ type: FAMILY, flags: ACK }, CMD.SET_CONFIG, 1, nla(6, u32(300))), 'setTimeouts');
    expect(decodeTimeouts(one)).toEqual({ tcp: 0, tcpFin: 0, udp: 300 });
  });

  it('info', () => {
    check(requests.info(FAMILY), hex('14 00 00 00  1c 00  05 00  00 00 00 00  00 00 00 00  0f 01 00 00'), 'info');
  });
});

describe('sync daemon requests', () => {
  it('startDaemon master with every option; the multicast port in host order', () => {
    const golden = hex(`
      54 00 00 00  1c 00  05 00  00 00 00 00  00 00 00 00  # nlmsg_len 84
      09 01 00 00                  # IPVS_CMD_NEW_DAEMON
      40 00 03 80                  # IPVS_CMD_ATTR_DAEMON, nested, nla_len 64
        08 00 01 00 01 00 00 00    # DAEMON_ATTR_STATE 1 (master)
        0a 00 02 00                # DAEMON_ATTR_MCAST_IFN "veth0\\0"
          76 65 74 68 30 00 00 00
        08 00 03 00 05 00 00 00    # DAEMON_ATTR_SYNC_ID 5
        06 00 04 00 78 05 00 00    # DAEMON_ATTR_SYNC_MAXLEN u16 1400
        08 00 05 00 ef 01 02 03    # DAEMON_ATTR_MCAST_GROUP 239.1.2.3
        06 00 07 00 91 22 00 00    # DAEMON_ATTR_MCAST_PORT u16 8849, host order (unlike service ports)
        05 00 08 00 02 00 00 00    # DAEMON_ATTR_MCAST_TTL u8 2`);
    const attrs = check(requests.startDaemon(FAMILY, {
      state: 'master', interface: 'veth0', syncId: 5, syncMaxLen: 1400, mcastGroup: '239.1.2.3', mcastPort: 8849, mcastTtl: 2,
    }), golden, 'startDaemon');
    expect(decodeDaemon(attrs)).toEqual({
      state: 'master', interface: 'veth0', syncId: 5, syncMaxLen: 1400, mcastGroup: '239.1.2.3', mcastPort: 8849, mcastTtl: 2,
    });
  });

  it('startDaemon backup with an IPv6 group and the default sync id', () => {
    const attrs = check(requests.startDaemon(FAMILY, { state: 'backup', interface: 'eth0', mcastGroup: 'ff15::81' }),
      genlmsg({ type: FAMILY, flags: ACK }, CMD.NEW_DAEMON, 1, nest(3, nla(1, u32(2)), nla(2, str('eth0')), nla(3, u32(0)), nla(6, ip6('ff15::81')))),
      'startDaemon');
    expect(decodeDaemon(attrs)).toEqual({ state: 'backup', interface: 'eth0', syncId: 0, mcastGroup: 'ff15::81' });
  });

  it('stopDaemon sends the state only; listDaemons is a dump', () => {
    check(requests.stopDaemon(FAMILY, 'master'), genlmsg({ type: FAMILY, flags: ACK }, CMD.DEL_DAEMON, 1, nest(3, nla(1, u32(1)))), 'stopDaemon');
    check(requests.stopDaemon(FAMILY, 'backup'), genlmsg({ type: FAMILY, flags: ACK }, CMD.DEL_DAEMON, 1, nest(3, nla(1, u32(2)))), 'stopDaemon');
    check(requests.listDaemons(FAMILY), genlmsg({ type: FAMILY, flags: DUMP }, CMD.GET_DAEMON, 1), 'listDaemons', true);
  });
});

describe('how requests word kernel refusals', () => {
  const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;

  it('names the service and real server, keeps errno and kernel text', () => {
    const e = requests.addService(FAMILY, { ...svc, scheduler: 'rr' }).describe!({ errno: 17 }, 3);
    expect(e).toMatchObject({ kind: 'kernel', code: 'EEXIST', errno: 17, operation: 'addService', seq: 3 });
    expect(e.message).toBe('virtual service TCP 10.0.0.1:80 already exists');
    const d = requests.deleteDestination(FAMILY, { protocol: 'udp', address: '2001:db8::1', port: 53 }, { address: '2001:db8::10' }).describe!(
      { errno: 2, message: 'why', offset: 20 }, 4);
    expect(d.message).toBe('real server [2001:db8::10]:53 does not exist in virtual service UDP [2001:db8::1]:53: why');
    expect(d).toMatchObject({ code: 'ENOENT', kernelMessage: 'why', kernelOffset: 20 });
    const s = requests.addService(FAMILY, { ...svc, scheduler: 'nosuch' }).describe!({ errno: 2 }, 5);
    expect(s.message).toMatch(/scheduler 'nosuch' \(kernel module ip_vs_nosuch\) is not available/);
    expect(requests.stopDaemon(FAMILY, 'master').describe!({ errno: 3 }, 6).message).toBe('no master sync daemon is running');
    expect(requests.flush(FAMILY).describe!({ errno: 1 }, 7).message).toMatch(/CAP_NET_ADMIN/);
  });
});
