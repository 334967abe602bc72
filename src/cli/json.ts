/**
 * --json: listings as JSON (schema documented in the README). Objects are
 * the library's types; 64-bit counters are decimal strings, so nothing is
 * lost to JavaScript numbers. Addresses are always numeric.
 */
import type { Daemon, Info, Service, Timeouts } from '../ipvs/types.js';
import type { Connection } from './conn.js';

/** Version of this JSON schema; bumped only on incompatible changes. */
export const JSON_SCHEMA_VERSION = 1;

const replacer = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

function emit(body: Record<string, unknown>): string {
  return `${JSON.stringify({ schema: JSON_SCHEMA_VERSION, ...body }, replacer, 2)}\n`;
}

export function servicesJson(info: Info | undefined, services: Service[]): string {
  return emit({
    ...(info ? { version: info.version, connectionTableSize: info.connectionTableSize } : {}),
    services,
  });
}

export const timeoutsJson = (t: Timeouts): string => emit({ timeouts: t });
export const daemonsJson = (d: Daemon[]): string => emit({ daemons: d });
export const connectionsJson = (c: Connection[]): string => emit({ connections: c });
