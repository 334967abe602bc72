/**
 * Checks and normalises caller input before anything is sent: the one place
 * input is checked and worded. Every refusal is an IpvsError with code
 * EINVAL naming the field, so bad input changes nothing in the kernel.
 *
 * Whatever a caller passes (a bigint, a symbol, a proxy or getter that
 * throws, a cyclic object), these functions throw nothing but that error:
 * objects are read only through `record` and `field`, and values are shown
 * only through `describeValue`. The fast lane (fast.ts) reads input before
 * them, but declines on anything it does not like, a throw included, and
 * leaves the wording to these.
 */
import { isIPv6 } from 'node:net';
import { describeValue, inputError } from '../errors.js';
import { elements, field, isInt, isRecord, lookup, record } from './input.js';
import { type ParsedAddress, formatAddress, isMulticast, maskToNumber, parseAddress, prefixToMask } from './address.js';
import { DaemonState, IFNAME_MAXLEN, PENAME_MAXLEN, SCHEDNAME_MAXLEN, SvcFlag, TunnelFlag } from './constants.js';
import { FORWARDING, PROTOCOLS, PROTOCOL_LABELS, SCHED_FLAGS, TUNNEL_CHECKSUMS, TUNNEL_TYPES, familyNumber } from './names.js';
import {
  DEFAULT_FORWARDING,
  DEFAULT_SCHEDULER,
  DEFAULT_WEIGHT,
  MAX_PERSISTENT_TIMEOUT,
  MAX_THRESHOLD,
  MAX_WEIGHT,
  isName,
  isPort,
  isThreshold,
  isWeight,
  persistenceTimeout,
} from './rules.js';
import type { AddressFamily, DaemonSpec, DaemonStateName, DestinationKey, DestinationSpec, Protocol, ServiceKey, ServiceOptions } from './types.js';

export { DEFAULT_PERSISTENT_TIMEOUT, DEFAULT_SCHEDULER, MAX_PERSISTENT_TIMEOUT } from './rules.js';
export { FORWARDING, PROTOCOLS, SCHED_FLAGS, TUNNEL_CHECKSUMS, TUNNEL_TYPES, familyNumber } from './names.js';

/** A validated service key, ready to encode. */
export interface ServiceKeyWire {
  af: number;
  family: AddressFamily;
  protocol?: number;
  /** 16 bytes (union nf_inet_addr), as ipvsadm sends it. */
  addr?: Uint8Array;
  port?: number;
  fwmark?: number;
  /** How people name it: "TCP 10.0.0.1:80", "TCP [2001:db8::1]:80", "FWM 7". */
  label: string;
}

export interface ServiceWire extends ServiceKeyWire {
  scheduler: string;
  flags: number;
  timeout: number;
  /** be32 mask for inet, prefix length for inet6. */
  netmask: number;
  pe?: string;
}

export interface DestinationWire {
  af: number;
  family: AddressFamily;
  addr: Uint8Array;
  port: number;
  fwd: number;
  weight: number;
  upper: number;
  lower: number;
  tunType?: number;
  tunPort?: number;
  tunFlags?: number;
  label: string;
}

function addr16(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out.set(bytes);
  return out;
}

/** Why `text` is not an address we take: a zone id gets its own words. */
function notAnAddress(text: unknown): string {
  const zone = typeof text === 'string' ? text.indexOf('%') : -1;
  if (zone > 0 && isIPv6(text as string)) {
    return `${describeValue(text)} has a zone id (${(text as string).slice(zone)}), which IPVS cannot keep: give the address alone`;
  }
  return `${describeValue(text)} is not an IPv4 or IPv6 address`;
}

/**
 * How an address is printed. Dotted quads are only accepted in their
 * canonical form, so the input is the text (saves formatting it per call).
 */
function addressText(input: string, parsed: ParsedAddress): string {
  return parsed.family === 'inet' ? input : formatAddress(parsed.family, parsed.bytes);
}

export function hostPort(family: AddressFamily, address: string, port: number): string {
  return family === 'inet6' ? `[${address}]:${port}` : `${address}:${port}`;
}

const serviceRequired = (op: string) => `${op}: a service (protocol, address, port or fwmark) is required`;

export function checkServiceKey(op: string, key: ServiceKey): ServiceKeyWire {
  const k = record(op, key, 'service', serviceRequired(op));
  const fwmark = field(op, k, 'fwmark');
  if (fwmark !== undefined) {
    if (!isInt(fwmark, 1, 0xffffffff)) throw inputError(op, 'fwmark', `${op}: fwmark must be an integer from 1 to 4294967295, got ${describeValue(fwmark)}`);
    const family = field(op, k, 'family') ?? 'inet';
    if (family !== 'inet' && family !== 'inet6') throw inputError(op, 'family', `${op}: family must be 'inet' or 'inet6', got ${describeValue(family)}`);
    return { af: familyNumber(family), family, fwmark, label: `FWM ${fwmark}` };
  }
  const name = field(op, k, 'protocol');
  const protocol = lookup(PROTOCOLS, name);
  if (protocol === undefined) {
    throw inputError(op, 'protocol', `${op}: protocol must be 'tcp', 'udp' or 'sctp', got ${describeValue(name)}`);
  }
  const address = field(op, k, 'address');
  const parsed = typeof address === 'string' ? parseAddress(address) : undefined;
  if (!parsed) throw inputError(op, 'address', `${op}: address ${notAnAddress(address)}`);
  const port = field(op, k, 'port');
  if (!isPort(port)) throw inputError(op, 'port', `${op}: port must be an integer from 0 to 65535, got ${describeValue(port)}`);
  const text = addressText(address as string, parsed);
  return {
    af: familyNumber(parsed.family),
    family: parsed.family,
    protocol,
    addr: addr16(parsed.bytes),
    port,
    label: `${PROTOCOL_LABELS[name as Protocol]} ${hostPort(parsed.family, text, port)}`,
  };
}

export function checkService(op: string, spec: ServiceKey & ServiceOptions): ServiceWire {
  const key = checkServiceKey(op, spec);
  const s = spec as object; // (a record: checkServiceKey says so)
  const scheduler = field(op, s, 'scheduler') ?? DEFAULT_SCHEDULER;
  if (!isName(scheduler)) {
    throw inputError(op, 'scheduler', `${op}: scheduler must be a name of 1 to ${SCHEDNAME_MAXLEN - 1} letters, digits, '-' or '_', got ${describeValue(scheduler)}`);
  }
  let flags = 0;
  const p = field(op, s, 'persistent');
  const timeout = persistenceTimeout(p);
  if (timeout < 0) throw inputError(op, 'persistent', `${op}: persistent must be true or a timeout from 1 to ${MAX_PERSISTENT_TIMEOUT} seconds, got ${describeValue(p)}`);
  if (timeout > 0) flags |= SvcFlag.PERSISTENT;
  const onePacket = field(op, s, 'onePacket');
  if (onePacket !== undefined && typeof onePacket !== 'boolean') throw inputError(op, 'onePacket', `${op}: onePacket must be a boolean, got ${describeValue(onePacket)}`);
  if (onePacket) flags |= SvcFlag.ONEPACKET;
  const given = field(op, s, 'schedulerFlags') ?? [];
  const schedulerFlags = elements(op, given, 'schedulerFlags');
  if (!schedulerFlags) throw inputError(op, 'schedulerFlags', `${op}: schedulerFlags must be an array of flag names, got ${describeValue(given)}`);
  for (const f of schedulerFlags) {
    const bit = lookup(SCHED_FLAGS, f);
    if (bit === undefined) throw inputError(op, 'schedulerFlags', `${op}: unknown scheduler flag ${describeValue(f)} (known: ${Object.keys(SCHED_FLAGS).join(', ')})`);
    flags |= bit;
  }
  const netmask = checkNetmask(op, key.family, field(op, s, 'netmask'));
  // (fields spelled out: an object spread with extra fields is a slow path in V8)
  const wire: ServiceWire =
    key.fwmark !== undefined
      ? { af: key.af, family: key.family, fwmark: key.fwmark, label: key.label, scheduler, flags, timeout, netmask }
      : { af: key.af, family: key.family, protocol: key.protocol!, addr: key.addr!, port: key.port!, label: key.label, scheduler, flags, timeout, netmask };
  const pe = field(op, s, 'pe');
  if (pe !== undefined) {
    if (!isName(pe, PENAME_MAXLEN, true)) {
      throw inputError(op, 'pe', `${op}: pe must be a persistence engine name such as 'sip', got ${describeValue(pe)}`);
    }
    if (pe !== '') wire.pe = pe;
  }
  return wire;
}

function checkNetmask(op: string, family: AddressFamily, mask: unknown): number {
  if (family === 'inet6') {
    if (mask === undefined) return 128;
    if (!isInt(mask, 1, 128)) throw inputError(op, 'netmask', `${op}: an IPv6 netmask is a prefix length from 1 to 128, got ${describeValue(mask)}`);
    return mask;
  }
  if (mask === undefined) return 0xffffffff;
  if (typeof mask === 'number') {
    if (!isInt(mask, 0, 32)) throw inputError(op, 'netmask', `${op}: an IPv4 netmask prefix length is 0 to 32, got ${mask}`);
    return maskToNumber(prefixToMask(mask));
  }
  const parsed = typeof mask === 'string' ? parseAddress(mask) : undefined;
  if (!parsed || parsed.family !== 'inet') throw inputError(op, 'netmask', `${op}: netmask ${describeValue(mask)} is not a dotted IPv4 netmask`);
  return maskToNumber(mask as string);
}

export function checkDestinationKey(op: string, service: ServiceKeyWire, dest: DestinationKey): { af: number; family: AddressFamily; addr: Uint8Array; port: number; label: string } {
  const d = record(op, dest, 'destination', `${op}: a destination (address, port) is required`);
  const address = field(op, d, 'address');
  const parsed = typeof address === 'string' ? parseAddress(address) : undefined;
  if (!parsed) throw inputError(op, 'address', `${op}: real server address ${notAnAddress(address)}`);
  const given = field(op, d, 'port');
  const port = given ?? service.port ?? 0;
  if (!isPort(port)) throw inputError(op, 'port', `${op}: real server port must be an integer from 0 to 65535, got ${describeValue(given)}`);
  const text = addressText(address as string, parsed);
  return { af: familyNumber(parsed.family), family: parsed.family, addr: addr16(parsed.bytes), port, label: hostPort(parsed.family, text, port) };
}

export function checkDestination(op: string, service: ServiceKeyWire, dest: DestinationSpec): DestinationWire {
  const key = checkDestinationKey(op, service, dest);
  const d = dest as object; // (a record: checkDestinationKey says so)
  const forwarding = field(op, d, 'forwarding') ?? DEFAULT_FORWARDING;
  const fwd = lookup(FORWARDING, forwarding);
  if (fwd === undefined) throw inputError(op, 'forwarding', `${op}: forwarding must be one of ${Object.keys(FORWARDING).join(', ')}, got ${describeValue(forwarding)}`);
  const given = field(op, d, 'weight');
  const weight = given ?? DEFAULT_WEIGHT;
  if (!isWeight(weight)) throw inputError(op, 'weight', `${op}: weight must be an integer from 0 to ${MAX_WEIGHT}, got ${describeValue(given)}`);
  const upper = field(op, d, 'upperThreshold') ?? 0;
  const lower = field(op, d, 'lowerThreshold') ?? 0;
  if (!isThreshold(upper)) throw inputError(op, 'upperThreshold', `${op}: upperThreshold must be an integer from 0 to ${MAX_THRESHOLD}, got ${describeValue(upper)}`);
  if (!isThreshold(lower)) throw inputError(op, 'lowerThreshold', `${op}: lowerThreshold must be an integer from 0 to ${MAX_THRESHOLD}, got ${describeValue(lower)}`);
  if (lower > upper) throw inputError(op, 'lowerThreshold', `${op}: lowerThreshold (${lower}) is above upperThreshold (${upper})`);
  const wire: DestinationWire = { af: key.af, family: key.family, addr: key.addr, port: key.port, label: key.label, fwd, weight, upper, lower };
  const t = field(op, d, 'tunnel');
  if (t !== undefined) {
    if (forwarding !== 'tunnel') throw inputError(op, 'tunnel', `${op}: tunnel settings need forwarding 'tunnel'`);
    const tunnel = isRecord(t) ? t : undefined;
    const name = tunnel && field(op, tunnel, 'type', 'tunnel.type');
    const type = lookup(TUNNEL_TYPES, name);
    if (tunnel === undefined || type === undefined) throw inputError(op, 'tunnel.type', `${op}: tunnel type must be 'ipip', 'gue' or 'gre', got ${describeValue(name)}`);
    const given = field(op, tunnel, 'checksum', 'tunnel.checksum');
    const checksum = lookup(TUNNEL_CHECKSUMS, given ?? 'none');
    if (checksum === undefined) throw inputError(op, 'tunnel.checksum', `${op}: tunnel checksum must be 'none', 'csum' or 'remcsum', got ${describeValue(given)}`);
    const port = field(op, tunnel, 'port', 'tunnel.port');
    if (name === 'gue') {
      if (!isInt(port, 1, 65535)) throw inputError(op, 'tunnel.port', `${op}: a gue tunnel needs a port from 1 to 65535, got ${describeValue(port)}`);
    } else if (port !== undefined && port !== 0) {
      throw inputError(op, 'tunnel.port', `${op}: only gue tunnels take a port`);
    }
    if (name === 'ipip' && checksum !== TunnelFlag.NOCSUM) throw inputError(op, 'tunnel.checksum', `${op}: ipip tunnels have no checksum option`);
    wire.tunType = type;
    wire.tunPort = (port as number | undefined) ?? 0;
    wire.tunFlags = checksum;
  }
  return wire;
}

export interface DaemonWire {
  state: number;
  ifname?: string;
  syncId?: number;
  syncMaxLen?: number;
  group4?: Uint8Array;
  group6?: Uint8Array;
  mcastPort?: number;
  mcastTtl?: number;
}

export function checkDaemonState(op: string, state: unknown): number {
  if (state === 'master') return DaemonState.MASTER;
  if (state === 'backup') return DaemonState.BACKUP;
  throw inputError(op, 'state', `${op}: state must be 'master' or 'backup', got ${describeValue(state)}`);
}

/** The state named by `{ state }` (stopDaemon's argument), checked. */
export function checkDaemonKey(op: string, spec: { state: DaemonStateName }): DaemonStateName {
  const d = record(op, spec, 'daemon', `${op}: a daemon ({ state: 'master' or 'backup' }) is required`);
  const state = field(op, d, 'state');
  checkDaemonState(op, state);
  return state as DaemonStateName;
}

export function checkDaemon(op: string, spec: DaemonSpec): DaemonWire {
  const d = record(op, spec, 'daemon', `${op}: daemon settings are required`);
  const state = checkDaemonState(op, field(op, d, 'state'));
  const ifname = field(op, d, 'interface');
  if (typeof ifname !== 'string' || ifname.length === 0 || ifname.length >= IFNAME_MAXLEN || /[\s/:]/.test(ifname)) {
    throw inputError(op, 'interface', `${op}: interface must be a network interface name of 1 to ${IFNAME_MAXLEN - 1} characters, got ${describeValue(ifname)}`);
  }
  const given = field(op, d, 'syncId');
  const syncId = given ?? 0;
  if (!isInt(syncId, 0, 255)) throw inputError(op, 'syncId', `${op}: syncId must be an integer from 0 to 255, got ${describeValue(given)}`);
  const w: DaemonWire = { state, ifname, syncId };
  const syncMaxLen = field(op, d, 'syncMaxLen');
  if (syncMaxLen !== undefined) {
    if (!isInt(syncMaxLen, 1, 65535)) throw inputError(op, 'syncMaxLen', `${op}: syncMaxLen must be an integer from 1 to 65535, got ${describeValue(syncMaxLen)}`);
    w.syncMaxLen = syncMaxLen;
  }
  const group = field(op, d, 'mcastGroup');
  if (group !== undefined) {
    const g = typeof group === 'string' ? parseAddress(group) : undefined;
    if (!g) throw inputError(op, 'mcastGroup', `${op}: mcastGroup ${notAnAddress(group)}`);
    // (the kernel refuses any other group with a bare EINVAL)
    if (!isMulticast(g.family, g.bytes)) {
      throw inputError(op, 'mcastGroup', `${op}: mcastGroup ${group as string} is not a multicast address (${g.family === 'inet' ? '224.0.0.0/4' : 'ff00::/8'})`);
    }
    if (g.family === 'inet') w.group4 = g.bytes;
    else w.group6 = g.bytes;
  }
  const mcastPort = field(op, d, 'mcastPort');
  if (mcastPort !== undefined) {
    if (!isInt(mcastPort, 1, 65535)) throw inputError(op, 'mcastPort', `${op}: mcastPort must be an integer from 1 to 65535, got ${describeValue(mcastPort)}`);
    w.mcastPort = mcastPort;
  }
  const mcastTtl = field(op, d, 'mcastTtl');
  if (mcastTtl !== undefined) {
    if (!isInt(mcastTtl, 1, 255)) throw inputError(op, 'mcastTtl', `${op}: mcastTtl must be an integer from 1 to 255, got ${describeValue(mcastTtl)}`);
    w.mcastTtl = mcastTtl;
  }
  return w;
}

/** The timeouts given, checked, as a plain copy (the message is encoded later, when sent). */
export function checkTimeouts(op: string, t: Partial<Record<'tcp' | 'tcpFin' | 'udp', number>>): Partial<Record<'tcp' | 'tcpFin' | 'udp', number>> {
  const r = record(op, t, 'timeouts', `${op}: timeouts are required`);
  const copy: Partial<Record<'tcp' | 'tcpFin' | 'udp', number>> = {};
  for (const f of ['tcp', 'tcpFin', 'udp'] as const) {
    const v = field(op, r, f);
    if (v === undefined) continue;
    if (!isInt(v, 0, 0x7fffffff)) throw inputError(op, f, `${op}: ${f} timeout must be a whole number of seconds from 0 to 2147483647, got ${describeValue(v)}`);
    copy[f] = v;
  }
  return copy;
}
