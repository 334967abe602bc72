/**
 * ipvsadm's parsers of option arguments: service and real server
 * addresses (names through the resolver, as ipvsadm does), netmasks,
 * timeouts, firewall marks, scheduler flags and multicast groups. Each
 * refuses with ipvsadm's message and status.
 */
import { isMulticast } from '../ipvs/address.js';
import { AF_INET, AF_INET6, SvcFlag } from '../ipvs/constants.js';
import { PROTOCOL_NAMES } from '../ipvs/names.js';
import { atoi, inetAton, inetPton4, inetPton6, stringToNumber } from './cparse.js';
import { fail } from './exit.js';
import { hostToAddr, serviceToPort } from './names.js';

export const SERVICE_ADDR = 1;
export const SERVICE_PORT = 2;

/**
 * ipvsadm's parse_service: "host[:port]", "[v6]:port" or a bare IPv6
 * address; fills af, addr, port (and netmask 128 for IPv6) of `svc`.
 * Returns SERVICE_ADDR|SERVICE_PORT bits, 0 when it is not a service.
 */
export async function parseService(text: string, svc: { af: number; addr: Uint8Array; port: number; netmask: number; protocol: number }): Promise<number> {
  if (/^\d*$/.test(text)) return 0;
  let buf = text;
  let port: string | undefined;
  if (buf[0] === '[') {
    const close = buf.indexOf(']', 1);
    if (close < 0) return 0;
    if (buf[close + 1] !== ':') return 0;
    port = buf.slice(close + 2);
    buf = buf.slice(1, close);
  }
  const v6 = inetPton6(buf);
  if (v6) {
    svc.addr = v6;
    svc.af = AF_INET6;
    svc.netmask = 128;
  } else {
    // Not IPv6: the port follows the last ':' of what is left.
    const colon = buf.lastIndexOf(':');
    if (colon >= 0) {
      port = buf.slice(colon + 1);
      buf = buf.slice(0, colon);
    } else port = undefined;
    const v4 = inetAton(buf) ?? (await hostToAddr(buf));
    if (!v4) return 0;
    const a = new Uint8Array(16);
    a.set(v4);
    svc.addr = a;
    svc.af = AF_INET;
  }
  let result = SERVICE_ADDR;
  if (port !== undefined) {
    result |= SERVICE_PORT;
    let n = stringToNumber(port, 0, 65535);
    if (n === -1) n = serviceToPort(port, protoName(svc.protocol));
    if (n === -1) return 0;
    svc.port = n;
  }
  return result;
}

export function protoName(p: number): 'tcp' | 'udp' | 'sctp' | undefined {
  return PROTOCOL_NAMES.get(p);
}

/** -M: a dotted mask or a host name for an IPv4 service (the mask as a number), a prefix length for IPv6. */
export async function parseNetmask(arg: string, af: number): Promise<number> {
  if (af !== AF_INET6) {
    const m = inetAton(arg) ?? (await hostToAddr(arg));
    if (!m) throw fail(2, 'illegal virtual server persistent mask specified');
    return ((m[0]! << 24) | (m[1]! << 16) | (m[2]! << 8) | m[3]!) >>> 0;
  }
  const n = atoi(arg);
  if (n < 1 || n > 128) throw fail(2, 'illegal ipv6 netmask specified');
  return n;
}

/** -p [timeout] and --set's values; no value is ipvsadm's 360. */
export function parseTimeout(arg: string | null, min: number, max: number): number {
  if (arg === null) return 360;
  const i = stringToNumber(arg, min, max);
  if (i === -1) throw fail(2, `invalid timeout value \`${arg}' specified`);
  return i;
}

export function parseFwmark(arg: string, restoring: boolean): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(arg);
  let v = m ? Number(m[2]) * (m[1] === '-' ? -1 : 1) : NaN;
  // ipvsadm saves marks of 2^31 and above as negative numbers: -R reads them back.
  if (restoring && v < 0 && v >= -0x80000000) v += 2 ** 32;
  if (!m || !(v > 0) || v > 0xffffffff) throw fail(2, `invalid fwmark value \`${arg}' specified`);
  return v;
}

/** -b's comma-separated flags, against the scheduler (sh-* need sh, mh-* need mh). */
export function parseSchedFlags(sched: string, arg: string): number {
  const s = sched || 'wlc';
  let flags = 0;
  for (const flag of arg.split(',').filter((f) => f !== '')) {
    const need = (name: string) => {
      if (s !== name) throw fail(2, `incompatible scheduler flag \`${flag}'`);
    };
    if (flag === 'flag-1') flags |= SvcFlag.SCHED1;
    else if (flag === 'flag-2') flags |= SvcFlag.SCHED2;
    else if (flag === 'flag-3') flags |= SvcFlag.SCHED3;
    else if (flag === 'sh-fallback') (flags |= SvcFlag.SCHED1), need('sh');
    else if (flag === 'sh-port') (flags |= SvcFlag.SCHED2), need('sh');
    else if (flag === 'mh-fallback') (flags |= SvcFlag.SCHED1), need('mh');
    else if (flag === 'mh-port') (flags |= SvcFlag.SCHED2), need('mh');
    else throw fail(2, `invalid scheduler flag \`${flag}'`);
  }
  return flags;
}

/** --mcast-group: a multicast address, IPv6 when it has a ':' (inet_pton, as ipvsadm). */
export function parseMcastGroup(arg: string): { af: number; addr: Uint8Array } {
  if (arg.includes(':')) {
    const g = inetPton6(arg);
    if (!g || !isMulticast('inet6', g)) throw fail(2, `invalid IPv6 mcast-group \`${arg}'`);
    return { af: AF_INET6, addr: g };
  }
  const g = inetPton4(arg);
  if (!g || !isMulticast('inet', g)) throw fail(2, `invalid IPv4 mcast-group \`${arg}'`);
  return { af: AF_INET, addr: g };
}
