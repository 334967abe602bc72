/**
 * The kernel's state in the shape `apply` takes: settings without counters,
 * defaults left out, services and real servers in a stable order (the
 * documented real-server order; services by family, address, protocol and
 * port, then firewall marks), so exports diff well under version control.
 */
import type { DestinationSpec, Service } from '../ipvs/types.js';
import { destOrderKey, normalizeListed, sortDests, type NDest, type NService } from './normalize.js';
import type { DesiredService, DesiredState } from './types.js';

export function toDesired(listed: Service[], owned: (s: NService) => boolean): DesiredState {
  const rows: { key: string; svc: DesiredService }[] = [];
  for (const s of listed) {
    const n = normalizeListed(s);
    if (!owned(n)) continue;
    rows.push({ key: serviceOrderKey(n), svc: exportService(s, n) });
  }
  rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { services: rows.map((r) => r.svc) };
}

function serviceOrderKey(n: NService): string {
  const k = n.key as { fwmark?: number; protocol?: string; address?: string; port?: number };
  if (k.fwmark !== undefined) return `2${n.family === 'inet' ? 4 : 6}${k.fwmark.toString(16).padStart(8, '0')}`;
  const addr = destOrderKey({ address: k.address!, port: k.port! });
  return `1${addr}${k.protocol}`;
}

function exportService(s: Service, n: NService): DesiredService {
  const out: Record<string, unknown> = {};
  if (s.fwmark !== undefined) {
    out.fwmark = s.fwmark;
    if (s.family === 'inet6') out.family = 'inet6';
  } else {
    out.protocol = s.protocol;
    out.address = s.address;
    out.port = s.port;
  }
  out.scheduler = s.scheduler;
  if (s.schedulerFlags.length) out.schedulerFlags = [...s.schedulerFlags];
  if (n.persistent) out.persistent = n.persistent;
  if (s.family === 'inet' ? s.netmask !== '255.255.255.255' : s.netmask !== 128) out.netmask = s.netmask;
  if (s.onePacket) out.onePacket = true;
  if (s.pe) out.pe = s.pe;
  const dests = [...n.dests];
  sortDests(dests);
  out.destinations = dests.map(exportDest);
  return out as unknown as DesiredService;
}

function exportDest(x: NDest): DestinationSpec {
  const out: DestinationSpec = { address: x.address, port: x.port, forwarding: x.forwarding, weight: x.weight };
  if (x.upperThreshold) out.upperThreshold = x.upperThreshold;
  if (x.lowerThreshold) out.lowerThreshold = x.lowerThreshold;
  const t = x.tunnel;
  if (t && !(t.type === 'ipip')) out.tunnel = t.type === 'gue' ? { type: 'gue', port: t.port ?? 0, checksum: t.checksum ?? 'none' } : { type: t.type, checksum: t.checksum ?? 'none' };
  return out;
}
