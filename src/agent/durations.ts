/**
 * Check durations as a fixed-bucket histogram (Prometheus's default bounds):
 * a handful of numbers per real server however long the agent runs.
 */

/** Upper bounds in seconds; +Inf is implied. */
export const DURATION_BOUNDS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A histogram as plain data: `counts[i]` durations were at most `bounds[i]` (cumulative). */
export interface DurationHistogramStatus {
  bounds: readonly number[];
  counts: number[];
  /** All durations, +Inf included. */
  count: number;
  /** Their sum, in seconds. */
  sum: number;
}

export class DurationHistogram {
  /** Per bucket, not cumulative (the last one is +Inf). */
  private readonly buckets = new Array<number>(DURATION_BOUNDS.length + 1).fill(0);
  private sum = 0;

  observe(seconds: number): void {
    if (!(seconds >= 0) || !Number.isFinite(seconds)) return;
    let i = 0;
    while (i < DURATION_BOUNDS.length && seconds > DURATION_BOUNDS[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
  }

  status(): DurationHistogramStatus {
    const counts: number[] = [];
    let acc = 0;
    for (let i = 0; i < DURATION_BOUNDS.length; i++) counts.push((acc += this.buckets[i]!));
    return { bounds: DURATION_BOUNDS, counts, count: acc + this.buckets[DURATION_BOUNDS.length]!, sum: this.sum };
  }
}
