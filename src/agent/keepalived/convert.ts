/**
 * keepalived.conf to the agent file: the virtual_server and real_server
 * blocks become services and real servers with checks; VRRP and global
 * sections are skipped with a note; unknown keywords are reported with
 * their line (keepalived itself logs and skips them too).
 */
import { stringify } from 'yaml';
import { convertChecker, CHECKERS, UNSUPPORTED_CHECKERS, type Inherited } from './checkers.js';
import { Ctx, type KeepalivedProblem } from './context.js';
import { groupEntries, type GroupEntry } from './group.js';
import { lexKeepalived, type LexOptions, type Statement } from './lexer.js';

type Raw = Record<string, unknown>;

export interface KeepalivedConversion {
  /** The agent file as plain data (services: [...]). */
  file: { services: Raw[] };
  problems: KeepalivedProblem[];
  unknowns: KeepalivedProblem[];
  notes: KeepalivedProblem[];
}

const IGNORED_TOP = /^(global_defs|vrrp_\w+|static_ipaddress|static_routes|static_rules|linkbeat_interfaces|garp_group|bfd_instance|track_file|track_process|net_namespace\w*|instance|use_pid_dir|child_wait_time|namespace_with_ipsets)$/;
const VS_NOTES = new Set(['quorum_up', 'quorum_down', 'ha_suspend', 'smtp_alert', 'snmp_name', 'notify_up', 'notify_down']);
const SCHED_FLAGS = new Set(['flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback']);

/** lvs_method / lb_kind words to forwarding (and tunnel settings). */
function forwarding(ctx: Ctx, s: Statement): Raw | undefined {
  const [, kind, ...rest] = s.words;
  switch (kind?.toUpperCase()) {
    case 'NAT':
      return { forwarding: 'masq' };
    case 'DR':
      return { forwarding: 'route' };
    case 'TUN': {
      if (rest[0] !== 'type') return { forwarding: 'tunnel' };
      const tunnel: Raw = { type: rest[1] };
      let i = 2;
      if (rest[1] === 'gue' && rest[2] === 'port') {
        tunnel.port = Number(rest[3]);
        i = 4;
      }
      if (rest[i] === 'nocsum') tunnel.checksum = 'none';
      else if (rest[i] === 'csum' || rest[i] === 'remcsum') tunnel.checksum = rest[i];
      return { forwarding: 'tunnel', tunnel };
    }
  }
  ctx.problem(s, `${s.words[0]} must be NAT, DR or TUN, got ${JSON.stringify(kind ?? '')}`);
  return undefined;
}

function convertRealServer(ctx: Ctx, st: Statement, vsFwd: Raw, vsPort: number | undefined, inh: Inherited & { inhibit: boolean }): Raw {
  const [, address, port] = st.words;
  const dest: Raw = { address, ...(port !== undefined ? { port: Number(port) } : vsPort !== undefined ? { port: vsPort } : {}), ...vsFwd };
  const my = { ...inh };
  const checkers: Statement[] = [];
  for (const s of st.block ?? []) {
    const k = s.words[0]!;
    if (CHECKERS.includes(k)) checkers.push(s);
    else if (UNSUPPORTED_CHECKERS.includes(k)) ctx.note(s, `${k} is not supported; this real server is not checked by it`);
    else if (k === 'weight') dest.weight = ctx.num(s, 0, true);
    else if (k === 'lvs_method' || k === 'lb_kind') Object.assign(dest, forwarding(ctx, s));
    else if (k === 'uthreshold') dest.upperThreshold = ctx.num(s, 0, true);
    else if (k === 'lthreshold') dest.lowerThreshold = ctx.num(s, 0, true);
    else if (k === 'inhibit_on_failure') my.inhibit = s.words[1] !== 'no' && s.words[1] !== 'false';
    else if (k === 'alpha') my.alpha = s.words[1] !== 'no' && s.words[1] !== 'false';
    else if (!inherit(ctx, s, my) && !VS_NOTES.has(k)) ctx.unknown(s, 'real_server');
    else if (VS_NOTES.has(k)) ctx.note(s, `${k} has no equivalent; ignored`);
  }
  // Checkers come after the settings they inherit, wherever they were written.
  dest.checks = checkers.flatMap((c) => convertChecker(ctx, c, my));
  if (my.inhibit) dest.onFailure = 'inhibit';
  return dest;
}

/** Timing settings a virtual or real server passes to its checkers; false when `s` is not one. */
function inherit(ctx: Ctx, s: Statement, inh: Inherited): boolean {
  switch (s.words[0]) {
    case 'delay_loop':
      inh.delayLoop = ctx.num(s, 0.001) ?? inh.delayLoop;
      return true;
    case 'connect_timeout':
      inh.connectTimeout = ctx.num(s, 0.001);
      return true;
    case 'retry':
      inh.retry = ctx.num(s, 0, true);
      return true;
    case 'delay_before_retry':
      inh.delayBeforeRetry = ctx.num(s, 0.001);
      return true;
    case 'warmup':
      inh.warmup = ctx.num(s, 0);
      return true;
    case 'virtualhost':
      inh.virtualhost = s.words[1];
      return true;
  }
  return false;
}

function convertVirtualServer(ctx: Ctx, st: Statement, groups: Map<string, GroupEntry[]>): Raw[] {
  const [, a, b] = st.words;
  let keys: GroupEntry[];
  if (a === 'group') {
    const g = groups.get(b ?? '');
    if (!g) {
      ctx.problem(st, `no virtual_server_group named ${JSON.stringify(b ?? '')} (groups must come first)`);
      return [];
    }
    keys = g;
  } else if (a === 'fwmark') keys = [{ fwmark: Number(b) }];
  else keys = [b === undefined ? { address: a! } : { address: a!, port: Number(b) }];
  const svc: Raw = { scheduler: 'wlc' };
  let protocol = 'tcp';
  let family: string | undefined;
  let fwd: Raw = { forwarding: 'masq' }; // keepalived's default lvs_method is NAT
  let sorry: Statement | undefined;
  let sorryFwd: Raw | undefined;
  const flags: string[] = [];
  const inh: Inherited & { inhibit: boolean } = { delayLoop: 60, alpha: false, inhibit: false };
  const reals: Statement[] = [];
  for (const s of st.block ?? []) {
    const k = s.words[0]!;
    if (k === 'real_server') reals.push(s);
    else if (k === 'lb_algo' || k === 'lvs_sched') svc.scheduler = s.words[1];
    else if (k === 'lb_kind' || k === 'lvs_method') fwd = forwarding(ctx, s) ?? fwd;
    else if (k === 'protocol') {
      const p = s.words[1]?.toLowerCase();
      if (p === 'tcp' || p === 'udp' || p === 'sctp') protocol = p;
      else ctx.problem(s, `protocol must be TCP, UDP or SCTP, got ${JSON.stringify(s.words[1] ?? '')}`);
    } else if (k === 'persistence_timeout') svc.persistent = s.words[1] === undefined ? 360 : ctx.num(s, 1, true);
    else if (k === 'persistence_granularity') svc.netmask = /^\d+$/.test(s.words[1] ?? '') ? Number(s.words[1]) : s.words[1];
    else if (k === 'persistence_engine') svc.pe = s.words[1];
    else if (k === 'ops') svc.onePacket = true;
    else if (SCHED_FLAGS.has(k)) flags.push(k);
    else if (k === 'quorum') svc.quorum = ctx.num(s, 0, true);
    else if (k === 'hysteresis') svc.hysteresis = ctx.num(s, 0, true);
    else if (k === 'sorry_server') sorry = s;
    else if (k === 'sorry_server_lvs_method') sorryFwd = forwarding(ctx, s);
    else if (k === 'sorry_server_inhibit') svc.sorryServerInhibit = true;
    // omega runs the quorum and real server notify scripts at shutdown; the agent runs none (its log lines are its notifications).
    else if (k === 'omega') ctx.note(s, 'omega: the agent runs no notify scripts, so there is nothing to run at shutdown; ignored');
    else if (k === 'inhibit_on_failure') inh.inhibit = true;
    else if (k === 'alpha') inh.alpha = true;
    else if (k === 'ip_family') family = s.words[1];
    else if (inherit(ctx, s, inh)) continue;
    else if (VS_NOTES.has(k)) ctx.note(s, `${k} has no equivalent; ignored`);
    else ctx.unknown(s, 'virtual_server');
  }
  if (flags.length) svc.schedulerFlags = flags;
  if (svc.sorryServerInhibit && !sorry) {
    ctx.note(st, 'sorry_server_inhibit without a sorry_server; ignored');
    delete svc.sorryServerInhibit;
  }
  const out: Raw[] = [];
  for (const key of keys) {
    const port = 'address' in key ? key.port : undefined;
    const head: Raw = 'fwmark' in key ? { fwmark: key.fwmark, ...((key.family ?? family) ? { family: key.family ?? family } : {}) } : { protocol, address: key.address, port: key.port ?? 0 };
    const service: Raw = { ...head, ...svc };
    service.destinations = reals.map((r) => convertRealServer(ctx, r, fwd, port, inh));
    if (sorry) {
      const [, addr, p] = sorry.words;
      service.sorryServer = { address: addr, ...(p !== undefined ? { port: Number(p) } : port !== undefined ? { port } : {}), ...(sorryFwd ?? fwd) };
    }
    out.push(service);
  }
  return out;
}

export function convertKeepalived(path: string, opts: LexOptions = {}): KeepalivedConversion {
  const ctx = new Ctx();
  const { statements, problems } = lexKeepalived(path, opts);
  ctx.problems.push(...problems);
  const groups = new Map<string, GroupEntry[]>();
  const services: Raw[] = [];
  for (const st of statements) {
    const k = st.words[0]!;
    if (k === 'virtual_server_group') groups.set(st.words[1] ?? '', groupEntries(ctx, st));
    else if (k === 'virtual_server') services.push(...convertVirtualServer(ctx, st, groups));
    else if (IGNORED_TOP.test(k)) ctx.note(st, `${k} ignored: the agent is keepalived's checker half, not its VRRP or global settings`);
    else ctx.unknown(st, 'the top level');
  }
  return { file: { services }, problems: ctx.problems, unknowns: ctx.unknowns, notes: ctx.notes };
}

/** Messages for a person: "FILE:LINE: text". */
export function problemLines(list: readonly KeepalivedProblem[]): string[] {
  return list.map((p) => `${p.file}:${p.line}: ${p.message}`);
}

/** The conversion as agent-file YAML, with the notes and unknown keywords as comments on top. */
export function conversionYaml(c: KeepalivedConversion): string {
  const head = [...problemLines(c.unknowns), ...problemLines(c.notes)].map((l) => `# ${l}\n`).join('');
  return head + stringify(c.file, { lineWidth: 0 });
}
