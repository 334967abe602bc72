/**
 * Every IPVS name <-> number table, written once: protocols, forwarding
 * methods, tunnel types and checksum modes, scheduler flags, address
 * families. Validation, the fast writers, the decoders and the CLI read
 * these (the numbers themselves are in constants.ts).
 */
import { AF_INET, AF_INET6, ConnFlag, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, SvcFlag, TunnelFlag, TunnelType } from './constants.js';
import type { AddressFamily, Forwarding, Protocol, SchedulerFlag, TunnelChecksum, TunnelKind } from './types.js';

export const PROTOCOLS: Readonly<Record<Protocol, number>> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, sctp: IPPROTO_SCTP };
/** How people (and ipvsadm) name a protocol in text: "TCP 10.0.0.1:80". */
export const PROTOCOL_LABELS: Readonly<Record<Protocol, string>> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

export const FORWARDING: Readonly<Record<Forwarding, number>> = {
  masq: ConnFlag.MASQ,
  local: ConnFlag.LOCALNODE,
  tunnel: ConnFlag.TUNNEL,
  route: ConnFlag.DROUTE,
  bypass: ConnFlag.BYPASS,
};

export const TUNNEL_TYPES: Readonly<Record<TunnelKind, number>> = { ipip: TunnelType.IPIP, gue: TunnelType.GUE, gre: TunnelType.GRE };
export const TUNNEL_CHECKSUMS: Readonly<Record<TunnelChecksum, number>> = {
  none: TunnelFlag.NOCSUM,
  csum: TunnelFlag.CSUM,
  remcsum: TunnelFlag.REMCSUM,
};

export const SCHED_FLAGS: Readonly<Record<SchedulerFlag, number>> = {
  'sh-fallback': SvcFlag.SCHED1,
  'sh-port': SvcFlag.SCHED2,
  'mh-fallback': SvcFlag.SCHED1,
  'mh-port': SvcFlag.SCHED2,
  'flag-1': SvcFlag.SCHED1,
  'flag-2': SvcFlag.SCHED2,
  'flag-3': SvcFlag.SCHED3,
};

/** table[key] for the table's own names only ('toString' and friends are not protocols). */
export const lookup = <T>(table: Readonly<Record<string, T>>, key: unknown): T | undefined =>
  typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;

const reverse = <K extends string>(table: Readonly<Record<K, number>>): ReadonlyMap<number, K> =>
  new Map(Object.entries(table).map(([k, v]) => [v as number, k as K]));

export const PROTOCOL_NAMES = reverse(PROTOCOLS);
export const FORWARDING_NAMES = reverse(FORWARDING);
export const TUNNEL_NAMES = reverse(TUNNEL_TYPES);

/** The checksum mode of tunnel flags (the kernel's values: csum and remcsum both set read as remcsum). */
export function checksumName(flags: number): TunnelChecksum {
  return flags & TunnelFlag.REMCSUM ? 'remcsum' : flags & TunnelFlag.CSUM ? 'csum' : 'none';
}

/** The names of a service's scheduler flags; sh and mh have names of their own for the first two. */
export function schedulerFlagNames(scheduler: string, flags: number): SchedulerFlag[] {
  const out: SchedulerFlag[] = [];
  const prefix = scheduler === 'sh' || scheduler === 'mh' ? scheduler : undefined;
  if (flags & SvcFlag.SCHED1) out.push(prefix ? (`${prefix}-fallback` as SchedulerFlag) : 'flag-1');
  if (flags & SvcFlag.SCHED2) out.push(prefix ? (`${prefix}-port` as SchedulerFlag) : 'flag-2');
  if (flags & SvcFlag.SCHED3) out.push('flag-3');
  return out;
}

export const familyNumber = (f: AddressFamily): number => (f === 'inet6' ? AF_INET6 : AF_INET);
/** The family of an AF_* number, undefined for any other. */
export const familyName = (af: number): AddressFamily | undefined => (af === AF_INET ? 'inet' : af === AF_INET6 ? 'inet6' : undefined);
