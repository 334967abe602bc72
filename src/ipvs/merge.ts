/**
 * Update semantics: a setting the caller leaves out keeps its current value.
 * (ipvsadm -E/-e reset what is not repeated; the CLI gets that by passing
 * every setting explicitly.)
 */
import type { Destination, DestinationSpec, Service, ServiceSpec } from './types.js';

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
