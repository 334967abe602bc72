/**
 * ipvsadm's command line, step by step as ipvsadm 1.31 takes it
 * (parse_options, then the checks of process_options): options are applied
 * in the order given, since ipvsadm's result depends on it (-M before or
 * after an IPv6 -t, -r before -t, ...), and the first failure wins with
 * ipvsadm's message and exit status. The tables it reads are in options.ts,
 * the argument parsers in args.ts.
 */
import { AF_INET, AF_INET6, ConnFlag, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, SvcFlag } from '../ipvs/constants.js';
import { TUNNEL_TYPES, lookup } from '../ipvs/names.js';
import { SERVICE_ADDR, parseFwmark, parseMcastGroup, parseNetmask, parseSchedFlags, parseService, parseTimeout } from './args.js';
import { stringToNumber } from './cparse.js';
import { CliExit, fail, tryHelp } from './exit.js';
import {
  COMMAND_RULES, FIRST, FLAG_OPTIONS, MAX_TIMEOUT, NUMBER_OPTIONS, OPT, OPTION_TABLE, OPTNAMES, type Cmd, Fmt, type RuleRow, T,
  TUN_OPTS, TUNNEL_RULES,
} from './options.js';
import { Scanner } from './popt.js';

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

function setOption(c: Command, optc: number): void {
  if (c.options.has(optc)) throw fail(2, `multiple '${OPTNAMES[optc]}' options specified`);
  c.options.add(optc);
}

/**
 * ipvsadm's check of the options given against a row of rules (its
 * generic_opt_check and tunnel_opt_check, which are one algorithm): in
 * column order, the first compulsory option missing, illegal option
 * present, or second of the exclusive ones fails.
 */
function checkRules(options: ReadonlySet<number>, row: RuleRow): void {
  let first = -1;
  for (let j = 0; j < row.options.length; j++) {
    const k = row.options[j]!;
    const rule = row.rules[j];
    if (!options.has(k)) {
      if (rule === '+') throw fail(2, `You need to supply the '${OPTNAMES[k]}' option for ${row.subject}`);
    } else if (rule === 'x') {
      throw fail(2, `Illegal '${OPTNAMES[k]}' option with ${row.subject}`);
    } else if (rule === '1') {
      if (first >= 0) throw fail(2, `The option '${OPTNAMES[k]}' conflicts with the '${OPTNAMES[first]}' option in ${row.subject}`);
      first = k;
    }
  }
}

/**
 * Applies one option (parse_options' switch) to `c`. The options that only
 * record themselves or take a number are in FLAG_OPTIONS and NUMBER_OPTIONS.
 */
async function applyOption(c: Command, val: string, raw: string | null, source: string, ctx: ParseContext, later: { schedFlags: string }): Promise<void> {
  const arg = raw ?? '';
  const flag = FLAG_OPTIONS[val];
  if (flag) {
    setOption(c, flag.optc);
    c.format |= flag.format ?? 0;
    c.svc.flags |= flag.svcFlags ?? 0;
    c.dest.tunFlags |= flag.tunFlags ?? 0;
    return;
  }
  const num = NUMBER_OPTIONS[val];
  if (num) {
    setOption(c, num.optc);
    const n = stringToNumber(arg, num.min, num.max);
    if (n === -1) throw fail(2, num.refusal);
    if (num.into[0] === 'dest') c.dest[num.into[1]] = n;
    else c.daemon[num.into[1]] = n;
    return;
  }
  switch (val) {
    case 't':
    case 'u':
    case T.SCTP:
      setOption(c, OPT.service);
      c.svc.protocol = val === 't' ? IPPROTO_TCP : val === 'u' ? IPPROTO_UDP : IPPROTO_SCTP;
      if (!((await parseService(arg, c.svc)) & SERVICE_ADDR)) throw fail(2, 'illegal virtual server address[:port] specified');
      return;
    case 'f':
      setOption(c, OPT.service);
      c.svc.af = AF_INET;
      c.svc.protocol = IPPROTO_TCP;
      c.svc.fwmark = parseFwmark(arg, !!ctx.restoring);
      return;
    case 's':
      setOption(c, OPT.scheduler);
      c.svc.schedName = arg.slice(0, 15);
      return;
    case 'p':
      setOption(c, OPT.persistent);
      c.svc.flags |= SvcFlag.PERSISTENT;
      c.svc.timeout = parseTimeout(raw, 1, MAX_TIMEOUT);
      return;
    case 'M':
      setOption(c, OPT.netmask);
      c.svc.netmask = await parseNetmask(arg, c.svc.af);
      return;
    case 'r': {
      setOption(c, OPT.server);
      const t = { ...c.svc };
      const parse = await parseService(arg, t);
      c.dest.af = t.af;
      c.dest.addr = t.addr;
      c.dest.port = t.port;
      if (!(parse & SERVICE_ADDR)) throw fail(2, 'illegal real server address[:port] specified');
      if (parse === SERVICE_ADDR) c.dest.port = c.svc.port;
      return;
    }
    case 'i':
    case 'g':
    case 'm':
      setOption(c, OPT.forward);
      c.dest.connFlags = val === 'i' ? ConnFlag.TUNNEL : val === 'g' ? ConnFlag.DROUTE : ConnFlag.MASQ;
      return;
    case T.MCAST_IFN:
      setOption(c, OPT.mcast);
      c.daemon.mcastIfn = arg.slice(0, 15);
      return;
    case T.SORT:
      return;
    case '6':
      if (!c.svc.fwmark) throw fail(2, '-6 used before -f\n');
      c.svc.af = AF_INET6;
      c.svc.netmask = 128;
      return;
    case T.PE:
      setOption(c, OPT.pe);
      c.svc.peName = arg.slice(0, 15);
      return;
    case 'b':
      setOption(c, OPT.schedflags);
      later.schedFlags = arg.slice(0, 127);
      return;
    case T.GROUP:
      setOption(c, OPT.mcastgroup);
      c.daemon.mcastGroup = parseMcastGroup(arg);
      return;
    case T.TUN_TYPE: {
      setOption(c, OPT.tuntype);
      const t = lookup(TUNNEL_TYPES, arg);
      if (t === undefined) throw fail(2, 'illegal tunnel type specified');
      c.dest.tunType = t;
      return;
    }
    case T.NETNS:
      if (ctx.restoring) throw fail(2, "the '--netns' option is not allowed in -R input");
      if (c.netns !== undefined) throw fail(2, "multiple 'netns' options specified");
      c.netns = arg;
      return;
    default:
      throw fail(2, `invalid option \`${source}'`);
  }
}

/** process_options' checks of the whole command, in ipvsadm's order. */
function checkCommand(c: Command): void {
  const cmd = c.cmd;
  checkRules(c.options, COMMAND_RULES[cmd]!);
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
    const tunOpts = c.options.has(OPT.tuntype) || TUN_OPTS.some((o) => c.options.has(o));
    if (tunOpts && fwd !== ConnFlag.TUNNEL) throw fail(2, 'Tunnel options conflict with forward method');
    checkRules(c.options, TUNNEL_RULES[c.dest.tunType]!);
  }
  if (cmd === 'list') {
    const o = c.options;
    if (((o.has(OPT.connection) || o.has(OPT.timeout) || o.has(OPT.daemon)) && (o.has(OPT.stats) || o.has(OPT.rate) || o.has(OPT.thresholds))) ||
      ((o.has(OPT.timeout) || o.has(OPT.daemon)) && o.has(OPT.persistentconn))) {
      throw fail(2, 'options conflicts in the list command');
    }
  }
  if (cmd === 'save') c.format |= Fmt.RULE;
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
  // -b is read once every option is in: its flags depend on the scheduler.
  const later = { schedFlags: '' };
  for (;;) {
    const r = sc.nextOpt();
    if (r.kind === 'end') break;
    if (r.kind === 'error') throw new CliExit(255, `${r.bad}: ${r.error}\n`);
    await applyOption(c, r.val, r.arg, r.source, ctx, later);
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
  if (later.schedFlags) {
    c.svc.flags &= ~(SvcFlag.SCHED1 | SvcFlag.SCHED2 | SvcFlag.SCHED3);
    c.svc.flags |= parseSchedFlags(c.svc.schedName, later.schedFlags);
  }
  checkCommand(c);
  return c;
}
