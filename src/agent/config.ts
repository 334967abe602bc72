/**
 * The agent file: the apply file's services and real servers (YAML or JSON,
 * read with the `yaml` package), plus per-service and per-real-server
 * `checks`, `onFailure`, `quorum`, `hysteresis`, `sorryServer` and
 * `sorryServerInhibit`. Every bad
 * entry is reported with its line and path; nothing is half-read.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { IpvsError } from '../errors.js';
import type { DestinationSpec, ServiceKey, ServiceOptions } from '../ipvs/types.js';
import { checkDestination, checkService, type ServiceKeyWire } from '../ipvs/validate.js';
import { parseCheck, type Reader } from './config-checks.js';
import { configError, pathText, type ConfigProblem } from './config-errors.js';
import type { AgentConfig, AgentDestination, AgentService, AgentSettings, CheckSpec, OnFailure } from './types.js';

const SERVICE_FIELDS = ['protocol', 'address', 'port', 'fwmark', 'family', 'scheduler', 'schedulerFlags', 'persistent', 'netmask', 'onePacket', 'pe'];
const DEST_FIELDS = ['address', 'port', 'forwarding', 'weight', 'upperThreshold', 'lowerThreshold', 'tunnel'];
const AGENT_SERVICE_FIELDS = ['destinations', 'drain', 'checks', 'onFailure', 'quorum', 'hysteresis', 'sorryServer', 'sorryServerInhibit'];
const TOP_FIELDS = ['services', 'owns', 'drainSeconds'];

type Path = (string | number)[];

function makeReader(doc: Document, lines: LineCounter, problems: ConfigProblem[], value: unknown, path: Path): Reader {
  const lineOf = (p: Path): number | undefined => {
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const field = (key: string): unknown => (value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined);
  const r: Reader = {
    value,
    at: (key) => makeReader(doc, lines, problems, Array.isArray(value) || (value !== null && typeof value === 'object') ? (value as Record<string | number, unknown>)[key] : undefined, [...path, key]),
    problem(message) {
      const line = lineOf(path);
      problems.push({ path: pathText(path), ...(line ? { line } : {}), message });
    },
    only(known) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
      for (const k of Object.keys(value)) if (!known.includes(k)) r.at(k).problem(`unknown field ${JSON.stringify(k)}`);
    },
    str(key) {
      const v = field(key);
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'string') return v;
      if (typeof v === 'number') return String(v);
      r.at(key).problem(`must be text, got ${JSON.stringify(v)}`);
      return undefined;
    },
    num(key, min, max, integer = false) {
      const v = field(key);
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'number' || (integer && !Number.isInteger(v)) || v < min || v > max) {
        r.at(key).problem(`must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(v)}`);
        return undefined;
      }
      return v;
    },
    bool(key) {
      const v = field(key);
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'boolean') return v;
      r.at(key).problem(`must be true or false, got ${JSON.stringify(v)}`);
      return undefined;
    },
  };
  return r;
}

function pick<T extends object>(v: unknown, keys: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const k of keys) if ((v as Record<string, unknown>)[k] !== undefined) out[k] = (v as Record<string, unknown>)[k];
  return out as T;
}

/** The library's own validation, its complaint put at the field it names. */
function validated<T>(r: Reader, f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof IpvsError) || e.kind !== 'input') throw e;
    const field = e.field?.split('.') ?? [];
    let at = r;
    for (const k of field) at = at.at(k);
    at.problem(e.message.replace(/^agent: /, ''));
    return undefined;
  }
}

function parseChecks(r: Reader): CheckSpec[] | undefined {
  if (r.value === undefined || r.value === null) return undefined;
  if (!Array.isArray(r.value)) {
    r.problem('checks must be a list');
    return undefined;
  }
  const out: CheckSpec[] = [];
  r.value.forEach((_, i) => {
    const c = parseCheck(r.at(i));
    if (c) out.push(c);
  });
  return out;
}

function parseOnFailure(r: Reader, key: string, dflt: OnFailure): OnFailure {
  const v = r.str(key);
  if (v === undefined) return dflt;
  if (v === 'remove' || v === 'inhibit') return v;
  r.at(key).problem(`must be 'remove' or 'inhibit', got ${JSON.stringify(v)}`);
  return dflt;
}

function parseService(r: Reader, ids: Set<string>): AgentService | undefined {
  if (r.value === null || typeof r.value !== 'object' || Array.isArray(r.value)) {
    r.problem('a service is a mapping (protocol, address, port or fwmark, ...)');
    return undefined;
  }
  r.only([...SERVICE_FIELDS, ...AGENT_SERVICE_FIELDS]);
  const spec = pick<ServiceKey & ServiceOptions>(r.value, SERVICE_FIELDS);
  const wire = validated(r, () => checkService('agent', spec));
  const checks = parseChecks(r.at('checks')) ?? [];
  const onFailure = parseOnFailure(r, 'onFailure', 'remove');
  const quorum = r.num('quorum', 0, 2 ** 40, true) ?? 1;
  const hysteresis = r.num('hysteresis', 0, 2 ** 40, true) ?? 0;
  if (!wire) return undefined;
  const id = wire.fwmark !== undefined ? `${wire.label} ${wire.family}` : wire.label;
  if (ids.has(id)) r.problem(`service ${id} is listed twice`);
  ids.add(id);
  const { protocol, address, port, fwmark, family, ...options } = spec as unknown as Record<string, unknown>;
  const key = (fwmark !== undefined ? { fwmark, ...(family !== undefined ? { family } : {}) } : { protocol, address, port }) as ServiceKey;
  const service: AgentService = { id, key, options: options as ServiceOptions, destinations: [], quorum, hysteresis };
  const dests = r.at('destinations');
  if (dests.value !== undefined && dests.value !== null && !Array.isArray(dests.value)) dests.problem('destinations must be a list');
  const seen = new Set<string>();
  (Array.isArray(dests.value) ? dests.value : []).forEach((_, i) => {
    const d = parseDestination(dests.at(i), wire, id, checks, onFailure);
    if (!d) return;
    if (seen.has(d.id)) dests.at(i).problem(`real server ${d.id} is listed twice`);
    seen.add(d.id);
    service.destinations.push(d);
  });
  const drain = (r.value as Record<string, unknown>).drain;
  if (drain === false) service.drain = false;
  else if (drain !== undefined) {
    const dr = r.at('drain');
    dr.only(['timeoutSeconds', 'udpImmediate']);
    const timeoutSeconds = dr.num('timeoutSeconds', 0, 86400 * 7);
    const udpImmediate = dr.bool('udpImmediate');
    if (timeoutSeconds === undefined) dr.problem('drain is false or { timeoutSeconds, udpImmediate? }');
    else service.drain = { timeoutSeconds, ...(udpImmediate !== undefined ? { udpImmediate } : {}) };
  }
  const sorry = r.at('sorryServer');
  if (sorry.value !== undefined && sorry.value !== null) {
    sorry.only(DEST_FIELDS);
    const s = pick<DestinationSpec>(sorry.value, DEST_FIELDS);
    if (validated(sorry, () => checkDestination('agent', wire, s))) service.sorryServer = s;
  }
  const sorryInhibit = r.bool('sorryServerInhibit');
  if (sorryInhibit !== undefined) {
    if (service.sorryServer) service.sorryServerInhibit = sorryInhibit;
    else r.at('sorryServerInhibit').problem('sorryServerInhibit needs a sorryServer');
  }
  return service;
}

function parseDestination(r: Reader, svc: ServiceKeyWire, svcId: string, serviceChecks: CheckSpec[], serviceOnFailure: OnFailure): AgentDestination | undefined {
  if (r.value === null || typeof r.value !== 'object' || Array.isArray(r.value)) {
    r.problem('a real server is a mapping (address, port, forwarding, weight, ...)');
    return undefined;
  }
  r.only([...DEST_FIELDS, 'checks', 'onFailure']);
  const spec = pick<DestinationSpec>(r.value, DEST_FIELDS);
  const checks = parseChecks(r.at('checks'));
  const onFailure = parseOnFailure(r, 'onFailure', serviceOnFailure);
  const wire = validated(r, () => checkDestination('agent', svc, spec));
  if (!wire) return undefined;
  const mine = checks ?? serviceChecks;
  // A check probes the real server's port unless it names one; a real server of an fwmark service has none of its service's to fall back on.
  if (svc.fwmark !== undefined && !spec.port && mine.some((c) => c.type !== 'exec' && c.port === undefined)) {
    r.problem(`real server ${wire.label} of fwmark service ${svcId} has no port to check: give the real server a port, or its checks one`);
  }
  return { id: `${svcId} -> ${wire.label}`, spec, checks: mine, onFailure };
}

function parseSettings(r: Reader): AgentSettings {
  const settings: AgentSettings = { drainSeconds: r.num('drainSeconds', 0, 86400 * 7) ?? 30 };
  const owns = r.at('owns');
  if (owns.value !== undefined && owns.value !== null) {
    owns.only(['cidrs', 'fwmarks']);
    const o = owns.value as { cidrs?: unknown; fwmarks?: unknown };
    const cidrs = Array.isArray(o.cidrs) ? o.cidrs.map(String) : undefined;
    if (o.cidrs !== undefined && !cidrs) owns.at('cidrs').problem('cidrs must be a list such as [10.0.0.0/24]');
    const fwmarks: { from: number; to: number }[] = [];
    (Array.isArray(o.fwmarks) ? o.fwmarks : o.fwmarks === undefined ? [] : [o.fwmarks]).forEach((v: unknown, i: number) => {
      const m = /^(\d+)(?:-(\d+))?$/.exec(String(v));
      if (m) fwmarks.push({ from: Number(m[1]), to: Number(m[2] ?? m[1]) });
      else owns.at('fwmarks').at(i).problem(`not a fwmark or range ("100-199"): ${JSON.stringify(v)}`);
    });
    settings.owns = { ...(cidrs ? { cidrs } : {}), ...(fwmarks.length ? { fwmarks } : {}) };
  }
  return settings;
}

/** Reads agent file text; `file` names it in errors. Throws an IpvsError listing every problem. */
export function parseAgentText(text: string, file: string): AgentConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = doc.errors.map((e) => ({ path: 'syntax', line: lines.linePos(e.pos[0]).line, message: e.message.split('\n')[0]! }));
  if (problems.length) throw configError('agent', file, problems);
  const root: unknown = doc.toJS() ?? {};
  const r = makeReader(doc, lines, problems, root, []);
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    r.problem('the file must be a mapping with a services list');
    throw configError('agent', file, problems);
  }
  r.only(TOP_FIELDS);
  const settings = parseSettings(r);
  const services: AgentService[] = [];
  const list = r.at('services');
  if (!Array.isArray(list.value)) list.problem('services must be a list');
  const ids = new Set<string>();
  (Array.isArray(list.value) ? list.value : []).forEach((_, i) => {
    const s = parseService(list.at(i), ids);
    if (s) services.push(s);
  });
  if (problems.length) throw configError('agent', file, problems);
  return { services, settings };
}

export async function loadAgentFile(path: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw configError('agent', path, [{ path: 'file', message: `cannot read: ${(e as Error).message}` }]);
  }
  return parseAgentText(text, path);
}
