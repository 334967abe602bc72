/**
 * How the library reads what a caller passed: the only code that touches a
 * caller's objects before they are checked (validate.ts, options.ts). A
 * getter or proxy that throws becomes an input error naming its field, and
 * values are shown only through describeValue, which never throws; so every
 * check throws nothing but IpvsError, whatever it is given.
 */
import { describeValue, inputError } from '../errors.js';

import { isInt } from './rules.js';

export { lookup } from './names.js';
export { isInt };

/** Array.isArray, which throws for a revoked proxy. */
export function isArray(v: unknown): v is unknown[] {
  try {
    return Array.isArray(v);
  } catch {
    return false;
  }
}

export const isRecord = (v: unknown): v is object => v !== null && typeof v === 'object' && !isArray(v);

/** `value` as an object to read fields from (not an array), else the input error `message` naming `name`. */
export function record(op: string, value: unknown, name: string, message: string): object {
  if (!isRecord(value)) throw inputError(op, name, message);
  return value;
}

/** Field `name` of caller input, read once; `path` names it in errors ('tunnel.port'). */
export function field(op: string, obj: object, name: string, path = name): unknown {
  try {
    return (obj as Record<string, unknown>)[name];
  } catch (e) {
    throw inputError(op, path, `${op}: ${path} cannot be read: ${describeValue(e)}`, e);
  }
}

/** The elements of an array field, read once each; undefined when `v` is not an array. */
export function elements(op: string, v: unknown, path: string): unknown[] | undefined {
  if (!isArray(v)) return undefined;
  const n = field(op, v, 'length', path);
  if (!isInt(n, 0, 0xffffffff)) throw inputError(op, path, `${op}: ${path} is an array of unreadable length`);
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = field(op, v, String(i), path);
  return out;
}
