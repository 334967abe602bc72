import { afterEach, describe, expect, it, vi } from 'vitest';
import { Scheduler } from '../../../src/agent/scheduler.js';
import { Lateness } from '../../../src/agent/lateness.js';
import { MinHeap } from '../../../src/agent/heap.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('MinHeap', () => {
  it('pops in due order', () => {
    const h = new MinHeap<{ due: number }>();
    const values = Array.from({ length: 500 }, () => Math.floor(Math.random() * 1000));
    for (const due of values) h.push({ due });
    const out: number[] = [];
    while (h.size) out.push(h.pop()!.due);
    expect(out).toEqual([...values].sort((a, b) => a - b));
  });
});

describe('Lateness', () => {
  it('buckets, mean, max and percentiles', () => {
    const l = new Lateness(100);
    for (let i = 1; i <= 100; i++) l.record(i);
    const s = l.summary();
    expect(s.count).toBe(100);
    expect(s.maxMs).toBe(100);
    expect(s.meanMs).toBe(50.5);
    expect(s.p50Ms).toBe(51);
    expect(s.p99Ms).toBe(100);
    expect(s.buckets.find((b) => b.le === 1)!.count).toBe(1);
    expect(s.buckets.reduce((a, b) => a + b.count, 0)).toBe(100);
  });
});

describe('Scheduler', () => {
  it('runs each job at its interval, from when it was due', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
    const s = new Scheduler();
    const runs: number[] = [];
    s.add('a', 100, async () => {
      runs.push(performance.now());
      return 1000;
    });
    await vi.advanceTimersByTimeAsync(3200);
    expect(runs).toEqual([100, 1100, 2100, 3100]);
    expect(s.stats().lateness.maxMs).toBe(0);
    s.stop();
  });

  it('never runs more than `concurrency` jobs at once; waiting counts as lateness', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
    const s = new Scheduler({ concurrency: 2 });
    let running = 0;
    let peak = 0;
    for (let i = 0; i < 6; i++) {
      s.add(`j${i}`, 0, async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 100));
        running--;
        return 10_000;
      });
    }
    await vi.advanceTimersByTimeAsync(500);
    expect(peak).toBe(2);
    const st = s.stats();
    expect(st.started).toBe(6);
    expect(st.lateness.maxMs).toBe(200);
    s.stop();
  });

  it('removed and replaced jobs stop running; stop() ends everything', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
    const s = new Scheduler();
    const seen: string[] = [];
    s.add('a', 0, async () => (seen.push('a'), 100));
    s.add('b', 0, async () => (seen.push('b'), 100));
    await vi.advanceTimersByTimeAsync(50);
    s.remove('a');
    s.add('b', 0, async () => (seen.push('b2'), 100));
    await vi.advanceTimersByTimeAsync(250);
    expect(seen.filter((x) => x === 'a')).toHaveLength(1);
    expect(seen.filter((x) => x === 'b')).toHaveLength(1);
    expect(seen.filter((x) => x === 'b2').length).toBeGreaterThanOrEqual(3);
    s.stop();
    const n = seen.length;
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen.length).toBe(n);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('starts at most perTurn jobs per event-loop turn, letting I/O in between', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
    const s = new Scheduler({ perTurn: 10, concurrency: 1000 });
    let started = 0;
    for (let i = 0; i < 35; i++) s.add(`j${i}`, 0, async () => (started++, 60_000));
    await vi.advanceTimersToNextTimerAsync(); // the timer's turn
    expect(started).toBe(10);
    for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(1);
    expect(started).toBe(35);
    s.stop();
  });

  it('a job that throws is run again later', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
    const s = new Scheduler();
    let n = 0;
    s.add('x', 0, async () => {
      n++;
      throw new Error('boom');
    });
    await vi.advanceTimersByTimeAsync(2500);
    expect(n).toBe(3);
    s.stop();
  });
});
