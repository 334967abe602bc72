/**
 * Checks and normalises caller input before anything is sent. Every refusal
 * is an IpvsError with code EINVAL naming the field, so bad input changes
 * nothing in the kernel.
 */
import { isIPv6 } from 'node:net';
import { inputError } from '../errors.js';
import { type ParsedAddress, formatAddress, isMulticast, maskToNumber, parseAddress, prefixToMask } from './address.js';
import { DaemonState, IFNAME_MAXLEN, PENAME_MAXLEN, SCHEDNAME_MAXLEN, SvcFlag, TunnelFlag } from './constants.js';
import { FORWARDING, PROTOCOLS, PROTOCOL_LABELS, SCHED_FLAGS, TUNNEL_CHECKSUMS, TUNNEL_TYPES, familyNumber, lookup } from './names.js';
import {
  DEFAULT_FORWARDING,
  DEFAULT_SCHEDULER,
  DEFAULT_WEIGHT,
  MAX_PERSISTENT_TIMEOUT,
  MAX_THRESHOLD,
  MAX_WEIGHT,
  isInt,
  isName,
  isPort,
  isThreshold,
  isWeight,
  persistenceTimeout,
} from './rules.js';
import type { AddressFamily, DaemonSpec, DestinationKey, DestinationSpec, Protocol, ServiceKey, ServiceOptions } from './types.js';

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
    return `${JSON.stringify(text)} has a zone id (${(text as string).slice(zone)}), which IPVS cannot keep: give the address alone`;
  }
  return `${JSON.stringify(text)} is not an IPv4 or IPv6 address`;
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

export function checkServiceKey(op: string, key: ServiceKey): ServiceKeyWire {
  if (key === null || typeof key !== 'object') throw inputError(op, 'service', `${op}: a service (protocol, address, port or fwmark) is required`);
  if ('fwmark' in key && key.fwmark !== undefined) {
    if (!isInt(key.fwmark, 1, 0xffffffff)) throw inputError(op, 'fwmark', `${op}: fwmark must be an integer from 1 to 4294967295, got ${String(key.fwmark)}`);
    const family = key.family ?? 'inet';
    if (family !== 'inet' && family !== 'inet6') throw inputError(op, 'family', `${op}: family must be 'inet' or 'inet6', got ${String(family)}`);
    return { af: familyNumber(family), family, fwmark: key.fwmark, label: `FWM ${key.fwmark}` };
  }
  const k = key as { protocol?: unknown; address?: unknown; port?: unknown };
  const protocol = lookup(PROTOCOLS, k.protocol);
  if (protocol === undefined) {
    throw inputError(op, 'protocol', `${op}: protocol must be 'tcp', 'udp' or 'sctp', got ${String(k.protocol)}`);
  }
  const parsed = typeof k.address === 'string' ? parseAddress(k.address) : undefined;
  if (!parsed) throw inputError(op, 'address', `${op}: address ${notAnAddress(k.address)}`);
  if (!isPort(k.port)) throw inputError(op, 'port', `${op}: port must be an integer from 0 to 65535, got ${String(k.port)}`);
  const text = addressText(k.address as string, parsed);
  return {
    af: familyNumber(parsed.family),
    family: parsed.family,
    protocol,
    addr: addr16(parsed.bytes),
    port: k.port,
    label: `${PROTOCOL_LABELS[k.protocol as Protocol]} ${hostPort(parsed.family, text, k.port)}`,
  };
}

export function checkService(op: string, spec: ServiceKey & ServiceOptions): ServiceWire {
  const key = checkServiceKey(op, spec);
  const scheduler = spec.scheduler ?? DEFAULT_SCHEDULER;
  if (!isName(scheduler)) {
    throw inputError(op, 'scheduler', `${op}: scheduler must be a name of 1 to ${SCHEDNAME_MAXLEN - 1} letters, digits, '-' or '_', got ${JSON.stringify(scheduler)}`);
  }
  let flags = 0;
  const p = spec.persistent;
  const timeout = persistenceTimeout(p);
  if (timeout < 0) throw inputError(op, 'persistent', `${op}: persistent must be true or a timeout from 1 to ${MAX_PERSISTENT_TIMEOUT} seconds, got ${String(p)}`);
  if (timeout > 0) flags |= SvcFlag.PERSISTENT;
  if (spec.onePacket !== undefined && typeof spec.onePacket !== 'boolean') throw inputError(op, 'onePacket', `${op}: onePacket must be a boolean`);
  if (spec.onePacket) flags |= SvcFlag.ONEPACKET;
  for (const f of spec.schedulerFlags ?? []) {
    const bit = lookup(SCHED_FLAGS, f);
    if (bit === undefined) throw inputError(op, 'schedulerFlags', `${op}: unknown scheduler flag ${JSON.stringify(f)} (known: ${Object.keys(SCHED_FLAGS).join(', ')})`);
    flags |= bit;
  }
  const netmask = checkNetmask(op, key.family, spec.netmask);
  // (fields spelled out: an object spread with extra fields is a slow path in V8)
  const wire: ServiceWire =
    key.fwmark !== undefined
      ? { af: key.af, family: key.family, fwmark: key.fwmark, label: key.label, scheduler, flags, timeout, netmask }
      : { af: key.af, family: key.family, protocol: key.protocol!, addr: key.addr!, port: key.port!, label: key.label, scheduler, flags, timeout, netmask };
  if (spec.pe !== undefined) {
    if (!isName(spec.pe, PENAME_MAXLEN, true)) {
      throw inputError(op, 'pe', `${op}: pe must be a persistence engine name such as 'sip', got ${JSON.stringify(spec.pe)}`);
    }
    if (spec.pe !== '') wire.pe = spec.pe;
  }
  return wire;
}

function checkNetmask(op: string, family: AddressFamily, mask: string | number | undefined): number {
  if (family === 'inet6') {
    if (mask === undefined) return 128;
    if (!isInt(mask, 1, 128)) throw inputError(op, 'netmask', `${op}: an IPv6 netmask is a prefix length from 1 to 128, got ${String(mask)}`);
    return mask;
  }
  if (mask === undefined) return 0xffffffff;
  if (typeof mask === 'number') {
    if (!isInt(mask, 0, 32)) throw inputError(op, 'netmask', `${op}: an IPv4 netmask prefix length is 0 to 32, got ${mask}`);
    return maskToNumber(prefixToMask(mask));
  }
  const parsed = typeof mask === 'string' ? parseAddress(mask) : undefined;
  if (!parsed || parsed.family !== 'inet') throw inputError(op, 'netmask', `${op}: netmask ${JSON.stringify(mask)} is not a dotted IPv4 netmask`);
  return maskToNumber(mask);
}

export function checkDestinationKey(op: string, service: ServiceKeyWire, dest: DestinationKey): { af: number; family: AddressFamily; addr: Uint8Array; port: number; label: string } {
  if (dest === null || typeof dest !== 'object') throw inputError(op, 'destination', `${op}: a destination (address, port) is required`);
  const parsed = typeof dest.address === 'string' ? parseAddress(dest.address) : undefined;
  if (!parsed) throw inputError(op, 'address', `${op}: real server address ${notAnAddress(dest.address)}`);
  const port = dest.port ?? service.port ?? 0;
  if (!isPort(port)) throw inputError(op, 'port', `${op}: real server port must be an integer from 0 to 65535, got ${String(dest.port)}`);
  const text = addressText(dest.address, parsed);
  return { af: familyNumber(parsed.family), family: parsed.family, addr: addr16(parsed.bytes), port, label: hostPort(parsed.family, text, port) };
}

export function checkDestination(op: string, service: ServiceKeyWire, dest: DestinationSpec): DestinationWire {
  const key = checkDestinationKey(op, service, dest);
  const forwarding = dest.forwarding ?? DEFAULT_FORWARDING;
  const fwd = lookup(FORWARDING, forwarding);
  if (fwd === undefined) throw inputError(op, 'forwarding', `${op}: forwarding must be one of ${Object.keys(FORWARDING).join(', ')}, got ${JSON.stringify(forwarding)}`);
  const weight = dest.weight ?? DEFAULT_WEIGHT;
  if (!isWeight(weight)) throw inputError(op, 'weight', `${op}: weight must be an integer from 0 to ${MAX_WEIGHT}, got ${String(dest.weight)}`);
  const upper = dest.upperThreshold ?? 0;
  const lower = dest.lowerThreshold ?? 0;
  if (!isThreshold(upper)) throw inputError(op, 'upperThreshold', `${op}: upperThreshold must be an integer from 0 to ${MAX_THRESHOLD}, got ${String(upper)}`);
  if (!isThreshold(lower)) throw inputError(op, 'lowerThreshold', `${op}: lowerThreshold must be an integer from 0 to ${MAX_THRESHOLD}, got ${String(lower)}`);
  if (lower > upper) throw inputError(op, 'lowerThreshold', `${op}: lowerThreshold (${lower}) is above upperThreshold (${upper})`);
  const wire: DestinationWire = { af: key.af, family: key.family, addr: key.addr, port: key.port, label: key.label, fwd, weight, upper, lower };
  if (dest.tunnel !== undefined) {
    const t = dest.tunnel;
    if (forwarding !== 'tunnel') throw inputError(op, 'tunnel', `${op}: tunnel settings need forwarding 'tunnel'`);
    const type = lookup(TUNNEL_TYPES, t?.type);
    if (type === undefined) throw inputError(op, 'tunnel.type', `${op}: tunnel type must be 'ipip', 'gue' or 'gre', got ${JSON.stringify(t?.type)}`);
    const checksum = lookup(TUNNEL_CHECKSUMS, t.checksum ?? 'none');
    if (checksum === undefined) throw inputError(op, 'tunnel.checksum', `${op}: tunnel checksum must be 'none', 'csum' or 'remcsum', got ${JSON.stringify(t.checksum)}`);
    if (t.type === 'gue') {
      if (!isInt(t.port, 1, 65535)) throw inputError(op, 'tunnel.port', `${op}: a gue tunnel needs a port from 1 to 65535, got ${String(t.port)}`);
    } else if (t.port !== undefined && t.port !== 0) {
      throw inputError(op, 'tunnel.port', `${op}: only gue tunnels take a port`);
    }
    if (t.type === 'ipip' && checksum !== TunnelFlag.NOCSUM) throw inputError(op, 'tunnel.checksum', `${op}: ipip tunnels have no checksum option`);
    wire.tunType = type;
    wire.tunPort = t.port ?? 0;
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
  throw inputError(op, 'state', `${op}: state must be 'master' or 'backup', got ${JSON.stringify(state)}`);
}

export function checkDaemon(op: string, d: DaemonSpec): DaemonWire {
  if (d === null || typeof d !== 'object') throw inputError(op, 'daemon', `${op}: daemon settings are required`);
  const state = checkDaemonState(op, d.state);
  if (typeof d.interface !== 'string' || d.interface.length === 0 || d.interface.length >= IFNAME_MAXLEN || /[\s/:]/.test(d.interface)) {
    throw inputError(op, 'interface', `${op}: interface must be a network interface name of 1 to ${IFNAME_MAXLEN - 1} characters, got ${JSON.stringify(d.interface)}`);
  }
  const syncId = d.syncId ?? 0;
  if (!isInt(syncId, 0, 255)) throw inputError(op, 'syncId', `${op}: syncId must be an integer from 0 to 255, got ${String(d.syncId)}`);
  const w: DaemonWire = { state, ifname: d.interface, syncId };
  if (d.syncMaxLen !== undefined) {
    if (!isInt(d.syncMaxLen, 1, 65535)) throw inputError(op, 'syncMaxLen', `${op}: syncMaxLen must be an integer from 1 to 65535, got ${String(d.syncMaxLen)}`);
    w.syncMaxLen = d.syncMaxLen;
  }
  if (d.mcastGroup !== undefined) {
    const g = typeof d.mcastGroup === 'string' ? parseAddress(d.mcastGroup) : undefined;
    if (!g) throw inputError(op, 'mcastGroup', `${op}: mcastGroup ${notAnAddress(d.mcastGroup)}`);
    // (the kernel refuses any other group with a bare EINVAL)
    if (!isMulticast(g.family, g.bytes)) {
      throw inputError(op, 'mcastGroup', `${op}: mcastGroup ${d.mcastGroup} is not a multicast address (${g.family === 'inet' ? '224.0.0.0/4' : 'ff00::/8'})`);
    }
    if (g.family === 'inet') w.group4 = g.bytes;
    else w.group6 = g.bytes;
  }
  if (d.mcastPort !== undefined) {
    if (!isInt(d.mcastPort, 1, 65535)) throw inputError(op, 'mcastPort', `${op}: mcastPort must be an integer from 1 to 65535, got ${String(d.mcastPort)}`);
    w.mcastPort = d.mcastPort;
  }
  if (d.mcastTtl !== undefined) {
    if (!isInt(d.mcastTtl, 1, 255)) throw inputError(op, 'mcastTtl', `${op}: mcastTtl must be an integer from 1 to 255, got ${String(d.mcastTtl)}`);
    w.mcastTtl = d.mcastTtl;
  }
  return w;
}

export function checkTimeouts(op: string, t: Partial<Record<'tcp' | 'tcpFin' | 'udp', number>>): void {
  if (t === null || typeof t !== 'object') throw inputError(op, 'timeouts', `${op}: timeouts are required`);
  for (const f of ['tcp', 'tcpFin', 'udp'] as const) {
    const v = t[f];
    if (v !== undefined && !isInt(v, 0, 0x7fffffff)) throw inputError(op, f, `${op}: ${f} timeout must be a whole number of seconds from 0 to 2147483647, got ${String(v)}`);
  }
}
