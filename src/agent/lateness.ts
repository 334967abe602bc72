/**
 * How late checks start compared with when they were due: a fixed-bucket
 * histogram (cheap at any rate) plus a bounded sample for exact percentiles.
 */

/** Upper bounds of the histogram buckets in milliseconds; the last bucket is open. */
export const LATENESS_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] as const;

export interface LatenessSummary {
  count: number;
  meanMs: number;
  maxMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Counts per bucket: `le` is the bucket's upper bound (Infinity for the last). */
  buckets: { le: number; count: number }[];
}

export class Lateness {
  private readonly counts = new Array<number>(LATENESS_BUCKETS_MS.length + 1).fill(0);
  private count = 0;
  private sum = 0;
  private max = 0;
  /** The most recent samples (a ring), for percentiles. */
  private readonly ring: Float64Array;
  private ringNext = 0;

  constructor(sampleSize = 65536) {
    this.ring = new Float64Array(sampleSize);
  }

  record(ms: number): void {
    const v = ms < 0 ? 0 : ms;
    let b = 0;
    while (b < LATENESS_BUCKETS_MS.length && v > LATENESS_BUCKETS_MS[b]!) b++;
    this.counts[b]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
    this.ring[this.ringNext++ % this.ring.length] = v;
  }

  summary(): LatenessSummary {
    const n = Math.min(this.ringNext, this.ring.length);
    const sorted = Float64Array.from(this.ring.subarray(0, n)).sort();
    const q = (p: number) => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(p * n))]!);
    return {
      count: this.count,
      meanMs: this.count ? this.sum / this.count : 0,
      maxMs: this.max,
      p50Ms: q(0.5),
      p90Ms: q(0.9),
      p99Ms: q(0.99),
      buckets: this.counts.map((count, i) => ({ le: LATENESS_BUCKETS_MS[i] ?? Infinity, count })),
    };
  }
}
