/**
 * A desired service once validated is compared as it is: its settings are
 * read with their defaults filled in by the functions here, and no second,
 * normalized copy is made of it. Canonical form (canonicalDesired) means
 * addresses as the kernel lists them and real servers in the documented
 * order; nearly every service of a large table (IPv4, servers sorted) is
 * canonical as the caller wrote it and is used as it is: apply from empty
 * of 10,000 services then adds the caller's own objects, as `batch()` does
 * (bench row "apply from empty"; in the test kernel a normalized copy of
 * each service and server cost more than the adds themselves). Its naive
 * twin is the spelled-out spec (serviceSpec, destSpec): state.test.ts holds
 * the kernel state each makes equal, batch-fast.test.ts their bytes.
 */
import { ipv4, NOT_IPV4 } from '../ipvs/address.js';
import type { AddressFamily, Destination, DestinationSpec, Service, ServiceKey, ServiceSpec } from '../ipvs/types.js';
import { canonicalAddress, compareDests, flagBits, netmaskNumber, PERSISTENT_DEFAULT, SCHED_BITS, tunnelText, type NDest, type ServiceSettings } from './normalize.js';
import type { DesiredService } from './types.js';

type AddressKeyed = { protocol: 'tcp' | 'udp' | 'sctp'; address: string; port: number };
type MarkKeyed = { fwmark: number; family?: AddressFamily };

const isFwmark = (d: DesiredService): boolean => (d as Partial<MarkKeyed>).fwmark !== undefined;

/** The port real servers default to: the service's (0 for firewall marks). */
export const servicePort = (d: DesiredService): number => (isFwmark(d) ? 0 : (d as AddressKeyed).port);

/** The family of a validated, canonical desired service. */
function familyOf(d: DesiredService): AddressFamily {
  if (isFwmark(d)) return (d as MarkKeyed).family ?? 'inet';
  return ipv4((d as AddressKeyed).address) !== NOT_IPV4 ? 'inet' : 'inet6';
}

/** The service's key alone (for changes and ownership tests). */
export function keyOfDesired(d: DesiredService): ServiceKey {
  if (isFwmark(d)) return { fwmark: (d as MarkKeyed).fwmark, family: familyOf(d) };
  const a = d as AddressKeyed;
  return { protocol: a.protocol, address: a.address, port: a.port };
}

/** The identity string of a canonical desired service (as listedId gives for the kernel's). */
export function desiredId(d: DesiredService): string {
  if (isFwmark(d)) return `fwm|${(d as MarkKeyed).fwmark}|${familyOf(d)}`;
  const a = d as AddressKeyed;
  return `${a.protocol}|${a.address}|${a.port}`;
}

/** The identity of any valid desired service, canonical or not (the agent's). */
export function serviceIdOf(d: DesiredService): string {
  if (isFwmark(d)) return desiredId(d);
  const a = d as AddressKeyed;
  return `${a.protocol}|${canonicalAddress(a.address)?.text ?? a.address}|${a.port}`;
}

const persistentOf = (p: DesiredService['persistent']): number => (p === true ? PERSISTENT_DEFAULT : typeof p === 'number' ? p : 0);

/** The service's settings in comparable form (for the changes of a service that differs). */
export function wantedSettings(d: DesiredService): ServiceSettings {
  return {
    scheduler: d.scheduler ?? 'wlc',
    schedulerFlags: flagBits(d.schedulerFlags),
    persistent: persistentOf(d.persistent),
    netmask: netmaskNumber(familyOf(d), d.netmask),
    onePacket: d.onePacket === true,
    pe: d.pe ?? '',
  };
}

/** Whether a listed service has `d`'s settings (no allocation: the no-op path). */
export function sameSettings(s: Service, d: DesiredService): boolean {
  return (
    s.scheduler === (d.scheduler ?? 'wlc') &&
    (s.flags & SCHED_BITS) === flagBits(d.schedulerFlags) &&
    (s.persistent ?? 0) === persistentOf(d.persistent) &&
    s.onePacket === (d.onePacket === true) &&
    (s.pe ?? '') === (d.pe ?? '') &&
    netmaskNumber(s.family, s.netmask) === netmaskNumber(s.family, d.netmask)
  );
}

/** The spec sent for a desired service in a change: every setting spelled out. */
export function serviceSpec(d: DesiredService): ServiceSpec {
  const family = familyOf(d);
  const settings = {
    scheduler: d.scheduler ?? 'wlc',
    schedulerFlags: d.schedulerFlags?.length ? d.schedulerFlags : [],
    persistent: persistentOf(d.persistent) || false,
    netmask: d.netmask ?? (family === 'inet' ? '255.255.255.255' : 128),
    onePacket: d.onePacket === true,
  };
  const spec = { ...keyOfDesired(d), ...settings } as ServiceSpec;
  if (d.pe) spec.pe = d.pe;
  return spec;
}

/** The spec sent for a desired real server in a change: every setting spelled out. */
export function destSpec(x: DestinationSpec, port: number): NDest {
  const forwarding = x.forwarding ?? 'route';
  const n: NDest = { address: x.address, port: x.port ?? port, forwarding, weight: x.weight ?? 1, upperThreshold: x.upperThreshold ?? 0, lowerThreshold: x.lowerThreshold ?? 0 };
  if (forwarding === 'tunnel' && x.tunnel) n.tunnel = x.tunnel;
  return n;
}

/** A real server's identity, "ADDRESS|PORT". */
export const wantedDestId = (x: DestinationSpec, port: number): string => `${x.address}|${x.port ?? port}`;

/** Setting names in which a listed real server differs from a desired one (empty: none). */
export function destDiff(x: Destination, w: DestinationSpec): string[] {
  const out: string[] = [];
  const forwarding = w.forwarding ?? 'route';
  if (x.forwarding !== forwarding) out.push('forwarding');
  if (x.weight !== (w.weight ?? 1)) out.push('weight');
  if (x.upperThreshold !== (w.upperThreshold ?? 0)) out.push('upperThreshold');
  if (x.lowerThreshold !== (w.lowerThreshold ?? 0)) out.push('lowerThreshold');
  if ((x.forwarding === 'tunnel' || forwarding === 'tunnel') && tunnelText(x.forwarding, x.tunnel) !== tunnelText(forwarding, w.tunnel)) out.push('tunnel');
  return out;
}

/** Whether a listed real server has a desired one's settings (no allocation). */
export function sameDest(x: Destination, w: DestinationSpec): boolean {
  const forwarding = w.forwarding ?? 'route';
  return (
    x.forwarding === forwarding && x.weight === (w.weight ?? 1) &&
    x.upperThreshold === (w.upperThreshold ?? 0) && x.lowerThreshold === (w.lowerThreshold ?? 0) &&
    ((x.forwarding !== 'tunnel' && forwarding !== 'tunnel') || tunnelText(x.forwarding, x.tunnel) === tunnelText(forwarding, w.tunnel))
  );
}

/** Whether real servers with IPv4 addresses are in the documented order (no allocation). */
function sortedIPv4(list: readonly DestinationSpec[], port: number): boolean {
  let b = 0; // (the previous server's address: each is parsed once)
  for (let j = 0; j < list.length; j++) {
    const a = ipv4(list[j]!.address);
    if (a === NOT_IPV4) return false;
    if (j > 0 && ((b >>> 0) > (a >>> 0) || (b === a && (list[j - 1]!.port ?? port) > (list[j]!.port ?? port)))) return false;
    b = a;
  }
  return true;
}

/**
 * A validated desired service in canonical form: `d` itself when it is so
 * already (an IPv4 service whose servers are IPv4 and sorted), else a copy
 * with canonical addresses and sorted servers (the caller's objects are
 * never changed).
 */
export function canonicalDesired(d: DesiredService): DesiredService {
  const list = d.destinations;
  const port = servicePort(d);
  const v4 = isFwmark(d) || ipv4((d as AddressKeyed).address) !== NOT_IPV4;
  if (v4 && (list === undefined || sortedIPv4(list, port))) return d;
  const out = { ...d } as DesiredService & Partial<AddressKeyed>;
  if (!v4) out.address = canonicalAddress(out.address!)!.text;
  if (list) {
    const dests = list.map((x) => (ipv4(x.address) !== NOT_IPV4 ? x : { ...x, address: canonicalAddress(x.address)!.text }));
    dests.sort((a, b) => compareDests({ address: a.address, port: a.port ?? port }, { address: b.address, port: b.port ?? port }));
    out.destinations = dests;
  }
  return out;
}
