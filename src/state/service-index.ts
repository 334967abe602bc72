/**
 * Finds a desired service by key: to catch a service listed twice, and to
 * pair each listed service with the one wanted. An IPv4 service's key
 * (protocol, address, port) is one number of 50 bits, exact in a double;
 * those are sorted once and found by binary search, with no string or map
 * entry per service. Other keys (IPv6, firewall marks) are identity strings
 * in a Map. Bench rows "apply from empty" and "no-op apply": at 10,000
 * services, identity strings in a Map took 50-250 ms in the test kernel and
 * 10-20 ms on the build machine, these numbers 2-6 ms and 1-4 ms. Its naive
 * twin, a Map of identity strings, is held equal to it in state-index.test.ts.
 */
import { ipv4, NOT_IPV4 } from '../ipvs/address.js';
import { isPort } from '../ipvs/rules.js';
import type { Service } from '../ipvs/types.js';

const PROTOCOL_CODES: Readonly<Record<string, number>> = { tcp: 1, udp: 2, sctp: 3 };

/**
 * An IPv4 service's key as one number, or -1 when it has none (IPv6,
 * firewall mark, bad input). Address first, then port, then protocol: the
 * order `ipvs export` writes services in, so its files come sorted.
 * `parsed`: the address as ipv4() reads it, when the caller has it already.
 */
export function numericKey(protocol: unknown, address: unknown, port: unknown, parsed = ipv4(address)): number {
  const p = typeof protocol === 'string' ? (PROTOCOL_CODES[protocol] ?? 0) : 0;
  if (p === 0 || !isPort(port) || parsed === NOT_IPV4) return -1;
  return ((parsed >>> 0) * 65536 + port) * 4 + p;
}

export class ServiceIndex {
  /** Numeric keys and their positions, in the order added; sorted by seal(). */
  private keys: Float64Array;
  private positions: Uint32Array;
  private count = 0;
  /** Whether the keys came in increasing order (files from `ipvs export` do): then seal() has nothing to sort. */
  private ascending = true;
  private readonly ids = new Map<string, number>();

  constructor(capacity: number) {
    this.keys = new Float64Array(Math.max(capacity, 1));
    this.positions = new Uint32Array(Math.max(capacity, 1));
  }

  /** Adds the service at `position` by its numeric key (duplicates are found by seal()). */
  addKey(position: number, key: number): void {
    if (this.count === this.keys.length) this.growTo(this.count * 2);
    if (this.count > 0 && !(key > this.keys[this.count - 1]!)) this.ascending = false;
    this.keys[this.count] = key;
    this.positions[this.count++] = position;
  }

  /** Adds the service at `position` by its identity string; returns the position of an earlier one with it, else -1. */
  addId(position: number, id: string): number {
    const prev = this.ids.get(id);
    if (prev !== undefined) return prev;
    this.ids.set(id, position);
    return -1;
  }

  /**
   * Sorts the numeric keys for lookups. Returns the services whose numeric
   * key an earlier one has, as [position, earlier position] in the order
   * of position (the earliest of equal keys is the one kept).
   */
  seal(): Array<[number, number]> {
    if (this.ascending) return [];
    const n = this.count;
    const keys = this.keys;
    const positions = this.positions;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => keys[a]! - keys[b]! || positions[a]! - positions[b]!);
    const sortedKeys = new Float64Array(n);
    const sortedPositions = new Uint32Array(n);
    const twins: Array<[number, number]> = [];
    for (let j = 0; j < n; j++) {
      sortedKeys[j] = keys[order[j]!]!;
      sortedPositions[j] = positions[order[j]!]!;
      if (j > 0 && sortedKeys[j] === sortedKeys[j - 1]) {
        let first = j - 1;
        while (first > 0 && sortedKeys[first - 1] === sortedKeys[j]) first--;
        twins.push([sortedPositions[j]!, sortedPositions[first]!]);
      }
    }
    this.keys = sortedKeys;
    this.positions = sortedPositions;
    return twins.sort((a, b) => a[0] - b[0]);
  }

  /** The position of the service with this numeric key, -1 when none (after seal()). */
  findKey(key: number): number {
    const keys = this.keys;
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid]!;
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid - 1;
      else {
        // (the first of equal keys: the one a duplicate check kept)
        let at = mid;
        while (at > 0 && keys[at - 1] === key) at--;
        return this.positions[at]!;
      }
    }
    return -1;
  }

  /** The position of the service with this identity string, -1 when none. */
  findId(id: string): number {
    return this.ids.get(id) ?? -1;
  }

  /** The position of the desired service with a listed service's key, -1 when none. */
  findListed(s: Service): number {
    if (s.fwmark === undefined && s.family === 'inet') {
      const k = numericKey(s.protocol, s.address, s.port);
      if (k >= 0) return this.findKey(k);
    }
    return this.findId(s.fwmark !== undefined ? `fwm|${s.fwmark}|${s.family}` : `${s.protocol}|${s.address}|${s.port}`);
  }

  private growTo(size: number): void {
    const keys = new Float64Array(size);
    const positions = new Uint32Array(size);
    keys.set(this.keys);
    positions.set(this.positions);
    this.keys = keys;
    this.positions = positions;
  }
}
