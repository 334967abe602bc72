// The check-duration histogram against a naive count of the same durations.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DURATION_BOUNDS, DurationHistogram } from '../../../src/agent/durations.js';

describe('DurationHistogram', () => {
  it('counts, per bound, the durations at most that bound, and sums them', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 30, noNaN: true }), { maxLength: 200 }), (xs) => {
        const h = new DurationHistogram();
        for (const x of xs) h.observe(x);
        const st = h.status();
        expect(st.bounds).toEqual(DURATION_BOUNDS);
        expect(st.counts).toEqual(DURATION_BOUNDS.map((b) => xs.filter((x) => x <= b).length));
        expect(st.count).toBe(xs.length);
        expect(st.sum).toBeCloseTo(xs.reduce((a, x) => a + x, 0), 6);
      }),
    );
  });

  it('ignores what is not a duration', () => {
    const h = new DurationHistogram();
    for (const x of [NaN, -1, Infinity]) h.observe(x);
    expect(h.status()).toMatchObject({ count: 0, sum: 0 });
  });
});
