/**
 * The agent: checks every real server, keeps the kernel at "configured state
 * minus failed real servers", and says what it did. Applies on start, after
 * health transitions (coalesced: one apply at a time, the next one takes
 * every change that came in meanwhile), on reload and every resync (which
 * repairs drift and logs it). Checker state lives apart from the config, so
 * a reload keeps the state of every check that still exists.
 */
import { checkTarget, runCheck, type CheckResult, type Target } from './checks/index.js';
import { computeDesired, liveWeight, withDeparted, type DesiredOutcome, type ServerHealth } from './desired.js';
import { DurationHistogram } from './durations.js';
import { dynamicWeight, initialCheckState, nextDelay, serverUp, stepCheck, type CheckState } from './health.js';
import type { AgentEvent } from './log.js';
import { ownsPredicate } from './owns.js';
import { formatChange, formatFailure, targetLabel } from '../state/format.js';
import { Reconciler, type StateClient } from '../state/reconciler.js';
import type { ApplyResult, Ownership } from '../state/types.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import type { AgentStatus } from './status.js';
import type { AgentConfig, AgentDestination, AgentService, CheckSpec } from './types.js';

export interface AgentOptions {
  /** Seconds between resyncs (drift repair). Default 30. */
  resyncSeconds?: number;
  /** Where events go. Default: nowhere. */
  log?: (e: AgentEvent) => void;
  scheduler?: SchedulerOptions;
  /** For the first-check jitter. Default Math.random. */
  random?: () => number;
  /** Runs one check (tests put their own results here). Default runCheck. */
  probe?: (check: CheckSpec, target: Target, seq: number) => Promise<CheckResult>;
}

/**
 * One check against one target, shared by every real server with that check
 * and target (the services of a keepalived virtual_server_group share their
 * real servers' checkers, as keepalived does). Kept across reloads while a
 * real server still has it: its state, its job and its cadence.
 */
interface Checker {
  spec: CheckSpec;
  target: Target;
  state: CheckState;
  /** Ids of the real servers it decides for. */
  users: Set<string>;
}

/** One real server: what it is and its checkers' keys, in check order. */
interface Entry {
  service: AgentService;
  dest: AgentDestination;
  checkers: string[];
  /** How long its checks took (fixed buckets: bounded memory). */
  durations: DurationHistogram;
}

const checkerKey = (c: CheckSpec, t: Target) => `${JSON.stringify(c)} ${t.address}|${t.port}`;
/** The port a real server is checked on without a check port: its own, else its service's. */
const destPort = (s: AgentService, d: AgentDestination) => d.spec.port ?? ('port' in s.key ? s.key.port : 0);

export class Agent {
  private config: AgentConfig;
  private readonly entries = new Map<string, Entry>();
  private readonly checkers = new Map<string, Checker>();
  private quorum = new Map<string, boolean>();
  private outcome: DesiredOutcome | undefined;
  private readonly reconciler: Reconciler;
  /** Every service label the agent's files declared: owned even after it leaves the file. */
  private readonly declared = new Set<string>();
  private readonly scheduler: Scheduler;
  private readonly log: (e: AgentEvent) => void;
  private readonly random: () => number;
  private readonly probe: NonNullable<AgentOptions['probe']>;
  private readonly resyncMs: number;
  private resyncTimer: NodeJS.Timeout | undefined;
  private applying: Promise<void> | undefined;
  private pending = new Set<string>();
  private lastApply: AgentStatus['lastApply'];
  private readonly startedAt = new Date();
  private seq = 0;
  private stopped = false;

  constructor(ipvs: StateClient, config: AgentConfig, opts: AgentOptions = {}) {
    this.config = config;
    this.reconciler = new Reconciler(ipvs);
    this.scheduler = new Scheduler(opts.scheduler);
    this.log = opts.log ?? (() => {});
    this.random = opts.random ?? Math.random;
    this.probe = opts.probe ?? runCheck;
    this.resyncMs = (opts.resyncSeconds ?? 30) * 1000;
  }

  /** Applies the config (servers at their start states), starts the checks and the resync timer. */
  async start(): Promise<void> {
    this.install(this.config);
    this.log({ event: 'start', services: this.config.services.length, servers: this.entries.size, checks: this.scheduler.stats().jobs });
    await this.apply('start');
    this.resyncTimer = setInterval(() => this.request('resync'), this.resyncMs);
  }

  /** Takes a new config: checks of real servers that remain keep their state; removed ones drain. */
  async reload(config: AgentConfig): Promise<void> {
    const before = new Set(this.entries.keys());
    this.config = config;
    this.install(config);
    const kept = [...this.entries.keys()].filter((id) => before.has(id)).length;
    this.log({ event: 'reload', services: config.services.length, servers: this.entries.size, kept, added: this.entries.size - kept, removed: before.size - kept });
    await this.request('reload');
  }

  /** Stops checking; `remove` also deletes the agent's services (else the kernel stays as it is). */
  async stop(opts: { remove?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.scheduler.stop();
    clearInterval(this.resyncTimer);
    await this.applying;
    this.reconciler.close(); // drains stop where they are (weight 0)
    if (opts.remove) {
      const r = await this.reconciler.apply({ services: [] }, { owns: this.ownership(), drain: false });
      const { changes, errors } = texts(r);
      this.log({ event: 'stop', removed: changes, ...(errors.length ? { errors } : {}) });
    } else this.log({ event: 'stop', kernel: 'left as it is' });
  }

  /** The health model as plain data. */
  status(): AgentStatus {
    const out = this.outcome;
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      startedAt: this.startedAt.toISOString(),
      services: this.config.services.map((s) => ({
        id: s.id,
        quorumUp: this.quorum.get(s.id) ?? true,
        sorryServerIn: out?.sorry.has(s.id) ?? false,
        liveWeight: liveWeight(s, (id) => this.health(id)),
        destinations: s.destinations.map((d) => {
          const e = this.entries.get(d.id);
          const o = out?.servers.get(d.id);
          const checks = (e?.checkers ?? []).map((k) => this.checkers.get(k)!);
          return {
            id: d.id,
            address: d.spec.address,
            port: destPort(s, d),
            up: serverUp(checks.map((c) => c.state)),
            configuredWeight: d.spec.weight ?? 1,
            effectiveWeight: o ? o.effectiveWeight : null,
            onFailure: d.onFailure,
            checkDurations: (e?.durations ?? new DurationHistogram()).status(),
            checks: checks.map(({ spec, target: t, state: st }) => ({
              type: spec.type,
              target: `${t.address.includes(':') ? `[${t.address}]` : t.address}:${t.port}`,
              up: st.up,
              streak: st.streak,
              transitions: st.transitions,
              since: iso(st.since),
              ...(st.last ? { last: { ok: st.last.ok, detail: st.last.detail, at: iso(st.last.at), ms: Math.round(st.last.ms * 10) / 10 } } : {}),
            })),
          };
        }),
      })),
      draining: this.reconciler.draining().map((h) => ({ id: targetLabel(h.service, h.destination), deadline: iso(h.deadline) })),
      ...(this.lastApply ? { lastApply: this.lastApply } : {}),
      scheduler: this.scheduler.stats(),
    };
  }

  private states(id: string): CheckState[] {
    const e = this.entries.get(id);
    return e ? e.checkers.map((k) => this.checkers.get(k)!.state) : [];
  }

  private health(id: string): ServerHealth {
    const states = this.states(id);
    const w = dynamicWeight(states);
    return w === undefined ? { up: serverUp(states) } : { up: serverUp(states), weight: w };
  }

  /** Makes entries, checkers and jobs match the config, keeping what still applies. */
  private install(config: AgentConfig): void {
    const now = Date.now();
    const live = new Set<string>();
    for (const c of this.checkers.values()) c.users.clear();
    for (const service of config.services) {
      for (const dest of service.destinations) {
        live.add(dest.id);
        const old = this.entries.get(dest.id);
        const keys = dest.checks.map((spec, i) => {
          const target = checkTarget(spec, dest.spec.address, destPort(service, dest));
          const key = checkerKey(spec, target);
          let c = this.checkers.get(key);
          if (!c) {
            // A changed check at the same place keeps up/down (no flap, no re-add).
            const prior = old?.checkers[i] !== undefined ? this.checkers.get(old.checkers[i]!) : undefined;
            const state = initialCheckState(spec, now);
            const made: Checker = { spec, target, state: prior ? { ...state, up: prior.state.up } : state, users: new Set() };
            this.checkers.set(key, made);
            this.scheduler.add(key, this.random() * spec.warmup * 1000, () => this.runOne(key, made));
            c = made;
          }
          c.users.add(dest.id);
          return key;
        });
        this.entries.set(dest.id, { service, dest, checkers: keys, durations: old?.durations ?? new DurationHistogram() });
      }
    }
    for (const id of this.entries.keys()) if (!live.has(id)) this.entries.delete(id);
    for (const [key, c] of this.checkers) {
      if (c.users.size) continue;
      this.checkers.delete(key);
      this.scheduler.remove(key);
    }
  }

  /** Runs one checker and folds its result into every real server it decides for; returns ms to the next run. */
  private async runOne(key: string, c: Checker): Promise<number> {
    const t0 = performance.now();
    const result = await this.probe(c.spec, c.target, ++this.seq);
    if (this.checkers.get(key) !== c || this.stopped) return c.spec.interval * 1000; // removed meanwhile
    const ms = performance.now() - t0;
    const { state, changed } = stepCheck(c.state, result, c.spec, Date.now(), ms);
    for (const id of c.users) this.entries.get(id)?.durations.observe(ms / 1000);
    if (!changed && state.weight === c.state.weight) {
      c.state = state; // no real server's health can change
      return nextDelay(c.spec, state) * 1000;
    }
    const before = new Map([...c.users].map((id) => [id, this.health(id)]));
    c.state = state;
    const users = [...c.users];
    if (changed) this.log({ event: state.up ? 'check-up' : 'check-down', server: users[0], ...(users.length > 1 ? { shared: users.length } : {}), check: `${c.spec.type} ${c.target.address}:${c.target.port}`, detail: result.detail });
    for (const id of users) {
      const was = before.get(id)!;
      const now = this.health(id);
      if (now.up !== was.up) {
        this.log({ event: now.up ? 'server-up' : 'server-down', server: id, detail: result.detail });
        void this.request('health');
      } else if (now.weight !== was.weight) {
        this.log({ event: 'weight', server: id, weight: now.weight ?? this.entries.get(id)!.dest.spec.weight ?? 1 });
        void this.request('weight');
      }
    }
    return nextDelay(c.spec, state) * 1000;
  }

  /** Asks for an apply; requests made while one runs are served together by the next. */
  private request(reason: string): Promise<void> {
    this.pending.add(reason);
    if (!this.applying) {
      this.applying = (async () => {
        // One turn later, so transitions found in the same turn share an apply.
        await new Promise((r) => setImmediate(r));
        while (this.pending.size && !this.stopped) {
          const reasons = [...this.pending].join(',');
          this.pending.clear();
          await this.apply(reasons);
        }
      })().finally(() => (this.applying = undefined));
    }
    return this.applying;
  }

  private async apply(reason: string): Promise<void> {
    const previous = this.outcome?.desired;
    const outcome = computeDesired(this.config, (id) => this.health(id), this.quorum);
    for (const [id, up] of outcome.quorum) {
      const was = this.quorum.get(id);
      if (was !== undefined && was !== up) this.log({ event: 'quorum', service: id, quorum: up ? 'gained' : 'lost', sorryServer: outcome.sorry.has(id) ? 'in' : 'out' });
    }
    this.quorum = outcome.quorum;
    this.outcome = outcome;
    for (const s of this.config.services) this.declared.add(targetLabel(s.key));
    // Only the apply that follows a reload drains, and only what left the file: failed servers go
    // at once (a first pass without drains, which keeps what left the file as it was), and each
    // service's own `drain` is used only for what left it.
    const reload = reason.split(',').includes('reload');
    const dflt = { timeoutSeconds: this.config.settings.drainSeconds };
    const desired = { services: outcome.desired.services.map((d, i) => ({ ...d, drain: reload ? (this.config.services[i]!.drain ?? dflt) : false })) };
    const owns = this.ownership();
    const t0 = performance.now();
    const r: ApplyResult = { changes: [], sent: 0, failed: 0, drains: [] };
    try {
      if (reload && previous) {
        const first = await this.reconciler.apply(withDeparted(outcome.desired, previous, this.config), { owns, drain: false });
        r.changes.push(...first.changes);
      }
      const second = await this.reconciler.apply(desired, { owns, drain: reload ? dflt : false });
      r.changes.push(...second.changes);
      r.drains.push(...second.drains);
    } catch (e) {
      this.log({ event: 'error', during: reason, detail: (e as Error).message });
      return;
    }
    const { changes, errors } = texts(r);
    this.lastApply = { at: new Date().toISOString(), ms: Math.round((performance.now() - t0) * 10) / 10, reason, changes, errors };
    if (changes.length || errors.length) {
      this.log({ event: reason === 'resync' ? 'repair' : 'apply', reason, changes, ...(errors.length ? { errors } : {}) });
    }
    for (const h of r.drains) {
      void h.done.then(({ outcome: end, error }) => this.log({ event: 'drain', target: targetLabel(h.service, h.destination), outcome: end, ...(error ? { detail: error.message } : {}) }));
    }
  }

  private ownership(): Ownership {
    const extra = ownsPredicate(this.config.settings.owns);
    return { predicate: (key) => this.declared.has(targetLabel(key)) || extra(key) };
  }
}

/** An apply's changes and failures as lines of text. */
function texts(r: ApplyResult): { changes: string[]; errors: string[] } {
  const changes: string[] = [];
  const errors: string[] = [];
  for (const c of r.changes) {
    if (c.ok) changes.push(formatChange(c.change));
    else errors.push(formatFailure(c)!);
  }
  return { changes, errors };
}
