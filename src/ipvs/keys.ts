import type { Service, ServiceKey } from './types.js';

/** The key of a listed service, to address it in later calls. */
export function keyOf(s: Service): ServiceKey {
  return s.fwmark !== undefined
    ? { fwmark: s.fwmark, family: s.family }
    : { protocol: s.protocol!, address: s.address!, port: s.port! };
}
