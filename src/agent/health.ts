/**
 * The health state machine, as plain functions over plain data: a check goes
 * down after `fall` consecutive failures and comes up after `rise`
 * consecutive successes; a real server is up only when all its checks are.
 */
import type { CheckResult } from './checks/index.js';
import type { CheckSpec } from './types.js';

/** One check's state; kept across reloads while its real server exists. */
export interface CheckState {
  up: boolean;
  /** Consecutive successes (while down) or failures (while up) counted so far. */
  streak: number;
  /** The last result and when it came (ms since the epoch). */
  last?: CheckResult & { at: number; ms: number };
  /** Up/down changes since the agent started. */
  transitions: number;
  /** When the state last changed (ms since the epoch). */
  since: number;
  /** Weight asked by the last successful exec check with dynamicWeight. */
  weight?: number;
}

export function initialCheckState(check: Pick<CheckSpec, 'start'>, now: number): CheckState {
  return { up: check.start === 'up', streak: 0, transitions: 0, since: now };
}

/**
 * The state after one result; `changed` when up/down flipped. An up check
 * counts failures towards `fall`; a down check counts successes towards
 * `rise`; a result of the other kind resets the count.
 */
export function stepCheck(
  state: CheckState,
  result: CheckResult,
  limits: Pick<CheckSpec, 'rise' | 'fall'>,
  at: number,
  ms = 0,
): { state: CheckState; changed: boolean } {
  const last = { ...result, at, ms };
  const weight = result.ok ? result.weight : state.weight;
  if (result.ok === state.up) {
    const next: CheckState = { ...state, streak: 0, last };
    if (weight === undefined) delete next.weight;
    else next.weight = weight;
    return { state: next, changed: false };
  }
  const streak = state.streak + 1;
  const needed = state.up ? limits.fall : limits.rise;
  if (streak < needed) return { state: { ...state, streak, last }, changed: false };
  const next: CheckState = { up: result.ok, streak: 0, last, transitions: state.transitions + 1, since: at };
  if (weight !== undefined) next.weight = weight;
  return { state: next, changed: true };
}

/** A real server's health from its checks: up when every check is up (no checks: up). */
export function serverUp(states: readonly CheckState[]): boolean {
  return states.every((s) => s.up);
}

/** The weight the checks ask for (the last exec check with dynamicWeight that set one), if any. */
export function dynamicWeight(states: readonly CheckState[]): number | undefined {
  let w: number | undefined;
  for (const s of states) if (s.weight !== undefined) w = s.weight;
  return w;
}

/**
 * Seconds until a check's next run: its interval, or the retry interval while
 * a failure streak is counting towards `fall` (keepalived's delay_before_retry).
 */
export function nextDelay(check: Pick<CheckSpec, 'interval' | 'retryInterval'>, state: CheckState): number {
  return state.up && state.streak > 0 ? check.retryInterval : check.interval;
}
