/**
 * What an apply may touch. A service outside it is never changed, deleted
 * or drained, and a desired service outside it is refused.
 */
import { BlockList } from 'node:net';
import { canonicalAddress } from './normalize.js';
import type { Ownership } from './types.js';
import type { ServiceKey } from '../ipvs/types.js';

/** A problem with the ownership options: where ("owns.cidrs[1]") and what. */
export interface OwnershipProblem {
  path: string;
  message: string;
}

/** Builds the test "is this service mine"; bad CIDRs or ranges are reported, not thrown. */
export function ownerTest(owns: Ownership | undefined, problems: OwnershipProblem[] = []): (key: ServiceKey) => boolean {
  if (!owns) return () => true;
  if (owns.predicate) {
    const p = owns.predicate;
    return (key) => p(key) === true;
  }
  if (owns.cidrs === undefined && owns.fwmarks === undefined) return () => true;
  const list = new BlockList();
  (owns.cidrs ?? []).forEach((c, i) => {
    const parsed = parseCidr(c);
    if (typeof parsed === 'string') problems.push({ path: `owns.cidrs[${i}]`, message: parsed });
    else list.addSubnet(parsed.address, parsed.prefix, parsed.family === 'inet' ? 'ipv4' : 'ipv6');
  });
  const ranges = owns.fwmarks ?? [];
  ranges.forEach((r, i) => {
    const ok = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
    if (!r || !ok(r.from) || !ok(r.to) || r.from > r.to) {
      problems.push({ path: `owns.fwmarks[${i}]`, message: `a firewall-mark range is { from, to } with 0 <= from <= to <= 4294967295, got ${JSON.stringify(r)}` });
    }
  });
  return (key) => {
    if ('fwmark' in key && key.fwmark !== undefined) {
      const m = key.fwmark;
      return ranges.some((r) => m >= r.from && m <= r.to);
    }
    const a = key as { address: string };
    const c = canonicalAddress(a.address);
    return c !== undefined && list.check(c.text, c.family === 'inet' ? 'ipv4' : 'ipv6');
  };
}

/** "10.0.0.0/8", "2001:db8::/32", or a bare address (one host). */
export function parseCidr(text: unknown): { address: string; prefix: number; family: 'inet' | 'inet6' } | string {
  if (typeof text !== 'string') return `a CIDR is text such as "10.0.0.0/8", got ${JSON.stringify(text)}`;
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const c = canonicalAddress(addr);
  if (!c) return `${JSON.stringify(text)} is not a CIDR such as "10.0.0.0/8" or "2001:db8::/32"`;
  const max = c.family === 'inet' ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return `${JSON.stringify(text)}: the prefix length must be 0 to ${max}`;
  return { address: c.text, prefix, family: c.family };
}

/** "100-200" or "7" as a range (CLI --owns-fwmark). */
export function parseFwmarkRange(text: string): { from: number; to: number } | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return from <= to && to <= 0xffffffff ? { from, to } : undefined;
}
