/**
 * The IPVS sysctls of a namespace (net.ipv4.vs.*, documented in the kernel's
 * Documentation/networking/ipvs-sysctl.rst) as typed settings: read them
 * all, or write some after checking every value first (bad input changes
 * nothing). The ones a multi-director setup needs are here: the sync
 * daemon's knobs, sloppy_tcp/sloppy_sctp for taking over flows mid-stream,
 * conntrack, the expiry rules, and a few more.
 */
import { Errno, IpvsError, inputError } from '../errors.js';
import { readNamespaceFile, writeNamespaceFile, type NamespaceFileOptions } from './files.js';

const DIR = '/proc/sys/net/ipv4/vs/';

/** sync_threshold: a connection is synced when its packet count is `threshold` modulo `period`. */
export interface SyncThreshold {
  /** Packets before the first sync (0 <= threshold < period). */
  threshold: number;
  /** Packets between syncs; 0 syncs only on state changes. */
  period: number;
}

/** The settings, by their kernel names (net.ipv4.vs.NAME). */
export interface IpvsSysctls {
  /** Keep netfilter conntrack entries for IPVS connections (needed for NAT with iptables state rules). */
  conntrack: boolean;
  /** Create TCP connections from any packet, not only SYN: a director can take over a flow mid-stream (ECMP, failover without sync). */
  sloppy_tcp: boolean;
  /** The same for SCTP (any chunk, not only INIT). */
  sloppy_sctp: boolean;
  /** Expire a connection at once when its real server is gone, instead of dropping its packets until it times out. */
  expire_nodest_conn: boolean;
  /** Expire persistence templates of a real server whose weight went to 0. */
  expire_quiescent_template: boolean;
  /** A bit mask for a new connection on a client port still in the table: 0 sends it to the old real server, bit 1 (default) reschedules it when safe, bit 2 also in FIN_WAIT (see ipvs-sysctl.rst). */
  conn_reuse_mode: number;
  /** Backup sync daemon only: do not load-balance (a pure backup director). */
  backup_only: boolean;
  /** When to sync a connection (packet counts). */
  sync_threshold: SyncThreshold;
  /** Seconds between repeated syncs of a connection whose state did not change; 0 leaves it to sync_threshold. */
  sync_refresh_period: number;
  /** Retries of a sync message that got no reply (0-3), with sync_refresh_period. */
  sync_retries: number;
  /** Messages the master may queue before dropping. */
  sync_qlen_max: number;
  /** Socket buffer size of the sync daemon in bytes; 0 keeps the system default. */
  sync_sock_size: number;
  /** Sync threads and UDP ports (a power of two); applies when daemons start. */
  sync_ports: number;
  /** Sync persistence templates of persistent services too. */
  sync_persist_mode: boolean;
  /** Sync protocol version: 1 (default, IPv6 and persistence engines) or 0 (kernels before 2.6.39). */
  sync_version: number;
  /** Schedule ICMP packets that start a flow (not only replies to one). */
  schedule_icmp: boolean;
  /** Do not schedule packets that came in a tunnel. */
  ignore_tunneled: boolean;
  /** Path MTU discovery for tunnelled packets: send ICMP "fragmentation needed" when they do not fit. */
  pmtu_disc: boolean;
}

export type SysctlName = keyof IpvsSysctls;

type Kind = 'bool' | 'int' | 'threshold';
interface Spec {
  kind: Kind;
  min?: number;
  max?: number;
  /** Extra rule beyond the range, as a sentence for the error. */
  check?: (n: number) => string | undefined;
}

const INT_MAX = 2 ** 31 - 1;
const SPECS: Record<SysctlName, Spec> = {
  conntrack: { kind: 'bool' },
  sloppy_tcp: { kind: 'bool' },
  sloppy_sctp: { kind: 'bool' },
  expire_nodest_conn: { kind: 'bool' },
  expire_quiescent_template: { kind: 'bool' },
  conn_reuse_mode: { kind: 'int', min: 0, max: 3 },
  backup_only: { kind: 'bool' },
  sync_threshold: { kind: 'threshold' },
  sync_refresh_period: { kind: 'int', min: 0, max: Math.floor(INT_MAX / 100) },
  sync_retries: { kind: 'int', min: 0, max: 3 },
  sync_qlen_max: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER },
  sync_sock_size: { kind: 'int', min: 0, max: INT_MAX },
  sync_ports: { kind: 'int', min: 1, max: 1 << 30, check: (n) => ((n & (n - 1)) === 0 ? undefined : 'must be a power of two') },
  sync_persist_mode: { kind: 'bool' },
  sync_version: { kind: 'int', min: 0, max: 1 },
  schedule_icmp: { kind: 'bool' },
  ignore_tunneled: { kind: 'bool' },
  pmtu_disc: { kind: 'bool' },
};

/** Every setting name this module knows, in a stable order. */
export const SYSCTL_NAMES = Object.keys(SPECS) as SysctlName[];

/** Whether `name` is one of the settings. */
export function isSysctlName(name: string): name is SysctlName {
  return Object.hasOwn(SPECS, name);
}

/**
 * Reads every setting the kernel has (older kernels lack some: those are
 * left out), like `sysctl net.ipv4.vs` in the namespace.
 */
export async function getSysctls(opts: NamespaceFileOptions = {}): Promise<Partial<IpvsSysctls>> {
  const out: Partial<Record<SysctlName, unknown>> = {};
  for (const name of SYSCTL_NAMES) {
    let text: string;
    try {
      text = await readNamespaceFile(DIR + name, opts, 'getSysctls');
    } catch (e) {
      if (e instanceof IpvsError && e.code === 'ENOENT' && !e.message.includes('namespace')) continue;
      throw e;
    }
    out[name] = decode(name, text);
  }
  return out as Partial<IpvsSysctls>;
}

function decode(name: SysctlName, text: string): unknown {
  const nums = text.trim().split(/\s+/).map(Number);
  if (nums.length === 0 || nums.some((n) => !Number.isFinite(n))) {
    throw new IpvsError(`getSysctls: ${name} reads ${JSON.stringify(text.trim())}, not a number`, { kind: 'decode', errno: 0, operation: 'getSysctls', field: name });
  }
  const spec = SPECS[name];
  if (spec.kind === 'bool') return nums[0] !== 0;
  if (spec.kind === 'threshold') return { threshold: nums[0]!, period: nums[1] ?? 0 };
  return nums[0]!;
}

/**
 * Checks a set of settings and returns the text each file takes; throws an
 * IpvsError (kind 'input', field = the setting) for the first bad one.
 * Booleans take true/false or 1/0. Exported for config files, which check
 * before they apply.
 */
export function encodeSysctls(values: Partial<IpvsSysctls> | Record<string, unknown>, operation = 'setSysctls'): [SysctlName, string][] {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw inputError(operation, 'sysctls', `${operation}: the settings must be an object of name: value`);
  }
  const out: [SysctlName, string][] = [];
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    if (!isSysctlName(name)) throw inputError(operation, name, `${operation}: ${name} is not an IPVS sysctl this library knows (${SYSCTL_NAMES.join(', ')})`);
    out.push([name, encodeOne(name, value, operation)]);
  }
  return out;
}

function encodeOne(name: SysctlName, value: unknown, operation: string): string {
  const spec = SPECS[name];
  const wrong = (what: string) => inputError(operation, name, `${operation}: ${name} ${what}; got ${JSON.stringify(value)}`);
  if (spec.kind === 'bool') {
    if (value === true || value === 1) return '1';
    if (value === false || value === 0) return '0';
    throw wrong('takes true or false (or 1 or 0)');
  }
  if (spec.kind === 'threshold') {
    const v = value as Partial<SyncThreshold> | null;
    const whole = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= INT_MAX;
    if (typeof v !== 'object' || v === null || !whole(v.threshold) || !whole(v.period)) throw wrong('takes { threshold, period }, whole numbers from 0');
    // proc_do_sync_threshold: the threshold must be below a non-zero period.
    if (v.period !== 0 && v.threshold! >= v.period!) throw wrong('needs threshold < period (or period 0)');
    return `${v.threshold} ${v.period}`;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < spec.min! || value > spec.max!) {
    throw wrong(`takes a whole number from ${spec.min} to ${spec.max}`);
  }
  const rule = spec.check?.(value);
  if (rule) throw wrong(rule);
  return String(value);
}

/**
 * Writes settings (like `sysctl -w net.ipv4.vs.NAME=VALUE` in the
 * namespace). Every value is checked before the first write; a write the
 * kernel refuses (or a setting this kernel lacks) fails with an IpvsError
 * naming it, after the settings before it were written.
 */
export async function setSysctls(values: Partial<IpvsSysctls>, opts: NamespaceFileOptions = {}): Promise<void> {
  for (const [name, text] of encodeSysctls(values)) {
    try {
      await writeNamespaceFile(DIR + name, `${text}\n`, opts, 'setSysctls');
    } catch (e) {
      if (!(e instanceof IpvsError) || e.message.includes('cannot enter')) throw e;
      const why = e.code === 'ENOENT' ? 'this kernel has no such setting' : e.code === 'EINVAL' ? `the kernel refused ${text}` : e.message;
      throw new IpvsError(`setSysctls: ${name}: ${why} (${e.code})`, { kind: e.code === 'EINVAL' ? 'kernel' : 'socket', errno: e.errno || Errno.EINVAL, operation: 'setSysctls', field: name, cause: e });
    }
  }
}
