/**
 * The agent: checks every real server, keeps the kernel at "configured state
 * minus failed real servers", and says what it did. Applies on start, after
 * health transitions (coalesced: one apply at a time, the next one takes
 * every change that came in meanwhile), on reload and every resync (which
 * repairs drift and logs it). Checker state lives apart from the config, so
 * a reload keeps the state of every check that still exists.
 */
import { checkTarget, runCheck } from './checks/index.js';
import { computeDesired, liveWeight, type DesiredOutcome, type ServerHealth } from './desired.js';
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
}

/** One real server's health, kept across reloads while it exists. */
interface Entry {
  service: AgentService;
  dest: AgentDestination;
  checks: CheckState[];
  /** The check specs the states belong to (a job whose spec was replaced drops its result). */
  specs: CheckSpec[];
  /** How long its checks took (fixed buckets: bounded memory). */
  durations: DurationHistogram;
}

const specKey = (c: CheckSpec) => JSON.stringify(c);

export class Agent {
  private config: AgentConfig;
  private readonly entries = new Map<string, Entry>();
  private quorum = new Map<string, boolean>();
  private outcome: DesiredOutcome | undefined;
  private readonly reconciler: Reconciler;
  /** Every service label the agent's files declared: owned even after it leaves the file. */
  private readonly declared = new Set<string>();
  private readonly scheduler: Scheduler;
  private readonly log: (e: AgentEvent) => void;
  private readonly random: () => number;
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
          const port = d.spec.port ?? ('port' in s.key ? s.key.port : 0);
          return {
            id: d.id,
            address: d.spec.address,
            port,
            up: e ? serverUp(e.checks) : true,
            configuredWeight: d.spec.weight ?? 1,
            effectiveWeight: o ? o.effectiveWeight : null,
            onFailure: d.onFailure,
            checkDurations: (e?.durations ?? new DurationHistogram()).status(),
            checks: (e?.specs ?? []).map((c, i) => {
              const st = e!.checks[i]!;
              const t = checkTarget(c, d.spec.address, port);
              return {
                type: c.type,
                target: `${t.address.includes(':') ? `[${t.address}]` : t.address}:${t.port}`,
                up: st.up,
                streak: st.streak,
                transitions: st.transitions,
                since: iso(st.since),
                ...(st.last ? { last: { ok: st.last.ok, detail: st.last.detail, at: iso(st.last.at), ms: Math.round(st.last.ms * 10) / 10 } } : {}),
              };
            }),
          };
        }),
      })),
      draining: this.reconciler.draining().map((h) => ({ id: targetLabel(h.service, h.destination), deadline: iso(h.deadline) })),
      ...(this.lastApply ? { lastApply: this.lastApply } : {}),
      scheduler: this.scheduler.stats(),
    };
  }

  private health(id: string): ServerHealth {
    const e = this.entries.get(id);
    if (!e) return { up: true };
    const w = dynamicWeight(e.checks);
    return w === undefined ? { up: serverUp(e.checks) } : { up: serverUp(e.checks), weight: w };
  }

  /** Makes entries and check jobs match the config, keeping what still applies. */
  private install(config: AgentConfig): void {
    const now = Date.now();
    const live = new Set<string>();
    for (const service of config.services) {
      for (const dest of service.destinations) {
        live.add(dest.id);
        const old = this.entries.get(dest.id);
        const checks = dest.checks.map((c, i) => {
          // The same check keeps its state; a changed check at the same place keeps up/down (no flap, no re-add).
          const same = old?.specs.findIndex((o) => specKey(o) === specKey(c)) ?? -1;
          if (same >= 0) return old!.checks[same]!;
          const prior = old?.checks[i];
          return prior ? { ...initialCheckState(c, now), up: prior.up } : initialCheckState(c, now);
        });
        const entry: Entry = { service, dest, checks, specs: dest.checks, durations: old?.durations ?? new DurationHistogram() };
        this.entries.set(dest.id, entry);
        const keep = new Set<string>();
        dest.checks.forEach((c, i) => {
          const jobId = `${dest.id}#${i}`;
          keep.add(jobId);
          const unchanged = old && old.specs[i] && specKey(old.specs[i]!) === specKey(c) && this.scheduler.has(jobId);
          if (unchanged) return; // keeps its cadence
          this.scheduler.add(jobId, this.random() * c.warmup * 1000, () => this.runOne(dest.id, i, c));
        });
        old?.specs.forEach((_, i) => {
          if (!keep.has(`${dest.id}#${i}`)) this.scheduler.remove(`${dest.id}#${i}`);
        });
      }
    }
    for (const [id, e] of this.entries) {
      if (live.has(id)) continue;
      e.specs.forEach((_, i) => this.scheduler.remove(`${id}#${i}`));
      this.entries.delete(id);
    }
  }

  /** Runs one check of one real server and folds its result in; returns ms to the next run. */
  private async runOne(id: string, i: number, spec: CheckSpec): Promise<number> {
    const e0 = this.entries.get(id)!;
    const port = e0.dest.spec.port ?? ('port' in e0.service.key ? e0.service.key.port : 0);
    const target = checkTarget(spec, e0.dest.spec.address, port);
    const t0 = performance.now();
    const result = await runCheck(spec, target, ++this.seq);
    const e = this.entries.get(id);
    if (!e || e.specs[i] !== spec || this.stopped) return spec.interval * 1000; // replaced meanwhile
    const wasUp = serverUp(e.checks);
    const wasWeight = dynamicWeight(e.checks);
    const ms = performance.now() - t0;
    const { state, changed } = stepCheck(e.checks[i]!, result, spec, Date.now(), ms);
    e.checks[i] = state;
    e.durations.observe(ms / 1000);
    if (changed) this.log({ event: state.up ? 'check-up' : 'check-down', server: id, check: `${spec.type} ${target.address}:${target.port}`, detail: result.detail });
    const isUp = serverUp(e.checks);
    if (isUp !== wasUp) {
      this.log({ event: isUp ? 'server-up' : 'server-down', server: id, detail: result.detail });
      void this.request('health');
    } else if (dynamicWeight(e.checks) !== wasWeight) {
      this.log({ event: 'weight', server: id, weight: dynamicWeight(e.checks) ?? e.dest.spec.weight ?? 1 });
      void this.request('weight');
    }
    return nextDelay(spec, state) * 1000;
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
    const outcome = computeDesired(this.config, (id) => this.health(id), this.quorum);
    for (const [id, up] of outcome.quorum) {
      const was = this.quorum.get(id);
      if (was !== undefined && was !== up) this.log({ event: 'quorum', service: id, quorum: up ? 'gained' : 'lost', sorryServer: outcome.sorry.has(id) ? 'in' : 'out' });
    }
    this.quorum = outcome.quorum;
    this.outcome = outcome;
    for (const s of this.config.services) this.declared.add(targetLabel(s.key));
    // Only the apply that follows a reload drains: what left the file. Failed servers go at once.
    // Set per service, so that a service's own `drain` never drains a failed server.
    const reload = reason.split(',').includes('reload');
    const dflt = { timeoutSeconds: this.config.settings.drainSeconds };
    const desired = { services: outcome.desired.services.map((d, i) => ({ ...d, drain: reload ? (this.config.services[i]!.drain ?? dflt) : false })) };
    const t0 = performance.now();
    let r: ApplyResult;
    try {
      r = await this.reconciler.apply(desired, { owns: this.ownership(), drain: reload ? dflt : false });
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
