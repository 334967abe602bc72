/**
 * Update semantics: a setting the caller leaves out keeps its current value.
 * (ipvsadm -E/-e reset what is not repeated; the CLI gets that by passing
 * every setting explicitly.)
 */
import { isRecord, elements, field, record } from './input.js';
import type { Destination, DestinationSpec, Service, ServiceKey, ServiceOptions, ServiceSpec } from './types.js';
import { type ServiceKeyWire, checkDestination, checkService } from './validate.js';

export function mergeService(current: Service, spec: ServiceSpec): ServiceSpec {
  return {
    ...spec,
    scheduler: spec.scheduler ?? current.scheduler,
    schedulerFlags: spec.schedulerFlags ?? current.schedulerFlags,
    persistent: spec.persistent ?? current.persistent ?? false,
    netmask: spec.netmask ?? current.netmask,
    onePacket: spec.onePacket ?? current.onePacket,
    ...(spec.pe !== undefined ? { pe: spec.pe } : current.pe !== undefined ? { pe: current.pe } : {}),
  };
}

export function mergeDestination(current: Destination, spec: DestinationSpec): DestinationSpec {
  const forwarding = spec.forwarding ?? current.forwarding;
  const tunnel = spec.tunnel ?? (forwarding === 'tunnel' ? current.tunnel : undefined);
  return {
    address: spec.address,
    port: spec.port ?? current.port,
    forwarding,
    weight: spec.weight ?? current.weight,
    upperThreshold: spec.upperThreshold ?? current.upperThreshold,
    lowerThreshold: spec.lowerThreshold ?? current.lowerThreshold,
    ...(tunnel ? { tunnel: tunnel.type === 'gue' ? tunnel : { type: tunnel.type, checksum: tunnel.checksum ?? 'none' } } : {}),
  };
}

/**
 * Updates merge what the caller gives with what the kernel has (merge.ts):
 * these copy the fields once, so the merge and the checks after it read
 * plain data. A null, like a field left out, keeps the current value.
 */
const SERVICE_FIELDS = ['fwmark', 'family', 'protocol', 'address', 'port', 'scheduler', 'schedulerFlags', 'persistent', 'netmask', 'onePacket', 'pe'] as const;
const DESTINATION_FIELDS = ['address', 'port', 'forwarding', 'weight', 'upperThreshold', 'lowerThreshold', 'tunnel'] as const;
const KEEP_ON_NULL = new Set<string>(['scheduler', 'schedulerFlags', 'persistent', 'netmask', 'onePacket', 'port', 'forwarding', 'weight', 'upperThreshold', 'lowerThreshold', 'tunnel']);

function copyFields(op: string, obj: object, names: readonly string[], prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const v = field(op, obj, name, prefix + name);
    if (v === undefined || (v === null && KEEP_ON_NULL.has(name))) continue;
    out[name] = name === 'schedulerFlags' ? (elements(op, v, name) ?? v) : name === 'tunnel' && isRecord(v) ? copyFields(op, v, ['type', 'port', 'checksum'], 'tunnel.') : v;
  }
  return out;
}

/** An update's service spec as plain data, checked as far as it can be before the merge (every rule: none spans fields). */
export function serviceUpdate(op: string, spec: ServiceKey & ServiceOptions): ServiceKey & ServiceOptions {
  const copy = copyFields(op, record(op, spec, 'service', `${op}: a service (protocol, address, port or fwmark) is required`), SERVICE_FIELDS) as unknown as ServiceKey & ServiceOptions;
  checkService(op, copy);
  return copy;
}

/**
 * An update's real server as plain data, checked as far as it can be before
 * the merge: the rules that span fields (thresholds, tunnel needs tunnel
 * forwarding) may be met by current values, so they wait for the merge.
 */
export function destinationUpdate(op: string, service: ServiceKeyWire, dest: DestinationSpec): DestinationSpec {
  const copy = copyFields(op, record(op, dest, 'destination', `${op}: a destination (address, port) is required`), DESTINATION_FIELDS) as unknown as DestinationSpec;
  const alone = { ...copy };
  if (alone.lowerThreshold !== undefined && alone.upperThreshold === undefined) alone.upperThreshold = 0xffffffff;
  if (alone.tunnel !== undefined && alone.forwarding === undefined) alone.forwarding = 'tunnel';
  checkDestination(op, service, alone);
  return copy;
}
