/** The declarative layer: snapshot, plan, apply, drains, and state files. */
export { Reconciler, snapshot, plan, apply, type StateClient } from './reconciler.js';
export { StateError, TOP_LEVEL_KEYS, type StateProblem } from './validate.js';
export type { DrainTrackerOptions } from './drain.js';
export type * from './types.js';
