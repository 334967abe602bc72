/**
 * Health checks in the agent file: each entry is checked and given its
 * defaults. `Reader` is the file walker of config.ts.
 */
import { isIP } from 'node:net';
import type { CheckSpec, CheckTiming, StatusRange } from './types.js';

/** What config.ts gives a check parser: typed getters that record problems under a path. */
export interface Reader {
  /** The raw value at the reader's path. */
  value: unknown;
  at(key: string | number): Reader;
  problem(message: string): void;
  /** Keys present but not in `known` are reported. */
  only(known: readonly string[]): void;
  str(key: string): string | undefined;
  num(key: string, min: number, max: number, integer?: boolean): number | undefined;
  bool(key: string): boolean | undefined;
}

const TIMING = ['interval', 'timeout', 'fall', 'rise', 'retryInterval', 'warmup', 'start', 'address', 'port'] as const;
const KIND_FIELDS: Record<CheckSpec['type'], readonly string[]> = {
  tcp: [],
  http: ['method', 'path', 'host', 'status', 'bodyRegex', 'digest', 'sni', 'verifyTls'],
  https: ['method', 'path', 'host', 'status', 'bodyRegex', 'digest', 'sni', 'verifyTls'],
  udp: ['send', 'expect', 'requireReply'],
  dns: ['name', 'qtype', 'expect'],
  exec: ['command', 'dynamicWeight'],
};

/** A status entry: 200, "200", "200-299", or [200, 299] (inside the status list). */
export function parseStatus(v: unknown): StatusRange | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599) return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x))) {
    const [lo, hi] = v as [number, number];
    return lo >= 100 && hi <= 599 && lo <= hi ? [lo, hi] : undefined;
  }
  if (typeof v === 'string') {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3}))?\s*$/.exec(v);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    return lo >= 100 && hi <= 599 && lo <= hi ? [lo, hi] : undefined;
  }
  return undefined;
}

function validRegex(r: Reader, key: string): string | undefined {
  const s = r.str(key);
  if (s === undefined) return undefined;
  try {
    new RegExp(s);
    return s;
  } catch (e) {
    r.at(key).problem(`not a regular expression: ${(e as Error).message}`);
    return undefined;
  }
}

export function parseCheck(r: Reader): CheckSpec | undefined {
  if (r.value === null || typeof r.value !== 'object' || Array.isArray(r.value)) {
    r.problem('a check is a mapping with a type (tcp, http, https, udp, dns, exec)');
    return undefined;
  }
  const type = r.str('type') as CheckSpec['type'] | undefined;
  if (type === undefined || !(type in KIND_FIELDS)) {
    if (type !== undefined) r.at('type').problem(`unknown check type ${JSON.stringify(type)} (known: ${Object.keys(KIND_FIELDS).join(', ')})`);
    else r.at('type').problem('a check needs a type (tcp, http, https, udp, dns, exec)');
    return undefined;
  }
  r.only(['type', ...TIMING, ...KIND_FIELDS[type]]);
  const interval = r.num('interval', 0.01, 86400) ?? 5;
  const timing: CheckTiming = {
    interval,
    timeout: r.num('timeout', 0.01, 3600) ?? Math.min(3, interval),
    fall: r.num('fall', 1, 1000, true) ?? 3,
    rise: r.num('rise', 1, 1000, true) ?? 2,
    retryInterval: r.num('retryInterval', 0.01, 86400) ?? interval,
    warmup: r.num('warmup', 0, 86400) ?? interval,
    start: 'up',
  };
  const start = r.str('start');
  if (start !== undefined) {
    if (start === 'up' || start === 'down') timing.start = start;
    else r.at('start').problem(`start must be 'up' or 'down', got ${JSON.stringify(start)}`);
  }
  const address = r.str('address');
  if (address !== undefined) {
    if (isIP(address)) timing.address = address;
    else r.at('address').problem(`${JSON.stringify(address)} is not an IP address`);
  }
  const port = r.num('port', 1, 65535, true);
  if (port !== undefined) timing.port = port;

  switch (type) {
    case 'tcp':
      return { type, ...timing };
    case 'http':
    case 'https': {
      const status: StatusRange[] = [];
      const raw = r.value as Record<string, unknown>;
      if (raw.status !== undefined) {
        // A list holds entries; a lone entry may stand without one.
        const list: unknown[] = Array.isArray(raw.status) ? raw.status : [raw.status];
        list.forEach((v, i) => {
          const s = parseStatus(v);
          if (s) status.push(s);
          else (Array.isArray(raw.status) ? r.at('status').at(i) : r.at('status')).problem(`not a status code or range (200, "200-299", [200, 299]): ${JSON.stringify(v)}`);
        });
      }
      const digest = r.str('digest');
      if (digest !== undefined && !/^[0-9a-fA-F]{32}$/.test(digest)) r.at('digest').problem('digest must be 32 hex digits (the MD5 of the body)');
      const check: CheckSpec = {
        type,
        ...timing,
        method: (r.str('method') ?? 'GET').toUpperCase(),
        path: r.str('path') ?? '/',
        status: status.length ? status : [[200, 299]],
        verifyTls: r.bool('verifyTls') ?? false,
      };
      const host = r.str('host');
      if (host !== undefined) check.host = host;
      const bodyRegex = validRegex(r, 'bodyRegex');
      if (bodyRegex !== undefined) check.bodyRegex = bodyRegex;
      if (digest !== undefined) check.digest = digest.toLowerCase();
      const sni = r.str('sni');
      if (sni !== undefined) check.sni = sni;
      return check;
    }
    case 'udp': {
      const check: CheckSpec = { type, ...timing, send: r.str('send') ?? 'ping', requireReply: r.bool('requireReply') ?? true };
      const expect = validRegex(r, 'expect');
      if (expect !== undefined) check.expect = expect;
      return check;
    }
    case 'dns': {
      const name = r.str('name');
      if (name === undefined) r.at('name').problem('a dns check needs a name to ask for');
      const check: CheckSpec = { type, ...timing, name: name ?? '', qtype: (r.str('qtype') ?? 'A').toUpperCase() };
      const expect = r.str('expect');
      if (expect !== undefined) check.expect = expect;
      return check;
    }
    case 'exec': {
      const raw = (r.value as Record<string, unknown>).command;
      let command: string[] = [];
      if (Array.isArray(raw) && raw.length > 0 && raw.every((a) => typeof a === 'string' || typeof a === 'number')) command = raw.map(String);
      else r.at('command').problem('command must be a non-empty list of words (it runs without a shell)');
      return { type, ...timing, command, dynamicWeight: r.bool('dynamicWeight') ?? false };
    }
  }
}
