/**
 * The rules input must follow, as predicates: validate.ts words a refusal
 * when one fails, fast.ts declines (and leaves the wording to validate.ts).
 * Written once so the two cannot drift apart.
 */
import { SCHEDNAME_MAXLEN } from './constants.js';

/** ipvsadm's persistence timeout when -p is given without a value. */
export const DEFAULT_PERSISTENT_TIMEOUT = 360;
/** ipvsadm caps the persistence timeout at 31 days. */
export const MAX_PERSISTENT_TIMEOUT = 31 * 86400;
export const DEFAULT_SCHEDULER = 'wlc';
/** Real servers' defaults: route forwarding, weight 1. */
export const DEFAULT_FORWARDING = 'route';
export const DEFAULT_WEIGHT = 1;
export const MAX_WEIGHT = 0x7fffffff;
export const MAX_THRESHOLD = 0xffffffff;

export const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

export const isPort = (v: unknown): v is number => isInt(v, 0, 65535);

/** A scheduler (or persistence engine, with `empty`) name: [A-Za-z0-9_-], shorter than `max`. */
export function isName(v: unknown, max = SCHEDNAME_MAXLEN, empty = false): v is string {
  if (typeof v !== 'string' || v.length >= max || (v.length === 0 && !empty)) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 45)) return false;
  }
  return true;
}

/** The persistence timeout `persistent` asks for (0: none), or -1 when it is not one. */
export function persistenceTimeout(p: unknown): number {
  if (p === undefined || p === false || p === 0) return 0;
  if (p === true) return DEFAULT_PERSISTENT_TIMEOUT;
  return isInt(p, 1, MAX_PERSISTENT_TIMEOUT) ? p : -1;
}

/** Whether thresholds are valid together (each a u32, lower not above upper). */
export const isThreshold = (v: unknown): v is number => isInt(v, 0, MAX_THRESHOLD);
export const isWeight = (v: unknown): v is number => isInt(v, 0, MAX_WEIGHT);
