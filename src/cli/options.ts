/**
 * ipvsadm 1.31's option tables, as data: the popt table, the OPTC_*
 * numbering and names its messages use, which options each command takes
 * (commands_v_options), which options each tunnel type takes, and what the
 * options that only record themselves or take a number in a range do.
 * The parser (command.ts) reads them; nothing here runs.
 */
import { SvcFlag, TunnelType } from '../ipvs/constants.js';
import { TUNNEL_NAMES } from '../ipvs/names.js';
import type { OptionSpec } from './popt.js';

export type Cmd =
  | 'add-service' | 'edit-service' | 'delete-service' | 'flush' | 'list' | 'add-server' | 'delete-server'
  | 'edit-server' | 'set' | 'start-daemon' | 'stop-daemon' | 'restore' | 'save' | 'zero' | 'help' | 'version';

export const MAX_TIMEOUT = 86400 * 31;
export const INT_MAX = 0x7fffffff;

/** ipvsadm's OPTC_* numbering, and the names its messages use; 34 and up are ours. */
export const OPT = {
  numeric: 0, connection: 1, service: 2, scheduler: 3, persistent: 4, netmask: 5, server: 6, forward: 7,
  weight: 8, uthreshold: 9, lthreshold: 10, mcast: 11, timeout: 12, daemon: 13, stats: 14, rate: 15,
  thresholds: 16, persistentconn: 17, nosort: 18, syncid: 19, exact: 20, onepacket: 21, pe: 22, schedflags: 23,
  mcastgroup: 24, mcastport: 25, mcastttl: 26, syncmaxlen: 27, tuninfo: 28, tuntype: 29, tunport: 30,
  tunnocsum: 31, tuncsum: 32, tunremcsum: 33, json: 34,
} as const;

export const OPTNAMES = [
  'numeric', 'connection', 'service-address', 'scheduler', 'persistent', 'netmask', 'real-server', 'forwarding-method',
  'weight', 'u-threshold', 'l-threshold', 'mcast-interface', 'timeout', 'daemon', 'stats', 'rate', 'thresholds',
  'persistent-conn', 'nosort', 'syncid', 'exact', 'ops', 'pe', 'sched-flags', 'mcast-group', 'mcast-port', 'mcast-ttl',
  'sync-maxlen', 'tun-info', 'tun-type', 'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum', 'json',
];

/**
 * A table of rules (see checkRules in command.ts): one character per
 * option, '+' compulsory, 'x' illegal, '1' at most one of the '1's, ' '
 * optional.
 */
export interface RuleRow {
  /** The OPTC_* number of each character's option. */
  options: readonly number[];
  rules: string;
  /** "the 'add-service' command", "the 'gue' tunnel type". */
  subject: string;
}

const ALL_OPTIONS = OPTNAMES.map((_, i) => i);
const commandRow = (cmd: Cmd, rules: string): RuleRow => ({ options: ALL_OPTIONS, rules, subject: `the '${cmd}' command` });

// commands_v_options of ipvsadm.c, plus our --json column.
export const COMMAND_RULES: Partial<Record<Cmd, RuleRow>> = {
  'add-service': commandRow('add-service', 'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxxx'),
  'edit-service': commandRow('edit-service', 'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxxx'),
  'delete-service': commandRow('delete-service', 'xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'),
  flush: commandRow('flush', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'),
  list: commandRow('list', ' 11xxxxxxxxx11       xxxxxxx xxxxx '),
  'add-server': commandRow('add-server', 'xx+xxx+    xxxxxxxxxxxxxxxxxx     x'),
  'delete-server': commandRow('delete-server', 'xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxxx'),
  'edit-server': commandRow('edit-server', 'xx+xxx+    xxxxxxxxxxxxxxxxxx     x'),
  set: commandRow('set', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'),
  'start-daemon': commandRow('start-daemon', 'xxxxxxxxxxx xxxxxxx xxxx    xxxxxxx'),
  'stop-daemon': commandRow('stop-daemon', 'xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxxx'),
  restore: commandRow('restore', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'),
  save: commandRow('save', ' xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx '),
  zero: commandRow('zero', 'xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'),
};

/** The tunnel options, the columns of TUNNEL_RULES; any of them needs tunnel forwarding. */
export const TUN_OPTS = [OPT.tunport, OPT.tunnocsum, OPT.tuncsum, OPT.tunremcsum];
/** tunnel_types_v_options of ipvsadm.c, indexed by tunnel type number. */
export const TUNNEL_RULES: readonly RuleRow[] = [
  [TunnelType.IPIP, 'xxxx'],
  [TunnelType.GUE, '+111'],
  [TunnelType.GRE, 'x11x'],
].map(([type, rules]) => ({ options: TUN_OPTS, rules: rules as string, subject: `the '${TUNNEL_NAMES.get(type as number)}' tunnel type` }));

export const Fmt = {
  NUMERIC: 0x1, RULE: 0x2, STATS: 0x4, RATE: 0x8, THRESHOLDS: 0x10, PERSISTENTCONN: 0x20, NOSORT: 0x40, EXACT: 0x80, TUN_INFO: 0x100,
} as const;

/** popt values of the long-only options. */
export const T = {
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

/** The command each first option names. */
export const FIRST: Record<string, Cmd> = {
  A: 'add-service', E: 'edit-service', D: 'delete-service', a: 'add-server', e: 'edit-server', d: 'delete-server',
  C: 'flush', L: 'list', l: 'list', Z: 'zero', [T.SET]: 'set', R: 'restore', S: 'save', h: 'help', v: 'version',
  [T.START]: 'start-daemon', [T.STOP]: 'stop-daemon',
};

/** Options that record themselves and set bits: of the listing format, the service's flags, the tunnel's flags. */
export const FLAG_OPTIONS: Readonly<Record<string, { optc: number; format?: number; svcFlags?: number; tunFlags?: number }>> = {
  c: { optc: OPT.connection },
  n: { optc: OPT.numeric, format: Fmt.NUMERIC },
  [T.TIMEOUT]: { optc: OPT.timeout },
  [T.DAEMON]: { optc: OPT.daemon },
  [T.STATS]: { optc: OPT.stats, format: Fmt.STATS },
  [T.RATE]: { optc: OPT.rate, format: Fmt.RATE },
  [T.THRESHOLDS]: { optc: OPT.thresholds, format: Fmt.THRESHOLDS },
  [T.PCONN]: { optc: OPT.persistentconn, format: Fmt.PERSISTENTCONN },
  [T.NOSORT]: { optc: OPT.nosort, format: Fmt.NOSORT },
  X: { optc: OPT.exact, format: Fmt.EXACT },
  o: { optc: OPT.onepacket, svcFlags: SvcFlag.ONEPACKET },
  [T.TUN_INFO]: { optc: OPT.tuninfo, format: Fmt.TUN_INFO },
  [T.NOCSUM]: { optc: OPT.tunnocsum },
  [T.CSUM]: { optc: OPT.tuncsum, tunFlags: 1 },
  [T.REMCSUM]: { optc: OPT.tunremcsum, tunFlags: 2 },
  [T.JSON]: { optc: OPT.json },
};

/** Where a number option goes in the parsed command. */
export type NumberTarget =
  | ['dest', 'weight' | 'uThreshold' | 'lThreshold' | 'tunPort']
  | ['daemon', 'syncId' | 'mcastPort' | 'mcastTtl' | 'syncMaxLen'];

/** Options that take a number in a range (ipvsadm's string_to_number), and its refusal. */
export const NUMBER_OPTIONS: Readonly<Record<string, { optc: number; min: number; max: number; refusal: string; into: NumberTarget }>> = {
  w: { optc: OPT.weight, min: 0, max: INT_MAX, refusal: 'illegal weight specified', into: ['dest', 'weight'] },
  x: { optc: OPT.uthreshold, min: 0, max: INT_MAX, refusal: 'illegal u_threshold specified', into: ['dest', 'uThreshold'] },
  y: { optc: OPT.lthreshold, min: 0, max: INT_MAX, refusal: 'illegal l_threshold specified', into: ['dest', 'lThreshold'] },
  I: { optc: OPT.syncid, min: 0, max: 255, refusal: 'illegal syncid specified', into: ['daemon', 'syncId'] },
  [T.MPORT]: { optc: OPT.mcastport, min: 1, max: 65535, refusal: 'illegal mcast-port specified', into: ['daemon', 'mcastPort'] },
  [T.TTL]: { optc: OPT.mcastttl, min: 1, max: 255, refusal: 'illegal mcast-ttl specified', into: ['daemon', 'mcastTtl'] },
  // (the sync message's payload: a UDP datagram less its IP and UDP headers)
  [T.MAXLEN]: { optc: OPT.syncmaxlen, min: 1, max: 65535 - 20 - 8, refusal: 'illegal sync-maxlen specified', into: ['daemon', 'syncMaxLen'] },
  [T.TUN_PORT]: { optc: OPT.tunport, min: 1, max: 65535, refusal: 'illegal tunnel port specified', into: ['dest', 'tunPort'] },
};
