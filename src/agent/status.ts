/**
 * The agent's health model as plain data: what `ipvs agent status` shows
 * and what other layers (metrics, a status page) read through
 * `agent.status()`. Times are ISO 8601 text.
 */
import type { DurationHistogramStatus } from './durations.js';
import type { SchedulerStats } from './scheduler.js';

export interface CheckStatus {
  type: string;
  /** Where it probes: "10.2.1.2:80". */
  target: string;
  up: boolean;
  /** Results counted towards the next flip (failures while up, successes while down). */
  streak: number;
  transitions: number;
  since: string;
  last?: { ok: boolean; detail: string; at: string; ms: number };
}

export interface DestinationStatus {
  id: string;
  address: string;
  port: number;
  up: boolean;
  configuredWeight: number;
  /** The weight in the kernel; null when the agent leaves it out. */
  effectiveWeight: number | null;
  onFailure: 'remove' | 'inhibit';
  checks: CheckStatus[];
  /** How long its checks took (all of them together), since the agent started checking it. */
  checkDurations: DurationHistogramStatus;
}

export interface ServiceStatus {
  id: string;
  quorumUp: boolean;
  sorryServerIn: boolean;
  liveWeight: number;
  destinations: DestinationStatus[];
}

export interface AgentStatus {
  startedAt: string;
  services: ServiceStatus[];
  /** Real servers draining (removed from the file), with their deadlines. */
  draining: { id: string; deadline: string }[];
  /** The last reconcile: when it finished, how long it took (ms), what it changed. */
  lastApply?: { at: string; ms: number; reason: string; changes: string[]; errors: string[] };
  scheduler: SchedulerStats;
}
