/**
 * The sync daemon's role following a VRRP state: a keepalived notify script
 * (or the agent) says "master", "backup" or "stop", and the namespace's sync
 * daemons are brought to exactly that, whatever ran before. Idempotent: a
 * daemon already running as asked is left alone (its sync state survives);
 * one running with other settings is restarted; the other role is stopped,
 * so master -> backup stops the master daemon and starts a backup one.
 */
import type { Daemon, DaemonSpec, DaemonStateName } from '../ipvs/types.js';

/** The part of a handle this needs (any Ipvs handle has it). */
export interface DaemonControl {
  listDaemons(): Promise<Daemon[]>;
  startDaemon(spec: DaemonSpec): Promise<void>;
  stopDaemon(spec: { state: DaemonStateName }): Promise<void>;
}

/** What a role change did. */
export interface SyncRoleChange {
  stopped: DaemonStateName[];
  started: DaemonStateName[];
  /** Daemons left running as they were. */
  kept: DaemonStateName[];
}

export type SyncRole = DaemonStateName | 'stop';

/** The daemon settings of a role (everything but the state). */
export type SyncSettings = Omit<DaemonSpec, 'state'>;

/** Whether a running daemon has the settings asked for (those not given are not compared). */
export function sameDaemon(d: Daemon, want: SyncSettings): boolean {
  return (
    d.interface === want.interface &&
    d.syncId === (want.syncId ?? 0) &&
    (want.syncMaxLen === undefined || d.syncMaxLen === want.syncMaxLen) &&
    (want.mcastGroup === undefined || d.mcastGroup === want.mcastGroup) &&
    (want.mcastPort === undefined || d.mcastPort === want.mcastPort) &&
    (want.mcastTtl === undefined || d.mcastTtl === want.mcastTtl)
  );
}

/**
 * The steps from the running daemons to a role: which to stop and which to
 * start (a pure decision; setSyncRole carries it out).
 */
export function planSyncRole(running: Daemon[], role: SyncRole, settings?: SyncSettings): { stop: DaemonStateName[]; start: DaemonStateName[]; keep: DaemonStateName[] } {
  const stop: DaemonStateName[] = [];
  const start: DaemonStateName[] = [];
  const keep: DaemonStateName[] = [];
  for (const d of running) {
    if (role !== 'stop' && d.state === role && settings && sameDaemon(d, settings)) keep.push(d.state);
    else stop.push(d.state);
  }
  if (role !== 'stop' && keep.length === 0) start.push(role);
  return { stop, start, keep };
}

/**
 * Brings the sync daemons of the handle's namespace to `role` (like
 * `ipvsadm --stop-daemon` / `--start-daemon` as needed). `settings` is
 * required for master and backup.
 */
export async function setSyncRole(ipvs: DaemonControl, role: SyncRole, settings?: SyncSettings): Promise<SyncRoleChange> {
  const steps = planSyncRole(await ipvs.listDaemons(), role, settings);
  for (const state of steps.stop) await ipvs.stopDaemon({ state });
  for (const state of steps.start) await ipvs.startDaemon({ ...settings!, state });
  return { stopped: steps.stop, started: steps.start, kept: steps.keep };
}
