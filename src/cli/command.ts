/**
 * ipvsadm's command line, step by step as ipvsadm 1.31 takes it
 * (parse_options, then the checks of process_options): options are applied
 * in the order given, since ipvsadm's result depends on it (-M before or
 * after an IPv6 -t, -r before -t, ...), and the first failure wins with
 * ipvsadm's message and exit status.
 */
import { isMulticast } from '../ipvs/address.js';
import { AF_INET, AF_INET6, ConnFlag, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, SvcFlag } from '../ipvs/constants.js';
import { atoi, inetAton, inetPton6, stringToNumber } from './cparse.js';
import { hostToAddr, serviceToPort } from './names.js';
import { Scanner, type OptionSpec } from './popt.js';

/** An early exit: text for stderr (or stdout for help) and ipvsadm's status. */
export class CliExit extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
    readonly stream: 'stdout' | 'stderr' = 'stderr',
  ) {
    super(text);
  }
}

/** ipvsadm's fail(): the message and a newline, then exit. */
export const fail = (status: number, msg: string): CliExit => new CliExit(status, `${msg}\n`);
export const tryHelp = (prog: string): CliExit => new CliExit(255, `Try \`${prog} -h' or '${prog} --help' for more information.\n`);

export const MAX_TIMEOUT = 86400 * 31;
const INT_MAX = 0x7fffffff;

export type Cmd =
  | 'add-service' | 'edit-service' | 'delete-service' | 'flush' | 'list' | 'add-server' | 'delete-server'
  | 'edit-server' | 'set' | 'start-daemon' | 'stop-daemon' | 'restore' | 'save' | 'zero' | 'help' | 'version';

/** ipvsadm's OPTC_* numbering, and the names its messages use; 34 and up are ours. */
export const OPT = {
  numeric: 0, connection: 1, service: 2, scheduler: 3, persistent: 4, netmask: 5, server: 6, forward: 7,
  weight: 8, uthreshold: 9, lthreshold: 10, mcast: 11, timeout: 12, daemon: 13, stats: 14, rate: 15,
  thresholds: 16, persistentconn: 17, nosort: 18, syncid: 19, exact: 20, onepacket: 21, pe: 22, schedflags: 23,
  mcastgroup: 24, mcastport: 25, mcastttl: 26, syncmaxlen: 27, tuninfo: 28, tuntype: 29, tunport: 30,
  tunnocsum: 31, tuncsum: 32, tunremcsum: 33, json: 34,
} as const;

const OPTNAMES = [
  'numeric', 'connection', 'service-address', 'scheduler', 'persistent', 'netmask', 'real-server', 'forwarding-method',
  'weight', 'u-threshold', 'l-threshold', 'mcast-interface', 'timeout', 'daemon', 'stats', 'rate', 'thresholds',
  'persistent-conn', 'nosort', 'syncid', 'exact', 'ops', 'pe', 'sched-flags', 'mcast-group', 'mcast-port', 'mcast-ttl',
  'sync-maxlen', 'tun-info', 'tun-type', 'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum', 'json',
];

// commands_v_options of ipvsadm.c, one string per command ('+' compulsory,
// 'x' illegal, '1' exclusive, ' ' optional), plus our --json column.
const CMD_OPTS: Record<string, string> = {
  'add-service': 'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxxx',
  'edit-service': 'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxxx',
  'delete-service': 'xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  flush: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  list: ' 11xxxxxxxxx11       xxxxxxx xxxxx ',
  'add-server': 'xx+xxx+    xxxxxxxxxxxxxxxxxx     x',
  'delete-server': 'xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'edit-server': 'xx+xxx+    xxxxxxxxxxxxxxxxxx     x',
  set: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'start-daemon': 'xxxxxxxxxxx xxxxxxx xxxx    xxxxxxx',
  'stop-daemon': 'xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxxx',
  restore: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  save: ' xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ',
  zero: 'xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
};

/** Tunnel types against --tun-port, --tun-nocsum, --tun-csum, --tun-remcsum. */
const TUN_NAMES = ['ipip', 'gue', 'gre'];
const TUN_OPTS = [OPT.tunport, OPT.tunnocsum, OPT.tuncsum, OPT.tunremcsum];
const TUN_TABLE = ['xxxx', '+111', 'x11x'];

export const Fmt = {
  NUMERIC: 0x1, RULE: 0x2, STATS: 0x4, RATE: 0x8, THRESHOLDS: 0x10, PERSISTENTCONN: 0x20, NOSORT: 0x40, EXACT: 0x80, TUN_INFO: 0x100,
} as const;

/** ipvs_service_t as ipvsadm fills it. */
export interface SvcEntry {
  af: number;
  protocol: number;
  /** 16 bytes; an IPv4 address in the first 4. */
  addr: Uint8Array;
  port: number;
  fwmark: number;
  schedName: string;
  flags: number;
  timeout: number;
  /** IPv4: the mask as a 32-bit number (a.b.c.d = a<<24|...); IPv6: a prefix length. */
  netmask: number;
  peName: string;
}

export interface DestEntry {
  af: number;
  addr: Uint8Array;
  port: number;
  connFlags: number;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  tunType: number;
  tunPort: number;
  tunFlags: number;
}

export interface DaemonEntry {
  state: 'master' | 'backup';
  mcastIfn: string;
  syncId: number;
  syncMaxLen: number;
  mcastGroup?: { af: number; addr: Uint8Array };
  mcastPort: number;
  mcastTtl: number;
}

/** A parsed command line, ready to run. */
export interface Command {
  cmd: Cmd;
  options: Set<number>;
  format: number;
  svc: SvcEntry;
  dest: DestEntry;
  daemon: DaemonEntry;
  timeouts: { tcp: number; tcpFin: number; udp: number };
  /** --netns NAME (ours). */
  netns?: string;
}

const T = {
  SET: 'set', START: 'start-daemon', STOP: 'stop-daemon', MCAST_IFN: 'mcast-interface', TIMEOUT: 'timeout', DAEMON: 'daemon',
  STATS: 'stats', RATE: 'rate', THRESHOLDS: 'thresholds', PCONN: 'persistent-conn', SORT: 'sort', NOSORT: 'nosort',
  PE: 'pe', SCTP: 'sctp', GROUP: 'mcast-group', MPORT: 'mcast-port', TTL: 'mcast-ttl', MAXLEN: 'sync-maxlen',
  TUN_INFO: 'tun-info', TUN_TYPE: 'tun-type', TUN_PORT: 'tun-port', NOCSUM: 'tun-nocsum', CSUM: 'tun-csum', REMCSUM: 'tun-remcsum',
  JSON: 'json', NETNS: 'netns',
} as const;

/** ipvsadm's popt option table (order matters: --list finds -L first), plus --json and --netns. */
export const OPTION_TABLE: readonly OptionSpec[] = [
  { long: 'add-service', short: 'A', arg: 'none', val: 'A' },
  { long: 'edit-service', short: 'E', arg: 'none', val: 'E' },
  { long: 'delete-service', short: 'D', arg: 'none', val: 'D' },
  { long: 'clear', short: 'C', arg: 'none', val: 'C' },
  { long: 'list', short: 'L', arg: 'none', val: 'L' },
  { long: 'list', short: 'l', arg: 'none', val: 'l' },
  { long: 'zero', short: 'Z', arg: 'none', val: 'Z' },
  { long: 'add-server', short: 'a', arg: 'none', val: 'a' },
  { long: 'edit-server', short: 'e', arg: 'none', val: 'e' },
  { long: 'delete-server', short: 'd', arg: 'none', val: 'd' },
  { long: 'set', arg: 'none', val: T.SET },
  { long: 'help', short: 'h', arg: 'none', val: 'h' },
  { long: 'version', short: 'v', arg: 'none', val: 'v' },
  { long: 'restore', short: 'R', arg: 'none', val: 'R' },
  { long: 'save', short: 'S', arg: 'none', val: 'S' },
  { long: 'start-daemon', arg: 'string', val: T.START },
  { long: 'stop-daemon', arg: 'string', val: T.STOP },
  { long: 'tcp-service', short: 't', arg: 'string', val: 't' },
  { long: 'udp-service', short: 'u', arg: 'string', val: 'u' },
  { long: 'sctp-service', arg: 'string', val: T.SCTP },
  { long: 'fwmark-service', short: 'f', arg: 'string', val: 'f' },
  { long: 'scheduler', short: 's', arg: 'string', val: 's' },
  { long: 'persistent', short: 'p', arg: 'optional', val: 'p' },
  { long: 'netmask', short: 'M', arg: 'string', val: 'M' },
  { long: 'real-server', short: 'r', arg: 'string', val: 'r' },
  { long: 'masquerading', short: 'm', arg: 'none', val: 'm' },
  { long: 'ipip', short: 'i', arg: 'none', val: 'i' },
  { long: 'gatewaying', short: 'g', arg: 'none', val: 'g' },
  { long: 'weight', short: 'w', arg: 'string', val: 'w' },
  { long: 'u-threshold', short: 'x', arg: 'string', val: 'x' },
  { long: 'l-threshold', short: 'y', arg: 'string', val: 'y' },
  { long: 'numeric', short: 'n', arg: 'none', val: 'n' },
  { long: 'connection', short: 'c', arg: 'none', val: 'c' },
  { long: 'mcast-interface', arg: 'string', val: T.MCAST_IFN },
  { long: 'syncid', arg: 'string', val: 'I' },
  { long: 'timeout', arg: 'none', val: T.TIMEOUT },
  { long: 'daemon', arg: 'none', val: T.DAEMON },
  { long: 'stats', arg: 'none', val: T.STATS },
  { long: 'rate', arg: 'none', val: T.RATE },
  { long: 'thresholds', arg: 'none', val: T.THRESHOLDS },
  { long: 'persistent-conn', arg: 'none', val: T.PCONN },
  { long: 'nosort', arg: 'none', val: T.NOSORT },
  { long: 'sort', arg: 'none', val: T.SORT },
  { long: 'exact', short: 'X', arg: 'none', val: 'X' },
  { long: 'ipv6', short: '6', arg: 'none', val: '6' },
  { long: 'ops', short: 'o', arg: 'none', val: 'o' },
  { long: 'pe', arg: 'string', val: T.PE },
  { long: 'sched-flags', short: 'b', arg: 'string', val: 'b' },
  { long: 'mcast-group', arg: 'string', val: T.GROUP },
  { long: 'mcast-port', arg: 'string', val: T.MPORT },
  { long: 'mcast-ttl', arg: 'string', val: T.TTL },
  { long: 'sync-maxlen', arg: 'string', val: T.MAXLEN },
  { long: 'tun-info', arg: 'none', val: T.TUN_INFO },
  { long: 'tun-type', arg: 'string', val: T.TUN_TYPE },
  { long: 'tun-port', arg: 'string', val: T.TUN_PORT },
  { long: 'tun-nocsum', arg: 'none', val: T.NOCSUM },
  { long: 'tun-csum', arg: 'none', val: T.CSUM },
  { long: 'tun-remcsum', arg: 'none', val: T.REMCSUM },
  { long: 'json', arg: 'none', val: T.JSON },
  { long: 'netns', arg: 'string', val: T.NETNS },
];

const FIRST: Record<string, Cmd> = {
  A: 'add-service', E: 'edit-service', D: 'delete-service', a: 'add-server', e: 'edit-server', d: 'delete-server',
  C: 'flush', L: 'list', l: 'list', Z: 'zero', [T.SET]: 'set', R: 'restore', S: 'save', h: 'help', v: 'version',
  [T.START]: 'start-daemon', [T.STOP]: 'stop-daemon',
};

export interface ParseContext {
  /** Program name for messages (ipvsadm's argv[0]). */
  prog: string;
  /** Inside -R: --netns is not allowed per line. */
  restoring?: boolean;
}

function newCommand(cmd: Cmd): Command {
  return {
    cmd,
    options: new Set(),
    format: 0,
    svc: { af: 0, protocol: 0, addr: new Uint8Array(16), port: 0, fwmark: 0, schedName: '', flags: 0, timeout: 0, netmask: 0xffffffff, peName: '' },
    dest: { af: 0, addr: new Uint8Array(16), port: 0, connFlags: ConnFlag.DROUTE, weight: 1, uThreshold: 0, lThreshold: 0, tunType: 0, tunPort: 0, tunFlags: 0 },
    daemon: { state: 'master', mcastIfn: '', syncId: 0, syncMaxLen: 0, mcastPort: 0, mcastTtl: 0 },
    timeouts: { tcp: 0, tcpFin: 0, udp: 0 },
  };
}

const SERVICE_ADDR = 1;
const SERVICE_PORT = 2;

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
  return p === IPPROTO_TCP ? 'tcp' : p === IPPROTO_UDP ? 'udp' : p === IPPROTO_SCTP ? 'sctp' : undefined;
}

function parseTimeout(arg: string | null, min: number, max: number): number {
  if (arg === null) return 360;
  const i = stringToNumber(arg, min, max);
  if (i === -1) throw fail(2, `invalid timeout value \`${arg}' specified`);
  return i;
}

function parseFwmark(arg: string, restoring: boolean): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(arg);
  let v = m ? Number(m[2]) * (m[1] === '-' ? -1 : 1) : NaN;
  // ipvsadm saves marks of 2^31 and above as negative numbers: -R reads them back.
  if (restoring && v < 0 && v >= -0x80000000) v += 2 ** 32;
  if (!m || !(v > 0) || v > 0xffffffff) throw fail(2, `invalid fwmark value \`${arg}' specified`);
  return v;
}

function parseSchedFlags(sched: string, arg: string): number {
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

function setOption(c: Command, optc: number): void {
  if (c.options.has(optc)) throw fail(2, `multiple '${OPTNAMES[optc]}' options specified`);
  c.options.add(optc);
}

function genericOptCheck(c: Command): void {
  const row = CMD_OPTS[c.cmd]!;
  let last = 0;
  let count = 0;
  for (let j = 0; j < row.length; j++) {
    const rule = row[j];
    if (!c.options.has(j)) {
      if (rule === '+') throw fail(2, `You need to supply the '${OPTNAMES[j]}' option for the '${c.cmd}' command`);
    } else {
      if (rule === 'x') throw fail(2, `Illegal '${OPTNAMES[j]}' option with the '${c.cmd}' command`);
      if (rule === '1') {
        if (++count === 1) {
          last = j;
          continue;
        }
        throw fail(2, `The option '${OPTNAMES[j]}' conflicts with the '${OPTNAMES[last]}' option in the '${c.cmd}' command`);
      }
    }
  }
}

function tunnelOptCheck(c: Command): void {
  const i = c.dest.tunType;
  let last = 0;
  let count = 0;
  for (let j = 0; j < TUN_OPTS.length; j++) {
    const k = TUN_OPTS[j]!;
    const rule = TUN_TABLE[i]![j];
    if (!c.options.has(k)) {
      if (rule === '+') throw fail(2, `You need to supply the '${OPTNAMES[k]}' option for the '${TUN_NAMES[i]}' tunnel type`);
    } else {
      if (rule === 'x') throw fail(2, `Illegal '${OPTNAMES[k]}' option with the '${TUN_NAMES[i]}' tunnel type`);
      if (rule === '1') {
        if (++count === 1) {
          last = k;
          continue;
        }
        throw fail(2, `The option '${OPTNAMES[k]}' conflicts with the '${OPTNAMES[last]}' option in the '${TUN_NAMES[i]}' tunnel type`);
      }
    }
  }
}

/**
 * Parses one command line (the arguments after the program name) the way
 * ipvsadm does; throws CliExit for every refusal.
 */
export async function parseCommand(args: readonly string[], ctx: ParseContext): Promise<Command> {
  const sc = new Scanner(OPTION_TABLE, args);
  let first = sc.nextOpt();
  // Our --netns may come before the command, which ipvsadm wants first.
  let netns: string | undefined;
  while (first.kind === 'option' && first.val === T.NETNS && !ctx.restoring) {
    if (netns !== undefined) throw fail(2, "multiple 'netns' options specified");
    netns = first.arg ?? '';
    first = sc.nextOpt();
  }
  if (first.kind !== 'option') throw tryHelp(ctx.prog);
  const cmd = FIRST[first.val];
  if (!cmd) throw tryHelp(ctx.prog);
  const c = newCommand(cmd);
  if (netns !== undefined) c.netns = netns;
  if (cmd === 'help' || cmd === 'version') return c;
  if (cmd === 'start-daemon' || cmd === 'stop-daemon') {
    if (first.arg === 'master' || first.arg === 'backup') c.daemon.state = first.arg;
    else throw fail(2, cmd === 'start-daemon' ? 'illegal start-daemon parameter specified' : 'illegal start_daemon specified');
  }
  let schedFlagsArg = '';
  for (;;) {
    const r = sc.nextOpt();
    if (r.kind === 'end') break;
    if (r.kind === 'error') throw new CliExit(255, `${r.bad}: ${r.error}\n`);
    const arg = r.arg ?? '';
    switch (r.val) {
      case 't':
      case 'u':
      case T.SCTP: {
        setOption(c, OPT.service);
        c.svc.protocol = r.val === 't' ? IPPROTO_TCP : r.val === 'u' ? IPPROTO_UDP : IPPROTO_SCTP;
        if (!((await parseService(arg, c.svc)) & SERVICE_ADDR)) throw fail(2, 'illegal virtual server address[:port] specified');
        break;
      }
      case 'f':
        setOption(c, OPT.service);
        c.svc.af = AF_INET;
        c.svc.protocol = IPPROTO_TCP;
        c.svc.fwmark = parseFwmark(arg, !!ctx.restoring);
        break;
      case 's':
        setOption(c, OPT.scheduler);
        c.svc.schedName = arg.slice(0, 15);
        break;
      case 'p':
        setOption(c, OPT.persistent);
        c.svc.flags |= SvcFlag.PERSISTENT;
        c.svc.timeout = parseTimeout(r.arg, 1, MAX_TIMEOUT);
        break;
      case 'M':
        setOption(c, OPT.netmask);
        if (c.svc.af !== AF_INET6) {
          const m = inetAton(arg) ?? (await hostToAddr(arg));
          if (!m) throw fail(2, 'illegal virtual server persistent mask specified');
          c.svc.netmask = ((m[0]! << 24) | (m[1]! << 16) | (m[2]! << 8) | m[3]!) >>> 0;
        } else {
          c.svc.netmask = atoi(arg);
          if (c.svc.netmask < 1 || c.svc.netmask > 128) throw fail(2, 'illegal ipv6 netmask specified');
        }
        break;
      case 'r': {
        setOption(c, OPT.server);
        const t = { ...c.svc };
        const parse = await parseService(arg, t);
        c.dest.af = t.af;
        c.dest.addr = t.addr;
        c.dest.port = t.port;
        if (!(parse & SERVICE_ADDR)) throw fail(2, 'illegal real server address[:port] specified');
        if (parse === SERVICE_ADDR) c.dest.port = c.svc.port;
        break;
      }
      case 'i':
      case 'g':
      case 'm':
        setOption(c, OPT.forward);
        c.dest.connFlags = r.val === 'i' ? ConnFlag.TUNNEL : r.val === 'g' ? ConnFlag.DROUTE : ConnFlag.MASQ;
        break;
      case 'w':
        setOption(c, OPT.weight);
        if ((c.dest.weight = stringToNumber(arg, 0, INT_MAX)) === -1) throw fail(2, 'illegal weight specified');
        break;
      case 'x':
        setOption(c, OPT.uthreshold);
        if ((c.dest.uThreshold = stringToNumber(arg, 0, INT_MAX)) === -1) throw fail(2, 'illegal u_threshold specified');
        break;
      case 'y':
        setOption(c, OPT.lthreshold);
        if ((c.dest.lThreshold = stringToNumber(arg, 0, INT_MAX)) === -1) throw fail(2, 'illegal l_threshold specified');
        break;
      case 'c':
        setOption(c, OPT.connection);
        break;
      case 'n':
        setOption(c, OPT.numeric);
        c.format |= Fmt.NUMERIC;
        break;
      case T.MCAST_IFN:
        setOption(c, OPT.mcast);
        c.daemon.mcastIfn = arg.slice(0, 15);
        break;
      case 'I':
        setOption(c, OPT.syncid);
        if ((c.daemon.syncId = stringToNumber(arg, 0, 255)) === -1) throw fail(2, 'illegal syncid specified');
        break;
      case T.TIMEOUT:
        setOption(c, OPT.timeout);
        break;
      case T.DAEMON:
        setOption(c, OPT.daemon);
        break;
      case T.STATS:
        setOption(c, OPT.stats);
        c.format |= Fmt.STATS;
        break;
      case T.RATE:
        setOption(c, OPT.rate);
        c.format |= Fmt.RATE;
        break;
      case T.THRESHOLDS:
        setOption(c, OPT.thresholds);
        c.format |= Fmt.THRESHOLDS;
        break;
      case T.PCONN:
        setOption(c, OPT.persistentconn);
        c.format |= Fmt.PERSISTENTCONN;
        break;
      case T.NOSORT:
        setOption(c, OPT.nosort);
        c.format |= Fmt.NOSORT;
        break;
      case T.SORT:
        break;
      case 'X':
        setOption(c, OPT.exact);
        c.format |= Fmt.EXACT;
        break;
      case '6':
        if (!c.svc.fwmark) throw fail(2, '-6 used before -f\n');
        c.svc.af = AF_INET6;
        c.svc.netmask = 128;
        break;
      case 'o':
        setOption(c, OPT.onepacket);
        c.svc.flags |= SvcFlag.ONEPACKET;
        break;
      case T.PE:
        setOption(c, OPT.pe);
        c.svc.peName = arg.slice(0, 15);
        break;
      case 'b':
        setOption(c, OPT.schedflags);
        schedFlagsArg = arg.slice(0, 127);
        break;
      case T.GROUP: {
        setOption(c, OPT.mcastgroup);
        if (arg.includes(':')) {
          const g = inetPton6(arg);
          if (!g || !isMulticast('inet6', g)) throw fail(2, `invalid IPv6 mcast-group \`${arg}'`);
          c.daemon.mcastGroup = { af: AF_INET6, addr: g };
        } else {
          const g = inetPton4Strict(arg);
          if (!g || !isMulticast('inet', g)) throw fail(2, `invalid IPv4 mcast-group \`${arg}'`);
          c.daemon.mcastGroup = { af: AF_INET, addr: g };
        }
        break;
      }
      case T.MPORT: {
        setOption(c, OPT.mcastport);
        const n = stringToNumber(arg, 1, 65535);
        if (n === -1) throw fail(2, 'illegal mcast-port specified');
        c.daemon.mcastPort = n;
        break;
      }
      case T.TTL: {
        setOption(c, OPT.mcastttl);
        const n = stringToNumber(arg, 1, 255);
        if (n === -1) throw fail(2, 'illegal mcast-ttl specified');
        c.daemon.mcastTtl = n;
        break;
      }
      case T.MAXLEN: {
        setOption(c, OPT.syncmaxlen);
        const n = stringToNumber(arg, 1, 65535 - 20 - 8);
        if (n === -1) throw fail(2, 'illegal sync-maxlen specified');
        c.daemon.syncMaxLen = n;
        break;
      }
      case T.TUN_INFO:
        setOption(c, OPT.tuninfo);
        c.format |= Fmt.TUN_INFO;
        break;
      case T.TUN_TYPE: {
        setOption(c, OPT.tuntype);
        const t = TUN_NAMES.indexOf(arg);
        if (t < 0) throw fail(2, 'illegal tunnel type specified');
        c.dest.tunType = t;
        break;
      }
      case T.TUN_PORT: {
        setOption(c, OPT.tunport);
        const n = stringToNumber(arg, 1, 65535);
        if (n === -1) throw fail(2, 'illegal tunnel port specified');
        c.dest.tunPort = n;
        break;
      }
      case T.NOCSUM:
        setOption(c, OPT.tunnocsum);
        break;
      case T.CSUM:
        setOption(c, OPT.tuncsum);
        c.dest.tunFlags |= 1;
        break;
      case T.REMCSUM:
        setOption(c, OPT.tunremcsum);
        c.dest.tunFlags |= 2;
        break;
      case T.JSON:
        setOption(c, OPT.json);
        break;
      case T.NETNS:
        if (ctx.restoring) throw fail(2, "the '--netns' option is not allowed in -R input");
        if (c.netns !== undefined) throw fail(2, "multiple 'netns' options specified");
        c.netns = arg;
        break;
      default:
        throw fail(2, `invalid option \`${r.source}'`);
    }
  }

  if (cmd === 'set') {
    const a = sc.getArg();
    const b = a === undefined ? undefined : sc.getArg();
    const d = b === undefined ? undefined : sc.getArg();
    if (a === undefined || b === undefined || d === undefined) throw fail(2, '--set option requires 3 timeout values');
    c.timeouts = { tcp: parseTimeout(a, 0, MAX_TIMEOUT), tcpFin: parseTimeout(b, 0, MAX_TIMEOUT), udp: parseTimeout(d, 0, MAX_TIMEOUT) };
  }
  const extra = sc.getArg();
  if (extra !== undefined) throw fail(2, `unexpected argument ${extra}`);
  if (schedFlagsArg) {
    c.svc.flags &= ~(SvcFlag.SCHED1 | SvcFlag.SCHED2 | SvcFlag.SCHED3);
    c.svc.flags |= parseSchedFlags(c.svc.schedName, schedFlagsArg);
  }

  // process_options
  genericOptCheck(c);
  if (cmd === 'add-service' || cmd === 'edit-service') {
    if (!c.svc.fwmark && !c.svc.port && !(c.svc.flags & SvcFlag.PERSISTENT)) throw fail(2, 'Zero port specified for non-persistent service');
    if (c.svc.flags & SvcFlag.ONEPACKET && !c.svc.fwmark && c.svc.protocol !== IPPROTO_UDP) throw fail(2, 'One-Packet Scheduling is only for UDP virtual services');
    if (c.svc.schedName === '') c.svc.schedName = 'wlc';
  }
  if (cmd === 'start-daemon' && c.daemon.mcastIfn === '') c.daemon.mcastIfn = 'eth0';
  const fwd = c.dest.connFlags & ConnFlag.FWD_MASK;
  if (cmd === 'add-server' || cmd === 'edit-server') {
    if (!c.svc.fwmark && (fwd === ConnFlag.TUNNEL || fwd === ConnFlag.DROUTE)) c.dest.port = c.svc.port;
    if (c.dest.af !== c.svc.af && fwd !== ConnFlag.TUNNEL) throw fail(2, 'Different address family is allowed only for tunneling servers');
    const tunOpts = [OPT.tuntype, OPT.tunport, OPT.tunnocsum, OPT.tuncsum, OPT.tunremcsum].some((o) => c.options.has(o));
    if (tunOpts && fwd !== ConnFlag.TUNNEL) throw fail(2, 'Tunnel options conflict with forward method');
    tunnelOptCheck(c);
  }
  if (cmd === 'list') {
    const o = c.options;
    if (((o.has(OPT.connection) || o.has(OPT.timeout) || o.has(OPT.daemon)) && (o.has(OPT.stats) || o.has(OPT.rate) || o.has(OPT.thresholds))) ||
      ((o.has(OPT.timeout) || o.has(OPT.daemon)) && o.has(OPT.persistentconn))) {
      throw fail(2, 'options conflicts in the list command');
    }
  }
  if (cmd === 'save') c.format |= Fmt.RULE;
  return c;
}

/** inet_pton(AF_INET) as ipvsadm uses it for --mcast-group. */
function inetPton4Strict(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0') || Number(p) > 255)) return undefined;
  return Uint8Array.from(parts.map(Number));
}

