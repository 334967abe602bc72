import { describe, expect, it } from 'vitest';
import { dynamicWeight, initialCheckState, nextDelay, serverUp, stepCheck, type CheckState } from '../../../src/agent/health.js';

const ok = { ok: true, detail: 'ok' };
const bad = { ok: false, detail: 'bad' };

function run(state: CheckState, results: boolean[], limits = { rise: 2, fall: 3 }) {
  const seen: boolean[] = [];
  let t = 0;
  for (const r of results) {
    state = stepCheck(state, r ? ok : bad, limits, ++t).state;
    seen.push(state.up);
  }
  return { state, seen };
}

describe('check state machine', () => {
  it('starts up or down (alpha)', () => {
    expect(initialCheckState({ start: 'up' }, 5)).toEqual({ up: true, streak: 0, transitions: 0, since: 5 });
    expect(initialCheckState({ start: 'down' }, 5).up).toBe(false);
  });

  it('goes down after exactly fall consecutive failures', () => {
    const { seen } = run(initialCheckState({ start: 'up' }, 0), [false, false, false, false]);
    expect(seen).toEqual([true, true, false, false]);
  });

  it('a success in between restarts the failure count', () => {
    const { seen } = run(initialCheckState({ start: 'up' }, 0), [false, false, true, false, false, false]);
    expect(seen).toEqual([true, true, true, true, true, false]);
  });

  it('comes up after exactly rise consecutive successes', () => {
    const { seen, state } = run(initialCheckState({ start: 'down' }, 0), [true, false, true, true, true]);
    expect(seen).toEqual([false, false, false, true, true]);
    expect(state.transitions).toBe(1);
    expect(state.since).toBe(4);
  });

  it('fall 1 and rise 1 flip on every change', () => {
    const { seen, state } = run(initialCheckState({ start: 'up' }, 0), [false, true, false], { rise: 1, fall: 1 });
    expect(seen).toEqual([false, true, false]);
    expect(state.transitions).toBe(3);
  });

  it('reports changed only on the flip, and keeps the last result', () => {
    let s = initialCheckState({ start: 'up' }, 0);
    const a = stepCheck(s, bad, { rise: 1, fall: 2 }, 10, 3);
    expect(a.changed).toBe(false);
    expect(a.state.last).toEqual({ ok: false, detail: 'bad', at: 10, ms: 3 });
    s = a.state;
    const b = stepCheck(s, bad, { rise: 1, fall: 2 }, 11);
    expect(b.changed).toBe(true);
    expect(b.state.up).toBe(false);
  });

  it('keeps the weight a dynamic check asked for until another is asked', () => {
    let s = initialCheckState({ start: 'up' }, 0);
    s = stepCheck(s, { ok: true, detail: 'exit 7', weight: 5 }, { rise: 1, fall: 1 }, 1).state;
    expect(s.weight).toBe(5);
    s = stepCheck(s, { ok: true, detail: 'exit 0' }, { rise: 1, fall: 1 }, 2).state;
    expect(s.weight).toBeUndefined();
    expect(dynamicWeight([s, { ...s, weight: 9 }])).toBe(9);
  });

  it('a server is up only when every check is', () => {
    const up = initialCheckState({ start: 'up' }, 0);
    const down = initialCheckState({ start: 'down' }, 0);
    expect(serverUp([])).toBe(true);
    expect(serverUp([up, up])).toBe(true);
    expect(serverUp([up, down])).toBe(false);
  });

  it('uses the retry interval while a failure streak counts', () => {
    const timing = { interval: 6, retryInterval: 1 };
    let s = initialCheckState({ start: 'up' }, 0);
    expect(nextDelay(timing, s)).toBe(6);
    s = stepCheck(s, bad, { rise: 1, fall: 3 }, 1).state;
    expect(nextDelay(timing, s)).toBe(1);
    s = stepCheck(s, bad, { rise: 1, fall: 2 }, 2).state;
    expect(s.up).toBe(false);
    expect(nextDelay(timing, s)).toBe(6);
  });
});
