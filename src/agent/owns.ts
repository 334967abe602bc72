/** The agent file's `owns` as a predicate over kernel services (CIDRs by address, ranges of fwmarks). */
import { BlockList, isIPv6 } from 'node:net';
import type { ServiceKey } from '../ipvs/types.js';
import type { AgentSettings } from './types.js';

export function ownsPredicate(owns: AgentSettings['owns']): (key: ServiceKey) => boolean {
  if (!owns) return () => false;
  const list = new BlockList();
  for (const c of owns.cidrs ?? []) {
    const [addr, bits] = c.split('/');
    const type = isIPv6(addr!) ? 'ipv6' : 'ipv4';
    list.addSubnet(addr!, bits === undefined ? (type === 'ipv6' ? 128 : 32) : Number(bits), type);
  }
  const marks = owns.fwmarks ?? [];
  return (key) => {
    if ('fwmark' in key) return marks.some((m) => key.fwmark >= m.from && key.fwmark <= m.to);
    return list.check(key.address, isIPv6(key.address) ? 'ipv6' : 'ipv4');
  };
}
