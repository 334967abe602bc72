/**
 * The kernel's side of a comparison in comparable form (settings as
 * numbers, real servers as spelled-out specs), the defaults and rules both
 * sides share, and the documented order of real servers. The desired side
 * is read in place (desired.ts). Identities are strings: services by
 * protocol/address/port or fwmark/family, real servers by address/port.
 */
import { formatAddress, ipv4, maskToNumber, NOT_IPV4, parseAddress } from '../ipvs/address.js';
import type { AddressFamily, Destination, DestinationSpec, Service, ServiceKey, ServiceSpec, SchedulerFlag, TunnelSettings } from '../ipvs/types.js';

/** IP_VS_SVC_F_SCHED1..3: the scheduler flag bits (include/uapi/linux/ip_vs.h). */
export const SCHED_BITS = 0x38;
const FLAG_BITS: Record<SchedulerFlag, number> = {
  'sh-fallback': 0x08, 'sh-port': 0x10, 'mh-fallback': 0x08, 'mh-port': 0x10, 'flag-1': 0x08, 'flag-2': 0x10, 'flag-3': 0x20,
};
export const PERSISTENT_DEFAULT = 360;
const ALL_ONES = maskToNumber('255.255.255.255');

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

/** A real server with every setting spelled out: listed ones compared, and the spec a change sends. */
export interface NDest {
  address: string;
  port: number;
  forwarding: NonNullable<DestinationSpec['forwarding']>;
  weight: number;
  upperThreshold: number;
  lowerThreshold: number;
  /** Only with forwarding 'tunnel'. */
  tunnel?: TunnelSettings;
}

/** A real server's identity: "ADDRESS|PORT" (address in canonical text). */
export const destId = (d: { address: string; port: number }): string => `${d.address}|${d.port}`;

/** A listed service in comparable form (snapshots). */
export interface NService extends ServiceSettings {
  id: string;
  key: ServiceKey;
  family: AddressFamily;
  /** Scheduler flag names as given (for the spec sent). */
  flagNames: SchedulerFlag[];
  /** The netmask as given or listed (for the spec sent). */
  netmaskText: string | number;
  /** Real servers, in the kernel's order. */
  dests: NDest[];
}

/** The identity string of a listed service. */
export const listedId = (s: Service): string => (s.fwmark !== undefined ? `fwm|${s.fwmark}|${s.family}` : `${s.protocol}|${s.address}|${s.port}`);

/** Canonical address text (IPv6 compressed as the kernel listing prints it). */
export function canonicalAddress(text: string): { family: AddressFamily; text: string } | undefined {
  if (ipv4(text) !== NOT_IPV4) return { family: 'inet', text };
  const p = parseAddress(text);
  if (!p) return undefined;
  return { family: p.family, text: p.family === 'inet' ? text : formatAddress(p.family, p.bytes) };
}

export const flagBits = (flags: readonly SchedulerFlag[] | undefined): number => {
  let b = 0;
  if (flags) for (let i = 0; i < flags.length; i++) b |= FLAG_BITS[flags[i]!] ?? 0;
  return b;
};

export function netmaskNumber(family: AddressFamily, mask: string | number | undefined): number {
  if (family === 'inet6') return mask === undefined ? 128 : Number(mask);
  if (mask === undefined || mask === '255.255.255.255' || mask === 32) return ALL_ONES;
  if (typeof mask === 'number') return maskToNumber(prefixMask(mask));
  return maskToNumber(mask);
}

function prefixMask(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export const tunnelText = (forwarding: string, t: TunnelSettings | undefined): string =>
  forwarding !== 'tunnel' ? '' : `${t?.type ?? 'ipip'}/${t?.type === 'gue' ? (t.port ?? 0) : 0}/${t?.checksum ?? 'none'}`;

/** A listed service's settings in comparable form. */
export function listedSettings(s: Service): ServiceSettings {
  return {
    scheduler: s.scheduler,
    schedulerFlags: s.flags & SCHED_BITS,
    persistent: s.persistent ?? 0,
    netmask: typeof s.netmask === 'number' ? s.netmask : s.netmask === '255.255.255.255' ? ALL_ONES : maskToNumber(s.netmask),
    onePacket: s.onePacket,
    pe: s.pe ?? '',
  };
}

/** A listed service in comparable form (snapshots, plan output). */
export function normalizeListed(s: Service): NService {
  const key: ServiceKey = s.fwmark !== undefined ? { fwmark: s.fwmark, family: s.family } : { protocol: s.protocol!, address: s.address!, port: s.port! };
  const list = s.destinations ?? [];
  const dests = new Array<NDest>(list.length);
  for (let i = 0; i < list.length; i++) dests[i] = normalizeListedDest(list[i]!);
  return { id: listedId(s), key, family: s.family, ...listedSettings(s), flagNames: s.schedulerFlags, netmaskText: s.netmask, dests };
}

export function normalizeListedDest(d: Destination): NDest {
  const n: NDest = {
    address: d.address, port: d.port, forwarding: d.forwarding,
    weight: d.weight, upperThreshold: d.upperThreshold, lowerThreshold: d.lowerThreshold,
  };
  if (d.forwarding === 'tunnel' && d.tunnel) n.tunnel = d.tunnel.type === 'gue' ? { ...d.tunnel } : { type: d.tunnel.type, checksum: d.tunnel.checksum ?? 'none' };
  return n;
}

/** Setting names that differ between two services. */
export function serviceDiff(a: ServiceSettings, b: ServiceSettings): string[] {
  const out: string[] = [];
  for (const f of SERVICE_FIELDS) if (a[f] !== b[f]) out.push(f);
  return out;
}

/**
 * The documented order of real servers: IPv4 before IPv6, then address
 * bytes, then port (all as unsigned numbers, so 10.0.0.9 < 10.0.0.10).
 */
export function destOrderKey(d: { address: string; port: number }): string {
  const p = parseAddress(d.address)!;
  let hex = p.family === 'inet' ? '4' : '6';
  for (const b of p.bytes) hex += b.toString(16).padStart(2, '0');
  return hex + d.port.toString(16).padStart(4, '0');
}

/** Compares two real servers in the documented order (IPv4 numerically, without allocating). */
export function compareDests(a: { address: string; port: number }, b: { address: string; port: number }): number {
  const x = ipv4(a.address);
  const y = ipv4(b.address);
  if (x !== NOT_IPV4 && y !== NOT_IPV4) return (x >>> 0) - (y >>> 0) || a.port - b.port;
  if (x !== NOT_IPV4) return -1;
  if (y !== NOT_IPV4) return 1;
  const k = destOrderKey(a);
  const l = destOrderKey(b);
  return k < l ? -1 : k > l ? 1 : 0;
}

export function sortDests<T extends { address: string; port: number }>(dests: T[]): void {
  if (dests.length > 1) dests.sort(compareDests);
}
