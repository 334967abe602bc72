/**
 * Checks a desired state before anything is sent and names every bad entry
 * by its path (services[3].destinations[1].weight). The checks of single
 * values are the client's own (checkService, checkDestination), so apply
 * refuses exactly what addService/addDestination would.
 */
import { encodeSysctls } from '../procfs/sysctls.js';
import { IpvsError, Errno } from '../errors.js';
import { ipv4, NOT_IPV4 } from '../ipvs/address.js';
import { MAX_PERSISTENT_TIMEOUT, checkDestination, checkDestinationKey, checkService, checkServiceKey, type ServiceKeyWire } from '../ipvs/validate.js';
import type { DestinationSpec, ServiceKey } from '../ipvs/types.js';
import { canonicalAddress } from './normalize.js';
import { canonicalDesired, keyOfDesired } from './desired.js';
import { numericKey, ServiceIndex } from './service-index.js';
import { ownerTest } from './ownership.js';
import type { DesiredService, DesiredState, Ownership } from './types.js';

/** One bad entry: its path in the state and what is wrong. */
export interface StateProblem {
  /** e.g. "services[3].destinations[1].weight" ("" for the whole document). */
  path: string;
  message: string;
  /** 1-based line in the file, when the state came from one. */
  line?: number;
  /** The file, when the state came from one. */
  file?: string;
}

/** A desired state refused before anything was sent; `problems` names every bad entry. */
export class StateError extends IpvsError {
  override name = 'StateError';
  constructor(
    readonly problems: StateProblem[],
    operation = 'apply',
  ) {
    super(describeProblems(problems), { kind: 'input', errno: Errno.EINVAL, operation, field: problems[0]?.path ?? '' });
  }
}

export function describeProblems(problems: StateProblem[]): string {
  const lines = problems.map((p) => {
    const where = p.file !== undefined ? `${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ` : p.line !== undefined ? `line ${p.line}: ` : '';
    return `${where}${p.path ? `${p.path}: ` : ''}${p.message}`;
  });
  return problems.length === 1 ? `invalid desired state: ${lines[0]}` : `invalid desired state (${problems.length} problems):\n  ${lines.join('\n  ')}`;
}

/** Top-level members a state may have (later layers add theirs here). */
export const TOP_LEVEL_KEYS = new Set(['services', 'sysctls']);
const SERVICE_KEYS = new Set(['protocol', 'address', 'port', 'fwmark', 'family', 'scheduler', 'schedulerFlags', 'persistent', 'netmask', 'onePacket', 'pe', 'destinations', 'drain']);
const DEST_KEYS = new Set(['address', 'port', 'forwarding', 'weight', 'upperThreshold', 'lowerThreshold', 'tunnel']);
const TUNNEL_KEYS = new Set(['type', 'port', 'checksum']);
const DRAIN_KEYS = new Set(['timeoutSeconds', 'udpImmediate']);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function unknownKeys(o: Record<string, unknown>, known: Set<string>, path: string, out: StateProblem[]): void {
  for (const k in o) {
    if (!known.has(k) && Object.hasOwn(o, k)) out.push({ path: path ? `${path}.${k}` : k, message: `unknown setting ${JSON.stringify(k)} (known: ${[...known].join(', ')})` });
  }
}

/** The optional `sysctls` member: IPVS sysctls of the namespace, checked as setSysctls checks them. */
function checkSysctls(values: unknown, out: StateProblem[]): void {
  if (values === undefined) return;
  if (!isObject(values)) {
    out.push({ path: 'sysctls', message: 'sysctls is an object of name: value (e.g. sloppy_tcp: true)' });
    return;
  }
  for (const [name, value] of Object.entries(values)) {
    try {
      encodeSysctls({ [name]: value }, 'apply');
    } catch (e) {
      out.push({ path: `sysctls.${name}`, message: e instanceof Error ? e.message.replace(/^apply: /, '') : String(e) });
    }
  }
}

/** The client's refusal of one value as a problem at `path`. */
function refusal(e: unknown, path: string): StateProblem {
  if (e instanceof IpvsError) {
    const field = e.field && e.field !== 'service' && e.field !== 'destination' ? `.${e.field}` : '';
    // (drop the operation's "addService: " prefix: the path says where)
    return { path: path + field, message: e.message.replace(/^\w+: /, '') };
  }
  return { path, message: String(e) };
}

export function checkDrain(v: unknown, path: string, out: StateProblem[]): void {
  if (v === undefined || v === false) return;
  if (!isObject(v)) {
    out.push({ path, message: `drain is false or { timeoutSeconds, udpImmediate? }, got ${JSON.stringify(v)}` });
    return;
  }
  unknownKeys(v, DRAIN_KEYS, path, out);
  const t = v.timeoutSeconds;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) out.push({ path: `${path}.timeoutSeconds`, message: `must be a number of seconds, 0 or more, got ${JSON.stringify(t)}` });
  if (v.udpImmediate !== undefined && typeof v.udpImmediate !== 'boolean') out.push({ path: `${path}.udpImmediate`, message: 'must be true or false' });
}

/** A desired state once validated: its owned services in canonical form (desired.ts) and an index of their keys. */
export interface Wanted {
  services: DesiredService[];
  index: ServiceIndex;
}

/**
 * Validates a desired state. Throws a StateError naming every problem;
 * otherwise returns its services ready to compare (nothing is copied but
 * the few services not in canonical form already).
 */
export function checkDesired(desired: unknown, owns?: Ownership): Wanted {
  const problems: StateProblem[] = [];
  const owned = owns === undefined ? undefined : ownerTest(owns, problems);
  if (!isObject(desired)) {
    throw new StateError([{ path: '', message: 'a desired state is an object with a `services` list' }]);
  }
  unknownKeys(desired, TOP_LEVEL_KEYS, '', problems);
  checkSysctls((desired as Record<string, unknown>).sysctls, problems);
  const services = (desired as unknown as DesiredState).services;
  if (services === undefined || services === null) {
    if (problems.length) throw new StateError(problems);
    return { services: [], index: new ServiceIndex(0) };
  }
  if (!Array.isArray(services)) {
    problems.push({ path: 'services', message: 'must be a list of services' });
    throw new StateError(problems);
  }
  const first = checkAll(services, owned, problems, false);
  // An IPv4 service listed twice is found only once all are seen: then
  // check again keyed by strings, which names it where the list has it
  // (that pass finds the same twin, so it always throws).
  if (first.twins) return checkAll(services, owned, problems.slice(0, first.before), true).wanted;
  return first.wanted;
}

/** Checks every service; `byId`: catch services listed twice as they come (identity strings). */
function checkAll(services: unknown[], owned: ((key: ServiceKey) => boolean) | undefined, problems: StateProblem[], byId: boolean): { wanted: Wanted; twins: boolean; before: number } {
  const before = problems.length;
  // (filled in place: a state with a problem throws, so one without has them all)
  const out = new Array<DesiredService>(services.length);
  const index = new ServiceIndex(services.length);
  for (let i = 0; i < services.length; i++) {
    const n = checkOne(services[i], i, index, byId, problems);
    if (!n) continue;
    if (owned && !owned(keyOfDesired(n))) {
      problems.push({ path: svcPath(i), message: `virtual service ${checkServiceKey('service', keyOfDesired(n)).label} is outside what this apply owns` });
      continue;
    }
    out[i] = n;
  }
  const twins = index.seal();
  if (twins.length && !byId) return { wanted: { services: out, index }, twins: true, before };
  if (problems.length) throw new StateError(problems);
  return { wanted: { services: out, index }, twins: false, before };
}

const svcPath = (i: number): string => `services[${i}]`;

/**
 * Service `i`: its problems pushed to `problems`, or its canonical form,
 * added to `index` as `i` (a state with no problem keeps every service, so
 * that is also its place in the result).
 */
function checkOne(s: unknown, i: number, index: ServiceIndex, byId: boolean, problems: StateProblem[]): DesiredService | undefined {
  const before = problems.length;
  if (!isObject(s)) {
    problems.push({ path: svcPath(i), message: 'a service is an object with protocol, address and port, or fwmark' });
    return undefined;
  }
  if (hasUnknown(s, SERVICE_KEYS)) unknownKeys(s, SERVICE_KEYS, svcPath(i), problems);
  if (s.fwmark !== undefined && (s.protocol !== undefined || s.address !== undefined || s.port !== undefined)) {
    problems.push({ path: svcPath(i), message: 'a service has either fwmark (and family) or protocol, address and port, not both' });
    return undefined;
  }
  if (s.fwmark === undefined && s.family !== undefined) {
    problems.push({ path: `${svcPath(i)}.family`, message: 'family is only for fwmark services (an address says its own)' });
  }
  // Plain IPv4 services and servers (nearly all of a large table) are checked
  // here without allocating; anything else goes through the client's checks.
  const address = ipv4(s.address); // (parsed once: for the check and for the key)
  const plain = plainService(s, address);
  let wire: ServiceKeyWire | undefined;
  if (!plain) {
    try {
      wire = checkService('service', s as unknown as DesiredService);
    } catch (e) {
      problems.push(refusal(e, svcPath(i)));
      return undefined;
    }
  }
  const key = byId ? -1 : numericKey(s.protocol, s.address, s.port, address);
  if (key >= 0) index.addKey(i, key);
  else {
    const id = wire?.fwmark !== undefined ? `fwm|${wire.fwmark}|${wire.family}` : `${s.protocol as string}|${canonicalAddress(s.address as string)!.text}|${s.port as number}`;
    const prev = index.addId(i, id);
    if (prev >= 0) {
      const label = wire ? `${wire.label}${wire.fwmark !== undefined ? ` (${wire.family})` : ''}` : `${PROTOCOL_LABELS[s.protocol as string]} ${s.address as string}:${s.port as number}`;
      problems.push({ path: svcPath(i), message: `virtual service ${label} is listed twice (also services[${prev}])` });
      return undefined;
    }
  }
  if (s.drain !== undefined) checkDrain(s.drain, `${svcPath(i)}.drain`, problems);
  const dests = s.destinations;
  if (dests !== undefined && !Array.isArray(dests)) problems.push({ path: `${svcPath(i)}.destinations`, message: 'must be a list of real servers' });
  if (Array.isArray(dests) && dests.length) {
    // (labels of the servers seen so far, only when the list has one the scan cannot compare)
    let labels: Map<string, number> | undefined;
    for (let j = 0; j < dests.length; j++) {
      const d = dests[j];
      if (plain && isObject(d) && plainDest(d) && labels === undefined) {
        if (hasUnknown(d, DEST_KEYS)) unknownKeys(d, DEST_KEYS, destPath(svcPath(i), j), problems);
        const k = plainTwin(dests, j, s.port as number);
        if (k >= 0) problems.push({ path: destPath(svcPath(i), j), message: `real server ${d.address as string}:${(d.port as number | undefined) ?? (s.port as number)} is listed twice (also ${destPath(svcPath(i), k)})` });
        continue;
      }
      if (labels === undefined) labels = plainLabels(dests, j, s.port as number);
      try {
        wire ??= checkService('service', s as unknown as DesiredService);
      } catch (e) {
        problems.push(refusal(e, destPath(svcPath(i), j)));
        continue;
      }
      checkDest(d, destPath(svcPath(i), j), svcPath(i), j, plain, s.port as number, wire, labels, problems);
    }
  }
  if (problems.length > before) return undefined;
  return canonicalDesired(s as unknown as DesiredService);
}

const destPath = (path: string, j: number): string => `${path}.destinations[${j}]`;

/** Whether `o` has a member `known` lacks (the message is built only then). */
function hasUnknown(o: Record<string, unknown>, known: Set<string>): boolean {
  for (const k in o) if (!known.has(k) && Object.hasOwn(o, k)) return true;
  return false;
}

/** The first plain server before `j` with the same address and port as plain server `j`, else -1. */
function plainTwin(dests: unknown[], j: number, svcPort: number): number {
  const d = dests[j] as { address: string; port?: number };
  const port = d.port ?? svcPort;
  for (let k = 0; k < j; k++) {
    const o = dests[k] as { address?: unknown; port?: unknown };
    if (o.address === d.address && ((o.port as number | undefined) ?? svcPort) === port) return k;
  }
  return -1;
}

/** The labels of servers 0..j-1, all plain (a list that has only plain ones before `j`). */
function plainLabels(dests: unknown[], j: number, svcPort: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let k = 0; k < j; k++) {
    const o = dests[k] as { address: string; port?: number };
    const label = `${o.address}:${o.port ?? svcPort}`;
    if (!out.has(label)) out.set(label, k);
  }
  return out;
}

function checkDest(d: unknown, dpath: string, path: string, j: number, plainSvc: boolean, svcPort: number, wire: ServiceKeyWire, seen: Map<string, number>, problems: StateProblem[]): void {
  if (!isObject(d)) {
    problems.push({ path: dpath, message: 'a real server is an object with address (and port, forwarding, weight...)' });
    return;
  }
  unknownKeys(d, DEST_KEYS, dpath, problems);
  if (isObject(d.tunnel)) unknownKeys(d.tunnel, TUNNEL_KEYS, `${dpath}.tunnel`, problems);
  let label: string;
  if (plainSvc && plainDest(d)) {
    label = `${d.address as string}:${(d.port as number | undefined) ?? svcPort}`;
  } else {
    try {
      label = checkDestinationKey('destination', wire, d as unknown as DestinationSpec).label;
    } catch (e) {
      problems.push(refusal(e, dpath));
      return;
    }
    // (a real server listed twice is named even when its settings are bad too)
    if (!seen.has(label)) {
      try {
        const dw = checkDestination('destination', wire, d as unknown as DestinationSpec);
        if (dw.family !== wire.family && (d.forwarding ?? 'route') !== 'tunnel') {
          problems.push({ path: `${dpath}.forwarding`, message: `an ${dw.family === 'inet6' ? 'IPv6' : 'IPv4'} real server of an ${wire.family === 'inet6' ? 'IPv6' : 'IPv4'} service needs forwarding 'tunnel'` });
        }
      } catch (e) {
        problems.push(refusal(e, dpath));
      }
    }
  }
  const prev = seen.get(label);
  if (prev !== undefined) problems.push({ path: dpath, message: `real server ${label} is listed twice (also ${path}.destinations[${prev}])` });
  else seen.set(label, j);
}

const PROTOCOL_LABELS: Record<string, string> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };
const SCHEDULER = /^[A-Za-z0-9_-]{1,15}$/;
const FORWARDING = new Set(['masq', 'route', 'tunnel', 'local', 'bypass']);
const isInt = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** An IPv4 service (`address`: its address as ipv4() reads it) with settings checkService accepts without question (it decides the rest). */
function plainService(s: Record<string, unknown>, address: number): boolean {
  const p = s.persistent;
  return (
    s.fwmark === undefined && s.family === undefined &&
    (s.protocol === 'tcp' || s.protocol === 'udp' || s.protocol === 'sctp') &&
    address !== NOT_IPV4 && isInt(s.port, 0, 65535) &&
    (s.scheduler === undefined || (typeof s.scheduler === 'string' && SCHEDULER.test(s.scheduler))) &&
    (p === undefined || p === false || p === true || p === 0 || isInt(p, 1, MAX_PERSISTENT_TIMEOUT)) &&
    (s.netmask === undefined || s.netmask === '255.255.255.255' || s.netmask === 32) &&
    (s.schedulerFlags === undefined || (Array.isArray(s.schedulerFlags) && s.schedulerFlags.length === 0)) &&
    (s.onePacket === undefined || typeof s.onePacket === 'boolean') &&
    (s.pe === undefined || s.pe === '')
  );
}

/** An IPv4 real server with settings checkDestination accepts without question. */
function plainDest(d: Record<string, unknown>): boolean {
  const upper = d.upperThreshold ?? 0;
  const lower = d.lowerThreshold ?? 0;
  return (
    ipv4(d.address) !== NOT_IPV4 && (d.port === undefined || isInt(d.port, 0, 65535)) &&
    (d.forwarding === undefined || (typeof d.forwarding === 'string' && FORWARDING.has(d.forwarding))) &&
    (d.weight === undefined || isInt(d.weight, 0, 0x7fffffff)) &&
    isInt(upper, 0, 0xffffffff) && isInt(lower, 0, 0xffffffff) && (lower as number) <= (upper as number) &&
    d.tunnel === undefined
  );
}
