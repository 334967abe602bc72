/**
 * A plan as text a person reads (`ipvs diff`, `ipvs apply`): one line per
 * change, `+` add, `~` update, `-` delete, `>` drain, with the reason when
 * the plan gives one.
 */
import { checkDestinationKey, checkServiceKey } from '../ipvs/validate.js';
import type { DestinationSpec, ServiceKey, ServiceSpec, TunnelSettings } from '../ipvs/types.js';
import { sysctlText } from './sysctls.js';
import type { Change, ChangeResult } from './types.js';

const svcLabel = (k: ServiceKey): string => {
  const w = checkServiceKey('format', k);
  return w.fwmark !== undefined && w.family === 'inet6' ? `${w.label} (IPv6)` : w.label;
};
const destLabel = (k: ServiceKey, d: { address: string; port?: number }): string => `${svcLabel(k)} -> ${checkDestinationKey('format', checkServiceKey('format', k), d).label}`;

/** "TCP 10.0.0.1:80 -> 10.1.0.2:80", or the service alone. */
export function targetLabel(k: ServiceKey, d?: { address: string; port?: number }): string {
  return d ? destLabel(k, d) : svcLabel(k);
}

function show(v: unknown): string {
  if (v === undefined || v === false || v === '') return 'none';
  if (Array.isArray(v)) return v.length ? v.join(',') : 'none';
  if (typeof v === 'object') {
    const t = v as TunnelSettings;
    return [t.type, t.port ? `port ${t.port}` : '', t.checksum && t.checksum !== 'none' ? t.checksum : ''].filter(Boolean).join(' ');
  }
  return String(v);
}

function serviceSettings(s: ServiceSpec): string {
  const parts = [`scheduler ${s.scheduler ?? 'wlc'}`];
  if (s.schedulerFlags?.length) parts.push(`flags ${s.schedulerFlags.join(',')}`);
  if (s.persistent) parts.push(`persistent ${s.persistent === true ? 360 : s.persistent}`);
  if (s.persistent && s.netmask !== undefined) parts.push(`netmask ${s.netmask}`);
  if (s.onePacket) parts.push('one-packet');
  if (s.pe) parts.push(`pe ${s.pe}`);
  return parts.join(', ');
}

function destSettings(d: DestinationSpec): string {
  const parts = [d.forwarding ?? 'route', `weight ${d.weight ?? 1}`];
  if (d.upperThreshold) parts.push(`upper ${d.upperThreshold}`);
  if (d.lowerThreshold) parts.push(`lower ${d.lowerThreshold}`);
  if (d.tunnel) parts.push(`tunnel ${show(d.tunnel)}`);
  return parts.join(', ');
}

/** One change as one line. */
export function formatChange(c: Change): string {
  const why = 'reason' in c && c.reason ? `  (${c.reason})` : '';
  switch (c.op) {
    case 'addService':
      return `+ service ${svcLabel(c.service)}: ${serviceSettings(c.service)}`;
    case 'updateService':
      return `~ service ${svcLabel(c.service)}: ${c.fields.map((f) => `${f} ${show((c.before as Record<string, unknown>)[f])} -> ${show((c.service as unknown as Record<string, unknown>)[f])}`).join(', ')}`;
    case 'deleteService':
      return `- service ${svcLabel(c.service)}`;
    case 'drainService':
      return `> service ${svcLabel(c.service)}: drain (deleted when idle, at the latest after ${c.timeoutSeconds} s)`;
    case 'addDestination':
      return `+ server ${destLabel(c.service, c.destination)}: ${destSettings(c.destination)}${why}`;
    case 'updateDestination':
      return `~ server ${destLabel(c.service, c.destination)}: ${c.fields.map((f) => `${f} ${show((c.before as Record<string, unknown>)[f])} -> ${show((c.destination as unknown as Record<string, unknown>)[f])}`).join(', ')}${why}`;
    case 'deleteDestination':
      return `- server ${destLabel(c.service, c.destination)}${why}`;
    case 'setSysctl':
      return `~ sysctl net.ipv4.vs.${c.sysctl}: ${c.before === undefined ? '(not in this kernel)' : sysctlText(c.sysctl, c.before)} -> ${sysctlText(c.sysctl, c.value)}`;
    case 'drainDestination':
      return `> server ${destLabel(c.service, c.destination)}: weight ${c.fromWeight} -> 0, deleted when idle, at the latest after ${c.timeoutSeconds} s`;
  }
}

/** A plan as lines ending in newlines ('' for an empty plan). */
export function formatPlan(changes: Change[]): string {
  let out = '';
  for (const c of changes) out += `${formatChange(c)}\n`;
  return out;
}

/** A failed or skipped change as a line of its own. */
export function formatFailure(r: ChangeResult): string | undefined {
  if (r.ok) return undefined;
  return `failed: ${formatChange(r.change)}: ${'error' in r ? r.error.message : `skipped: ${r.skipped}`}`;
}
