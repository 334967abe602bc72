/**
 * Runs periodic jobs (health checks) so that the agent never stalls: one
 * timer for the earliest job, at most `perTurn` jobs started per event-loop
 * turn (I/O gets its turn between), at most `concurrency` running at once
 * (the rest wait in a FIFO, and their wait counts as lateness). A job
 * returns the milliseconds until its next run; cadence is kept from when
 * it was due, not from when it finished.
 */
import { MinHeap } from './heap.js';
import { Lateness, type LatenessSummary } from './lateness.js';

/** A job: runs once per call and says when to run next (ms from its due time). */
export type Job = () => Promise<number>;

export interface SchedulerOptions {
  /** Jobs running at once. Default 512. */
  concurrency?: number;
  /** Jobs started per event-loop turn. Default 256. */
  perTurn?: number;
  /** Clock in ms (monotonic). Default performance.now. */
  now?: () => number;
}

interface Entry {
  due: number;
  id: string;
  gen: number;
}

export interface SchedulerStats {
  jobs: number;
  running: number;
  waiting: number;
  started: number;
  lateness: LatenessSummary;
}

export class Scheduler {
  private readonly heap = new MinHeap<Entry>();
  private readonly jobs = new Map<string, { job: Job; gen: number }>();
  /** Due jobs waiting for a slot, FIFO from `readyHead` (no shift(): a long queue stays O(1) per start). */
  private ready: Entry[] = [];
  private readyHead = 0;
  private readonly lateness = new Lateness();
  private readonly concurrency: number;
  private readonly perTurn: number;
  private readonly now: () => number;
  private running = 0;
  private started = 0;
  private gen = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private turnQueued = false;
  private stopped = false;

  constructor(opts: SchedulerOptions = {}) {
    this.concurrency = opts.concurrency ?? 512;
    this.perTurn = opts.perTurn ?? 256;
    // (the global, read at each call, so a test's fake clock is seen)
    this.now = opts.now ?? (() => globalThis.performance.now());
  }

  /** Adds (or replaces) a job, first run after `delayMs`. */
  add(id: string, delayMs: number, job: Job): void {
    const gen = ++this.gen;
    this.jobs.set(id, { job, gen });
    this.push({ due: this.now() + delayMs, id, gen });
  }

  /** Removes a job; a run in progress finishes but is not rescheduled. */
  remove(id: string): void {
    this.jobs.delete(id);
  }

  has(id: string): boolean {
    return this.jobs.has(id);
  }

  /** Stops everything: no job starts after this (runs in progress finish on their own). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.heap.clear();
    this.ready = [];
    this.readyHead = 0;
    this.jobs.clear();
  }

  stats(): SchedulerStats {
    return { jobs: this.jobs.size, running: this.running, waiting: this.ready.length - this.readyHead, started: this.started, lateness: this.lateness.summary() };
  }

  private push(e: Entry): void {
    if (this.stopped) return;
    this.heap.push(e);
    if (e.due < this.timerDue) this.arm(e.due);
  }

  private arm(due: number): void {
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.turn();
    }, Math.max(0, due - this.now()));
  }

  /** Moves due jobs to the ready queue (at most perTurn) and starts what concurrency allows. */
  private turn(): void {
    this.turnQueued = false;
    if (this.stopped) return;
    const now = this.now();
    let moved = 0;
    while (moved < this.perTurn) {
      const top = this.heap.peek();
      if (!top || top.due > now) break;
      this.heap.pop();
      if (this.jobs.get(top.id)?.gen !== top.gen) continue; // removed or replaced
      this.ready.push(top);
      moved++;
    }
    this.startReady();
    const top = this.heap.peek();
    if (top && top.due <= now) this.queueTurn();
    else if (top && top.due < this.timerDue) this.arm(top.due);
  }

  private queueTurn(): void {
    if (this.turnQueued) return;
    this.turnQueued = true;
    setImmediate(() => this.turn());
  }

  private startReady(): void {
    let startedNow = 0;
    while (this.running < this.concurrency && this.readyHead < this.ready.length && startedNow < this.perTurn) {
      const e = this.ready[this.readyHead++]!;
      const j = this.jobs.get(e.id);
      if (j?.gen !== e.gen) continue;
      startedNow++;
      this.run(e, j.job);
    }
    if (this.readyHead === this.ready.length) {
      this.ready = [];
      this.readyHead = 0;
    } else if (this.running < this.concurrency) this.queueTurn();
  }

  private run(e: Entry, job: Job): void {
    this.running++;
    this.started++;
    this.lateness.record(this.now() - e.due);
    const finish = (nextMs: number) => {
      this.running--;
      if (this.jobs.get(e.id)?.gen === e.gen) this.push({ due: Math.max(e.due + nextMs, this.now()), id: e.id, gen: e.gen });
      if (this.readyHead < this.ready.length) this.startReady();
    };
    job().then(finish, () => finish(1000));
  }
}
