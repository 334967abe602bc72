/**
 * ipvsadm's listing and save formats, printf for printf (print_title,
 * print_service_entry, print_largenum, list_timeout, list_daemon).
 */
import { numberToMask } from '../ipvs/address.js';
import { AF_INET, AF_INET6, ConnFlag, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, SvcFlag, TunnelType } from '../ipvs/constants.js';
import { PROTOCOL_LABELS, PROTOCOL_NAMES, TUNNEL_NAMES } from '../ipvs/names.js';
import type { Daemon, Info, Timeouts } from '../ipvs/types.js';
import { protoName } from './args.js';
import { Fmt } from './options.js';
import { portToService } from './names.js';
import type { DestRow, SvcRow } from './rows.js';

/** Reverse names looked up beforehand (address text -> host name). */
export type HostNames = ReadonlyMap<string, string>;

const ljust = (s: string, n: number): string => s.padEnd(n);
const rjust = (s: string | number | bigint, n: number): string => String(s).padStart(n);

/** addrport_to_anyname: "host:port" or "[v6]:port", names unless numeric; at most 59 characters. */
export function addrPortName(af: number, text: string, port: number, proto: number, format: number, names: HostNames): string {
  const open = af === AF_INET ? '' : '[';
  const close = af === AF_INET ? '' : ']';
  let s: string;
  if (format & Fmt.NUMERIC) s = `${open}${text}${close}:${port}`;
  else s = `${open}${names.get(text) ?? text}${close}:${portToService(port, protoName(proto)) ?? port}`;
  return s.length > 59 ? s.slice(0, 59) : s;
}

/** Every address a listing would print, for looking up names before formatting. */
export function addressesOf(services: Array<{ row: SvcRow; dests: DestRow[] }>): string[] {
  const out = new Set<string>();
  for (const { row, dests } of services) {
    if (!row.fwmark) out.add(row.text);
    for (const d of dests) out.add(d.text);
  }
  return [...out];
}

export function largenum(i: bigint, format: number): string {
  if (format & Fmt.EXACT) {
    const s = i.toString();
    return rjust(s, s.length <= 8 ? 9 : s.length + 1);
  }
  if (i < 100000000n) return rjust(i, 9);
  if (i < 1000000000n) return `${rjust(i / 1000n, 8)}K`;
  if (i < 100000000000n) return `${rjust(i / 1000000n, 8)}M`;
  if (i < 100000000000000n) return `${rjust(i / 1000000000n, 8)}G`;
  return `${rjust(i / 1000000000000n, 8)}T`;
}

export function title(format: number): string {
  const head = (cols: string) => `${ljust('Prot LocalAddress:Port', 33)} ${cols}\n  -> RemoteAddress:Port\n`;
  if (format & Fmt.STATS) return head(['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'].map((c) => rjust(c, 8)).join(' '));
  if (format & Fmt.RATE) return head(['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'].map((c) => rjust(c, 8)).join(' '));
  if (format & Fmt.THRESHOLDS) return head(['Uthreshold', 'Lthreshold', 'ActiveConn', 'InActConn'].map((c) => ljust(c, 10)).join(' '));
  if (format & Fmt.PERSISTENTCONN) return head(`${ljust('Weight', 9)} ${ljust('PersistConn', 11)} ${ljust('ActiveConn', 10)} ${ljust('InActConn', 10)}`);
  if (format & Fmt.TUN_INFO) {
    return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n';
  }
  if (!(format & Fmt.RULE)) return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
  return '';
}

export function header(info: Info): string {
  return `IP Virtual Server version ${info.version} (size=${info.connectionTableSize})\n`;
}

function schedFlags(s: SvcRow): string {
  const f: string[] = [];
  if (s.sched === 'sh' || s.sched === 'mh') {
    if (s.flags & SvcFlag.SCHED1) f.push(`${s.sched}-fallback`);
    if (s.flags & SvcFlag.SCHED2) f.push(`${s.sched}-port`);
  } else {
    if (s.flags & SvcFlag.SCHED1) f.push('flag-1');
    if (s.flags & SvcFlag.SCHED2) f.push('flag-2');
    if (s.flags & SvcFlag.SCHED3) f.push('flag-3');
  }
  return f.join(',');
}

const SCHED_MASK = SvcFlag.SCHED1 | SvcFlag.SCHED2 | SvcFlag.SCHED3;

function fwdName(flags: number): string {
  switch (flags & ConnFlag.FWD_MASK) {
    case ConnFlag.MASQ:
      return 'Masq';
    case ConnFlag.LOCALNODE:
      return 'Local';
    case ConnFlag.TUNNEL:
      return 'Tunnel';
    case ConnFlag.DROUTE:
      return 'Route';
    default:
      return '(null)';
  }
}

function fwdSwitch(flags: number): string {
  switch (flags & ConnFlag.FWD_MASK) {
    case ConnFlag.MASQ:
      return '-m';
    case ConnFlag.TUNNEL:
      return '-i';
    case ConnFlag.LOCALNODE:
    case ConnFlag.DROUTE:
      return '-g';
    default:
      return '(null)';
  }
}

/** ipvsadm indexes these by the flag value; 3 (csum and remcsum both) would crash it. */
const TUN_FLAGS = ['-c', '+c', 'r+c', 'r+c'];
const TUN_FLAG_OPTS = ['--tun-nocsum', '--tun-csum', '--tun-remcsum', '--tun-remcsum'];

function tunInfo(e: DestRow): string | undefined {
  if ((e.connFlags & ConnFlag.FWD_MASK) !== ConnFlag.TUNNEL) return undefined;
  switch (e.tunType) {
    case TunnelType.IPIP:
      return TUNNEL_NAMES.get(TunnelType.IPIP);
    case TunnelType.GUE:
      return `${TUNNEL_NAMES.get(TunnelType.GUE)}:${e.tunPort}:${TUN_FLAGS[e.tunFlags & 3]}`.slice(0, 15);
    case TunnelType.GRE:
      return `${TUNNEL_NAMES.get(TunnelType.GRE)}:${TUN_FLAGS[e.tunFlags & 3]}`;
    default:
      return undefined;
  }
}

function tunnelRule(svcName: string, dname: string, e: DestRow): string {
  const base = `-a ${svcName} -r ${dname} ${fwdSwitch(e.connFlags)} -w ${e.weight}`;
  switch (e.tunType) {
    case TunnelType.GRE:
      return `${base} --tun-type ${TUNNEL_NAMES.get(TunnelType.GRE)} ${TUN_FLAG_OPTS[e.tunFlags & 3]}\n`;
    case TunnelType.GUE:
      return `${base} --tun-type ${TUNNEL_NAMES.get(TunnelType.GUE)} --tun-port ${e.tunPort} ${TUN_FLAG_OPTS[e.tunFlags & 3]}\n`;
    case TunnelType.IPIP:
      return `${base} --tun-type ${TUNNEL_NAMES.get(TunnelType.IPIP)}\n`;
    default:
      return `${base}\n`;
  }
}

function protocolName(p: number): string {
  const name = PROTOCOL_NAMES.get(p);
  return name ? PROTOCOL_LABELS[name] : '?';
}

function protocolOption(p: number): string {
  return p === IPPROTO_TCP ? '-t' : p === IPPROTO_UDP ? '-u' : p === IPPROTO_SCTP ? '--sctp-service' : '--xxx-service';
}

/** print_service_entry: the service line and its (already ordered) destinations. */
export function serviceEntry(se: SvcRow, dests: DestRow[], format: number, names: HostNames): string {
  let svcName: string;
  if (se.fwmark) {
    // ipvsadm prints marks as signed ints (-f -1 for 4294967295), which its
    // own -R refuses; we print them unsigned.
    if (format & Fmt.RULE) svcName = se.af === AF_INET6 ? `-f ${se.fwmark} -6` : `-f ${se.fwmark}`;
    else svcName = se.af === AF_INET6 ? `FWM  ${se.fwmark} IPv6` : `FWM  ${se.fwmark}`;
  } else {
    const vname = addrPortName(se.af, se.text, se.port, se.protocol, format, names);
    if (format & Fmt.RULE) svcName = `${protocolOption(se.protocol)} ${vname}`;
    else {
      svcName = `${ljust(protocolName(se.protocol), 4)} ${vname}`;
      if (se.af !== AF_INET6) svcName = svcName.slice(0, 33);
    }
  }
  let out: string;
  if (format & Fmt.RULE) {
    out = `-A ${svcName} -s ${se.sched}`;
    if (se.flags & SvcFlag.PERSISTENT) {
      out += ` -p ${se.timeout}`;
      if (se.af === AF_INET && se.netmask !== 0xffffffff) out += ` -M ${numberToMask(se.netmask)}`;
      if (se.af === AF_INET6 && se.netmask !== 128) out += ` -M ${se.netmask}`;
    }
    if (se.pe) out += ` --pe ${se.pe}`;
    if (se.flags & SvcFlag.ONEPACKET) out += ' -o';
    if (se.flags & SCHED_MASK) out += ` -b ${schedFlags(se)}`;
  } else if (format & (Fmt.STATS | Fmt.RATE)) {
    const st = se.stats;
    const vals = format & Fmt.STATS
      ? [st.connections, st.packetsIn, st.packetsOut, st.bytesIn, st.bytesOut]
      : [st.cps, st.packetsInPerSecond, st.packetsOutPerSecond, st.bytesInPerSecond, st.bytesOutPerSecond];
    out = ljust(svcName, 33) + vals.map((v) => largenum(v, format)).join('');
  } else {
    out = `${svcName} ${se.sched}`;
    if (se.flags & SCHED_MASK) out += ` (${schedFlags(se)})`;
    if (se.flags & SvcFlag.PERSISTENT) {
      out += ` persistent ${se.timeout}`;
      if (se.af === AF_INET && se.netmask !== 0xffffffff) out += ` mask ${numberToMask(se.netmask)}`;
      if (se.af === AF_INET6 && se.netmask !== 128) out += ` mask ${se.netmask}`;
      if (se.pe) out += ` pe ${se.pe}`;
    }
    if (se.flags & SvcFlag.ONEPACKET) out += ' ops';
  }
  out += '\n';

  for (const e of dests) {
    let dname = addrPortName(e.af, e.text, e.port, se.protocol, format, names);
    if (!(format & Fmt.RULE) && e.af !== AF_INET6) dname = dname.slice(0, 28);
    const st = e.stats;
    if (format & Fmt.RULE) {
      if ((e.connFlags & ConnFlag.FWD_MASK) === ConnFlag.TUNNEL) out += tunnelRule(svcName, dname, e);
      else out += `-a ${svcName} -r ${dname} ${fwdSwitch(e.connFlags)} -w ${e.weight}\n`;
    } else if (format & Fmt.STATS) {
      out += `  -> ${ljust(dname, 28)}${[st.connections, st.packetsIn, st.packetsOut, st.bytesIn, st.bytesOut].map((v) => largenum(v, format)).join('')}\n`;
    } else if (format & Fmt.RATE) {
      out += `  -> ${ljust(dname, 28)} ${rjust(st.cps, 8)} ${rjust(st.packetsInPerSecond, 8)} ${rjust(st.packetsOutPerSecond, 8)}`;
      out += `${largenum(st.bytesInPerSecond, format)}${largenum(st.bytesOutPerSecond, format)}\n`;
    } else if (format & Fmt.THRESHOLDS) {
      out += `  -> ${ljust(dname, 28)} ${ljust(String(e.uThreshold), 10)} ${ljust(String(e.lThreshold), 10)} ${ljust(String(e.active), 10)} ${ljust(String(e.inactive), 10)}\n`;
    } else if (format & Fmt.PERSISTENTCONN) {
      out += `  -> ${ljust(dname, 28)} ${ljust(String(e.weight), 9)} ${ljust(String(e.persistent), 11)} ${ljust(String(e.active), 10)} ${ljust(String(e.inactive), 10)}\n`;
    } else if (format & Fmt.TUN_INFO) {
      out += `  -> ${ljust(dname, 28)} ${ljust(fwdName(e.connFlags), 7)} ${ljust(tunInfo(e) ?? 'n/a', 13)} ${ljust(String(e.weight), 6)} ${ljust(String(e.active), 10)} ${ljust(String(e.inactive), 10)}\n`;
    } else {
      out += `  -> ${ljust(dname, 28)} ${ljust(fwdName(e.connFlags), 7)} ${ljust(String(e.weight), 6)} ${ljust(String(e.active), 10)} ${ljust(String(e.inactive), 10)}\n`;
    }
  }
  return out;
}

export function timeoutsLine(t: Timeouts): string {
  return `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpFin} ${t.udp}\n`;
}

export function daemonLines(daemons: Daemon[]): string {
  let out = '';
  for (const d of daemons.slice(0, 2)) {
    out += `${d.state} sync daemon (mcast=${d.interface}, syncid=${d.syncId}`;
    if (d.syncMaxLen) out += `, maxlen=${d.syncMaxLen}`;
    if (d.mcastGroup !== undefined) out += `, group=${d.mcastGroup}`;
    if (d.mcastPort) out += `, port=${d.mcastPort}`;
    if (d.mcastTtl) out += `, ttl=${d.mcastTtl}`;
    out += ')\n';
  }
  return out;
}
