/**
 * ipvsadm's listing order: glibc's qsort (a top-down merge sort in glibc,
 * hence stable and deterministic) with libipvs' comparators, whose
 * differences of unsigned values wrap to int. Addresses 2^31 apart, or
 * firewall marks of 2^31 and above, therefore sort "wrongly" — but exactly
 * as ipvsadm sorts them, which is what scripts diffing listings expect.
 */
import type { AddrWords, DestRow, SvcRow } from './rows.js';

/** glibc msort_with_tmp: split in halves (the first n/2), merge taking the left on ties. */
export function msort<T>(items: T[], cmp: (a: T, b: T) => number): T[] {
  if (items.length < 2) return items.slice();
  const a = items.slice();
  const tmp: T[] = new Array(a.length);
  const sort = (lo: number, n: number): void => {
    if (n <= 1) return;
    const n1 = n >> 1;
    const n2 = n - n1;
    sort(lo, n1);
    sort(lo + n1, n2);
    let i = lo;
    let j = lo + n1;
    let k = 0;
    let r1 = n1;
    let r2 = n2;
    while (r1 > 0 && r2 > 0) {
      if (cmp(a[i]!, a[j]!) <= 0) {
        tmp[k++] = a[i++]!;
        r1--;
      } else {
        tmp[k++] = a[j++]!;
        r2--;
      }
    }
    while (r1 > 0) {
      tmp[k++] = a[i++]!;
      r1--;
    }
    for (let m = 0; m < k; m++) a[lo + m] = tmp[m]!;
  };
  sort(0, a.length);
  return a;
}

/** (int)(a - b) for 32-bit a and b (signed or not: the same bits, the same result). */
const diff32 = (a: number, b: number): number => (a - b) | 0;

/** libipvs compares addresses word by word: the first's family decides how many words. */
function cmpAddr(af: number, a: AddrWords, b: AddrWords): number {
  let r = diff32(a.w0, b.w0);
  if (af !== 10 || r) return r;
  r = diff32(a.w1, b.w1);
  if (r) return r;
  r = diff32(a.w2, b.w2);
  if (r) return r;
  return diff32(a.w3, b.w3);
}

/** libipvs ipvs_cmp_services. */
export function cmpServices(s1: SvcRow, s2: SvcRow): number {
  let r = diff32(s1.fwmark, s2.fwmark);
  if (r) return r;
  r = s1.af - s2.af;
  if (r) return r;
  r = s1.protocol - s2.protocol;
  if (r) return r;
  r = cmpAddr(s1.af, s1, s2);
  if (r) return r;
  return s1.port - s2.port;
}

/** libipvs ipvs_cmp_dests (the first entry's family decides how much address to compare). */
export function cmpDests(d1: DestRow, d2: DestRow): number {
  const r = cmpAddr(d1.af, d1, d2);
  if (r) return r;
  return d1.port - d2.port;
}
