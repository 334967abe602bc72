/**
 * The last minutes of rates per service and real server, for the status
 * page's sparklines. Bounded: a fixed number of points per series, at most
 * one point per step however often listings come, and series whose service
 * or real server left the listing are dropped at the next point.
 */
import type { Service, Stats } from '../ipvs/types.js';
import { destinationId, serviceId } from './health.js';

/** The rates kept, oldest point first (NaN: no sample at that time). */
export interface RateSeries {
  /** Connections per second. */
  cps: number[];
  /** Bytes per second, in. */
  bytesIn: number[];
  /** Bytes per second, out. */
  bytesOut: number[];
}

export interface HistoryOptions {
  /** Seconds between points. Default 5. */
  stepSeconds?: number;
  /** Points kept per series. Default 60 (5 minutes at 5 s). */
  points?: number;
}

const METRICS = 3;

export class RateHistory {
  readonly stepMs: number;
  readonly points: number;
  /** id -> points x METRICS values, a ring indexed by step number. */
  private readonly series = new Map<string, Float32Array>();
  /** The step number of the newest point, -1 before the first. */
  private newest = -1;

  constructor(opts: HistoryOptions = {}) {
    this.stepMs = Math.max(1, Math.round((opts.stepSeconds ?? 5) * 1000));
    this.points = Math.max(2, Math.min(10_000, Math.floor(opts.points ?? 60)));
  }

  /** Records a listing made at `nowMs`; does nothing when this step has its point already. */
  record(services: readonly Service[], nowMs: number): void {
    const step = Math.floor(nowMs / this.stepMs);
    if (step <= this.newest) return;
    // Steps skipped (no listing then) must read as gaps, not as old values.
    const skipped = Math.min(this.points, this.newest < 0 ? 0 : step - this.newest - 1);
    const seen = new Set<string>();
    const put = (id: string, st: Stats) => {
      seen.add(id);
      let ring = this.series.get(id);
      if (!ring) {
        ring = new Float32Array(this.points * METRICS).fill(NaN);
        this.series.set(id, ring);
      } else {
        for (let k = 1; k <= skipped; k++) ring.fill(NaN, this.slot(step - k), this.slot(step - k) + METRICS);
      }
      const at = this.slot(step);
      ring[at] = Number(st.cps);
      ring[at + 1] = Number(st.bytesInPerSecond);
      ring[at + 2] = Number(st.bytesOutPerSecond);
    };
    for (const s of services) {
      put(serviceId(s), s.stats);
      for (const d of s.destinations ?? []) put(destinationId(s, d), d.stats);
    }
    for (const id of this.series.keys()) if (!seen.has(id)) this.series.delete(id);
    this.newest = step;
  }

  /** The series of `id` (a serviceId or destinationId), oldest first; undefined when unknown. */
  get(id: string): RateSeries | undefined {
    const ring = this.series.get(id);
    if (!ring) return undefined;
    const out: RateSeries = { cps: [], bytesIn: [], bytesOut: [] };
    for (let step = this.newest - this.points + 1; step <= this.newest; step++) {
      const at = this.slot(step);
      out.cps.push(ring[at]!);
      out.bytesIn.push(ring[at + 1]!);
      out.bytesOut.push(ring[at + 2]!);
    }
    return out;
  }

  /** How many series are kept. */
  get size(): number {
    return this.series.size;
  }

  private slot(step: number): number {
    return (((step % this.points) + this.points) % this.points) * METRICS;
  }
}
