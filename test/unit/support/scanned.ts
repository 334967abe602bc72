/**
 * The library's decoders of service and destination replies (src/ipvs/scan.ts)
 * fed the attributes of one reply (the generic netlink payload after its
 * 4-byte header) the way the connection feeds them: as one netlink message
 * inside a larger buffer, between junk bytes.
 */
import { scanDestination, scanService } from '../../../src/ipvs/scan.js';
import type { AddressFamily, Destination, Service } from '../../../src/ipvs/types.js';

function scanned<T>(attrs: ArrayLike<number>, scan: (data: Uint8Array, view: DataView, start: number, end: number) => T): T {
  const at = 3;
  const len = 20 + attrs.length;
  const big = new Uint8Array(at + len + 5).fill(0xa5);
  const view = new DataView(big.buffer);
  view.setUint32(at, len, true);
  big.fill(0, at + 4, at + 20);
  big.set(attrs, at + 20);
  return scan(big, view, at + 16, at + len);
}

/** A service reply's attributes, decoded by scanService. */
export function serviceOf(attrs: ArrayLike<number>): Service {
  return scanned(attrs, scanService);
}

/** A destination reply's attributes, decoded by scanDestination. */
export function destinationOf(attrs: ArrayLike<number>, serviceFamily: AddressFamily): Destination {
  return scanned(attrs, (data, view, start, end) => scanDestination(data, view, start, end, serviceFamily));
}
