/**
 * keepalived's checkers (TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK,
 * DNS_CHECK, UDP_CHECK) as agent checks. Timing follows keepalived:
 * interval = delay_loop (default 60 s), timeout = connect_timeout (default
 * 5 s), fall = retry + 1 (keepalived retries `retry` times, default 1, 3 for
 * DNS, 0 for MISC, before it calls a server down), retries every
 * delay_before_retry (default 3 s for HTTP/SSL, delay_loop for DNS, else
 * 1 s), rise = 1 (keepalived brings a server back on its first success),
 * start down with alpha, first check after a random delay up to warmup
 * (default delay_loop), as keepalived.conf(5) documents.
 */
import type { Statement } from './lexer.js';
import type { Ctx } from './context.js';

/** Settings a checker inherits from its real server and virtual server. */
export interface Inherited {
  delayLoop: number;
  alpha: boolean;
  connectTimeout?: number;
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
  virtualhost?: string;
}

export const CHECKERS = ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'DNS_CHECK', 'UDP_CHECK'];
export const UNSUPPORTED_CHECKERS = ['SMTP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK'];

type Raw = Record<string, unknown>;

/** Words after the keyword, joined (misc_path "cmd arg" arrives as one word already). */
const rest = (s: Statement) => s.words.slice(1).join(' ');

export function convertChecker(ctx: Ctx, st: Statement, inh: Inherited): Raw[] {
  const kind = st.words[0]!;
  const timing: Inherited & { connectIp?: string; connectPort?: number } = { ...inh };
  const urls: Raw[] = [];
  const extra: Raw = {};
  let miscPath: string | undefined;
  let miscTimeout: number | undefined;
  for (const s of st.block ?? []) {
    const k = s.words[0]!;
    switch (k) {
      case 'connect_timeout':
        timing.connectTimeout = ctx.num(s, 0.001);
        break;
      case 'retry':
      case 'nb_get_retry':
        timing.retry = ctx.num(s, 0, true);
        break;
      case 'delay_before_retry':
        timing.delayBeforeRetry = ctx.num(s, 0.001);
        break;
      case 'warmup':
        timing.warmup = ctx.num(s, 0);
        break;
      case 'delay_loop':
        timing.delayLoop = ctx.num(s, 0.001) ?? timing.delayLoop;
        break;
      case 'alpha':
        timing.alpha = s.words[1] !== 'no' && s.words[1] !== 'false';
        break;
      case 'connect_ip':
        timing.connectIp = s.words[1];
        break;
      case 'connect_port':
        timing.connectPort = ctx.num(s, 1, true);
        break;
      case 'virtualhost':
        timing.virtualhost = s.words[1];
        break;
      case 'url':
        if (kind === 'HTTP_GET' || kind === 'SSL_GET') urls.push(convertUrl(ctx, s));
        else ctx.unknown(s, kind);
        break;
      case 'misc_path':
        if (kind === 'MISC_CHECK') miscPath = rest(s);
        else ctx.unknown(s, kind);
        break;
      case 'misc_timeout':
        if (kind === 'MISC_CHECK') miscTimeout = ctx.num(s, 0.001);
        else ctx.unknown(s, kind);
        break;
      case 'misc_dynamic':
        if (kind === 'MISC_CHECK') extra.dynamicWeight = true;
        else ctx.unknown(s, kind);
        break;
      case 'type':
        if (kind === 'DNS_CHECK') extra.qtype = s.words[1];
        else ctx.unknown(s, kind);
        break;
      case 'name':
        if (kind === 'DNS_CHECK') extra.name = s.words[1];
        else ctx.unknown(s, kind);
        break;
      case 'payload':
        if (kind === 'UDP_CHECK') extra.send = Buffer.from(s.words[1] ?? '', 'hex').toString('latin1');
        else ctx.unknown(s, kind);
        break;
      case 'require_reply':
        if (kind === 'UDP_CHECK') extra.requireReply = true;
        else ctx.unknown(s, kind);
        break;
      case 'enable_sni':
      case 'bindto':
      case 'bind_port':
      case 'bind_if':
      case 'fwmark':
      case 'user':
      case 'log_all_failures':
      case 'dynamic':
        ctx.note(s, `${k} has no equivalent; ignored`);
        break;
      default:
        ctx.unknown(s, kind);
    }
  }
  const common: Raw = {
    interval: timing.delayLoop,
    timeout: timing.connectTimeout ?? 5,
    fall: (timing.retry ?? (kind === 'MISC_CHECK' ? 0 : kind === 'DNS_CHECK' ? 3 : 1)) + 1,
    rise: 1,
    retryInterval: timing.delayBeforeRetry ?? (kind === 'DNS_CHECK' ? timing.delayLoop : kind === 'HTTP_GET' || kind === 'SSL_GET' ? 3 : 1),
    warmup: timing.warmup ?? timing.delayLoop,
    ...(timing.alpha ? { start: 'down' } : {}),
    ...(timing.connectIp ? { address: timing.connectIp } : {}),
    ...(timing.connectPort ? { port: timing.connectPort } : {}),
  };
  switch (kind) {
    case 'TCP_CHECK':
      return [{ type: 'tcp', ...common }];
    case 'HTTP_GET':
    case 'SSL_GET': {
      const type = kind === 'SSL_GET' ? 'https' : 'http';
      if (urls.length === 0) ctx.problem(st, `${kind} needs at least one url block`);
      // keepalived calls a server up only when every url answers as asked.
      return urls.map((u) => ({
        type,
        ...u,
        ...(u.host === undefined && timing.virtualhost !== undefined ? { host: timing.virtualhost } : {}),
        ...common,
      }));
    }
    case 'MISC_CHECK': {
      if (!miscPath) {
        ctx.problem(st, 'MISC_CHECK needs misc_path');
        return [];
      }
      // keepalived runs misc_path through a shell; the agent runs no shell, so a shell is named.
      return [{ type: 'exec', command: ['/bin/sh', '-c', miscPath], ...extra, ...common, timeout: miscTimeout ?? timing.delayLoop }];
    }
    case 'DNS_CHECK':
      return [{ type: 'dns', name: extra.name ?? '.', qtype: extra.qtype ?? 'SOA', ...common }];
    case 'UDP_CHECK':
      return [{ type: 'udp', send: extra.send ?? '', requireReply: extra.requireReply ?? false, ...common }];
  }
  return [];
}

/** A url block: path, digest, status_code (codes or ranges, repeatable), virtualhost, regex. */
function convertUrl(ctx: Ctx, st: Statement): Raw {
  const u: Raw = { path: '/' };
  const status: string[] = [];
  for (const s of st.block ?? []) {
    switch (s.words[0]) {
      case 'path':
        u.path = s.words[1] ?? '/';
        break;
      case 'digest':
        u.digest = s.words[1];
        break;
      case 'status_code':
        status.push(...s.words.slice(1));
        break;
      case 'virtualhost':
        u.host = s.words[1];
        break;
      case 'regex':
        u.bodyRegex = rest(s);
        break;
      case 'regex_no_match':
      case 'regex_min_offset':
      case 'regex_max_offset':
      case 'regex_stack':
      case 'regex_use_jit':
        ctx.note(s, `${s.words[0]} has no equivalent; ignored`);
        break;
      default:
        ctx.unknown(s, 'url');
    }
  }
  if (status.length) u.status = status;
  return u;
}
