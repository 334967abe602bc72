/**
 * Both sides of a comparison in one shape, defaults filled in: a desired
 * service (already validated) and a listed one become an `NService`, whose
 * settings compare field by field. Identities are strings: services by
 * protocol/address/port or fwmark/family, real servers by address/port.
 */
import { formatAddress, maskToNumber, parseAddress } from '../ipvs/address.js';
import type { AddressFamily, Destination, DestinationSpec, Service, ServiceKey, ServiceSpec, SchedulerFlag, TunnelSettings } from '../ipvs/types.js';
import type { DesiredService, DrainOptions } from './types.js';

/** IP_VS_SVC_F_SCHED1..3: the scheduler flag bits (include/uapi/linux/ip_vs.h). */
const SCHED_BITS = 0x38;
const FLAG_BITS: Record<SchedulerFlag, number> = {
  'sh-fallback': 0x08, 'sh-port': 0x10, 'mh-fallback': 0x08, 'mh-port': 0x10, 'flag-1': 0x08, 'flag-2': 0x10, 'flag-3': 0x20,
};
const PERSISTENT_DEFAULT = 360;

/** Service settings the kernel keeps, in comparable form. */
export interface ServiceSettings {
  scheduler: string;
  /** Scheduler flag bits (sh-port and mh-port are the same bit). */
  schedulerFlags: number;
  /** Persistence timeout in seconds, 0 when not persistent. */
  persistent: number;
  /** IPv4: the mask as a number; IPv6: the prefix length. */
  netmask: number;
  onePacket: boolean;
  /** '' for none. */
  pe: string;
}

export const SERVICE_FIELDS = ['scheduler', 'schedulerFlags', 'persistent', 'netmask', 'onePacket', 'pe'] as const;
export const DEST_FIELDS = ['forwarding', 'weight', 'upperThreshold', 'lowerThreshold', 'tunnel'] as const;

export interface NDest {
  /** "ADDRESS|PORT" with the address in canonical text. */
  id: string;
  family: AddressFamily;
  /** Every setting spelled out (what apply sends). */
  spec: Required<Omit<DestinationSpec, 'tunnel'>> & { tunnel?: TunnelSettings };
  /** Comparable tunnel settings ('' unless forwarding is tunnel). */
  tunnel: string;
  /** Active + inactive connections (listed servers only). */
  connections: number;
}

export interface NService {
  id: string;
  key: ServiceKey;
  family: AddressFamily;
  protocol?: string;
  settings: ServiceSettings;
  /** Every setting spelled out (what apply sends). */
  spec: ServiceSpec;
  /** Real servers: the kernel's order for listed services, the documented order for desired ones. */
  dests: NDest[];
  drain?: false | DrainOptions;
}

export const serviceId = (key: ServiceKey, family: AddressFamily): string =>
  'fwmark' in key && key.fwmark !== undefined ? `fwm|${key.fwmark}|${family}` : `${(key as { protocol: string }).protocol}|${(key as { address: string }).address}|${(key as { port: number }).port}`;

/** Canonical address text (IPv6 compressed as the kernel listing prints it). */
export function canonicalAddress(text: string): { family: AddressFamily; text: string } | undefined {
  const p = parseAddress(text);
  if (!p) return undefined;
  return { family: p.family, text: p.family === 'inet' ? text : formatAddress(p.family, p.bytes) };
}

const flagBits = (flags: readonly SchedulerFlag[] | undefined): number => {
  let b = 0;
  for (const f of flags ?? []) b |= FLAG_BITS[f] ?? 0;
  return b;
};

function netmaskNumber(family: AddressFamily, mask: string | number | undefined): number {
  if (family === 'inet6') return mask === undefined ? 128 : Number(mask);
  if (mask === undefined) return maskToNumber('255.255.255.255');
  if (typeof mask === 'number') return mask === 0 ? 0 : maskToNumber(prefixMask(mask));
  return maskToNumber(mask);
}

function prefixMask(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const tunnelText = (forwarding: string, t: TunnelSettings | undefined): string =>
  forwarding !== 'tunnel' ? '' : `${t?.type ?? 'ipip'}/${t?.type === 'gue' ? (t.port ?? 0) : 0}/${t?.checksum ?? 'none'}`;

/** A desired service (validated) in comparable form. */
export function normalizeDesired(d: DesiredService): NService {
  const isFwmark = 'fwmark' in d && d.fwmark !== undefined;
  let key: ServiceKey;
  let family: AddressFamily;
  if (isFwmark) {
    family = (d as { family?: AddressFamily }).family ?? 'inet';
    key = { fwmark: d.fwmark, family };
  } else {
    const a = d as { protocol: 'tcp' | 'udp' | 'sctp'; address: string; port: number };
    const c = canonicalAddress(a.address)!;
    family = c.family;
    key = { protocol: a.protocol, address: c.text, port: a.port };
  }
  const persistent = d.persistent === true ? PERSISTENT_DEFAULT : typeof d.persistent === 'number' ? d.persistent : 0;
  const settings: ServiceSettings = {
    scheduler: d.scheduler ?? 'wlc',
    schedulerFlags: flagBits(d.schedulerFlags),
    persistent,
    netmask: netmaskNumber(family, d.netmask),
    onePacket: d.onePacket === true,
    pe: d.pe ?? '',
  };
  const spec: ServiceSpec = {
    ...key,
    scheduler: settings.scheduler,
    schedulerFlags: [...(d.schedulerFlags ?? [])],
    persistent: persistent || false,
    netmask: d.netmask ?? (family === 'inet' ? '255.255.255.255' : 128),
    onePacket: settings.onePacket,
    ...(settings.pe ? { pe: settings.pe } : {}),
  };
  const port = isFwmark ? 0 : (key as { port: number }).port;
  const dests = (d.destinations ?? []).map((x) => normalizeDesiredDest(x, port));
  sortDests(dests);
  const n: NService = { id: serviceId(key, family), key, family, settings, spec, dests };
  if (!isFwmark) n.protocol = (key as { protocol: string }).protocol;
  if (d.drain !== undefined) n.drain = d.drain;
  return n;
}

function normalizeDesiredDest(x: DestinationSpec, servicePort: number): NDest {
  const c = canonicalAddress(x.address)!;
  const forwarding = x.forwarding ?? 'route';
  const port = x.port ?? servicePort;
  const spec: NDest['spec'] = {
    address: c.text,
    port,
    forwarding,
    weight: x.weight ?? 1,
    upperThreshold: x.upperThreshold ?? 0,
    lowerThreshold: x.lowerThreshold ?? 0,
  };
  if (forwarding === 'tunnel' && x.tunnel) spec.tunnel = { ...x.tunnel };
  return { id: `${c.text}|${port}`, family: c.family, spec, tunnel: tunnelText(forwarding, x.tunnel), connections: 0 };
}

/** A listed service in comparable form. */
export function normalizeListed(s: Service): NService {
  const key: ServiceKey = s.fwmark !== undefined ? { fwmark: s.fwmark, family: s.family } : { protocol: s.protocol!, address: s.address!, port: s.port! };
  const settings: ServiceSettings = {
    scheduler: s.scheduler,
    schedulerFlags: s.flags & SCHED_BITS,
    persistent: s.persistent ?? 0,
    netmask: typeof s.netmask === 'number' ? s.netmask : maskToNumber(s.netmask),
    onePacket: s.onePacket,
    pe: s.pe ?? '',
  };
  const spec: ServiceSpec = {
    ...key,
    scheduler: s.scheduler,
    schedulerFlags: s.schedulerFlags,
    persistent: settings.persistent || false,
    netmask: s.netmask,
    onePacket: s.onePacket,
    ...(s.pe ? { pe: s.pe } : {}),
  };
  const list = s.destinations ?? [];
  const dests = new Array<NDest>(list.length);
  for (let i = 0; i < list.length; i++) dests[i] = normalizeListedDest(list[i]!);
  const n: NService = { id: serviceId(key, s.family), key, family: s.family, settings, spec, dests };
  if (s.protocol !== undefined) n.protocol = s.protocol;
  return n;
}

function normalizeListedDest(d: Destination): NDest {
  const spec: NDest['spec'] = {
    address: d.address,
    port: d.port,
    forwarding: d.forwarding,
    weight: d.weight,
    upperThreshold: d.upperThreshold,
    lowerThreshold: d.lowerThreshold,
  };
  if (d.forwarding === 'tunnel' && d.tunnel) {
    spec.tunnel = d.tunnel.type === 'gue' ? { ...d.tunnel } : { type: d.tunnel.type, checksum: d.tunnel.checksum ?? 'none' };
  }
  return {
    id: `${d.address}|${d.port}`,
    family: d.family,
    spec,
    tunnel: tunnelText(d.forwarding, d.tunnel),
    connections: d.activeConnections + d.inactiveConnections,
  };
}

/** Setting names that differ between two services. */
export function serviceDiff(a: ServiceSettings, b: ServiceSettings): string[] {
  const out: string[] = [];
  for (const f of SERVICE_FIELDS) if (a[f] !== b[f]) out.push(f);
  return out;
}

/** Setting names that differ between two real servers. */
export function destDiff(a: NDest, b: NDest): string[] {
  const out: string[] = [];
  if (a.spec.forwarding !== b.spec.forwarding) out.push('forwarding');
  if (a.spec.weight !== b.spec.weight) out.push('weight');
  if (a.spec.upperThreshold !== b.spec.upperThreshold) out.push('upperThreshold');
  if (a.spec.lowerThreshold !== b.spec.lowerThreshold) out.push('lowerThreshold');
  if (a.tunnel !== b.tunnel) out.push('tunnel');
  return out;
}

/**
 * The documented order of real servers: IPv4 before IPv6, then address
 * bytes, then port (all as unsigned numbers, so 10.0.0.9 < 10.0.0.10).
 */
export function destOrderKey(d: NDest): string {
  const p = parseAddress(d.spec.address)!;
  let hex = p.family === 'inet' ? '4' : '6';
  for (const b of p.bytes) hex += b.toString(16).padStart(2, '0');
  return hex + d.spec.port.toString(16).padStart(4, '0');
}

export function sortDests(dests: NDest[]): void {
  if (dests.length < 2) return;
  const keys = new Map(dests.map((d) => [d, destOrderKey(d)]));
  dests.sort((a, b) => (keys.get(a)! < keys.get(b)! ? -1 : keys.get(a)! > keys.get(b)! ? 1 : 0));
}
