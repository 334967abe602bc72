/**
 * The library's ways, each run in a child process of its own (so its peak
 * RSS is its own): warm up once, then time each repetition in a fresh
 * namespace, watch the event loop, and check what the kernel holds.
 *
 *   node bench.mjs --child seq|conc|batch|promises --n N --reps R
 *   node bench.mjs --child list --n N --reps R --netns NAME   (a populated namespace)
 *   ... --strace --netns NAME: one run in the driver's namespace, no warm-up
 *       and no checks of its own (for counting system calls under strace)
 *
 * Timed repetitions run without the event-loop monitor, and the stall is
 * measured in as many repetitions of their own: the monitor's timer wakes
 * the loop every 2 ms, and each wake costs a few system calls (some 50 µs
 * each in the test kernel, which has no vDSO clock), which would be counted
 * as the library's time.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Ipvs } from '../src/index.js';
import { compareSaved, makeWorkload, type Workload } from './workload.js';
import { CommandShell, settle } from './env.js';
import { SCRAPE_WAYS, scrapeReps, type ScrapeWay } from './scrape.js';

export type LibraryWay = 'seq' | 'conc' | 'batch' | 'list' | 'control' | 'promises' | ScrapeWay;

export interface RepResult {
  /** Wall time of the timed part, in microseconds. */
  us: number;
  /**
   * CPU time of this process over the timed part (process.cpuUsage, user +
   * system, all its threads), in microseconds; for the exporter's GETs,
   * the serving process's from the request's arrival to its last byte.
   */
  cpuUs?: number;
  /** For the exporter's GETs: the CPU time of a bare listing timed next to it in the same process, in microseconds. */
  listingCpuUs?: number;
  /** Longest event-loop delay seen during it, in ms (repetitions watched by the monitor only). */
  stallMs?: number;
}

export interface ChildReport {
  way: LibraryWay;
  n: number;
  /** The timed repetitions. */
  reps: RepResult[];
  /** The longest event-loop delay of the watched repetitions, in ms. */
  stallMs?: number;
  /** Peak resident set of the child, in KiB. */
  maxRssKb: number;
  /** A correctness failure, if any. */
  error?: string;
}

// (The loops below index their arrays: a for-of loop makes an iterator per
// service until the function is optimized, which is the harness's garbage,
// not the library's.)
async function add(way: LibraryWay, ipvs: Ipvs, w: Workload): Promise<void> {
  const { services, destinations } = w;
  if (way === 'seq') {
    for (let i = 0; i < services.length; i++) {
      await ipvs.addService(services[i]!);
      const ds = destinations[i]!;
      for (let j = 0; j < ds.length; j++) await ipvs.addDestination(services[i]!, ds[j]!);
    }
  } else if (way === 'conc') {
    const calls: Promise<void>[] = [];
    for (let i = 0; i < services.length; i++) {
      calls.push(ipvs.addService(services[i]!));
      const ds = destinations[i]!;
      for (let j = 0; j < ds.length; j++) calls.push(ipvs.addDestination(services[i]!, ds[j]!));
    }
    await Promise.all(calls);
  } else {
    const b = ipvs.batch();
    for (let i = 0; i < services.length; i++) {
      b.addService(services[i]!);
      const ds = destinations[i]!;
      for (let j = 0; j < ds.length; j++) b.addDestination(services[i]!, ds[j]!);
    }
    const results = await b.run();
    const failed = results.find((r) => !r.ok);
    if (failed) throw new Error(`batch: ${failed.operation} failed: ${'error' in failed ? failed.error.message : 'skipped'}`);
  }
}

/** Checks a listing against the workload. */
function checkListing(w: Workload, list: Awaited<ReturnType<Ipvs['listServices']>>): string | undefined {
  if (list.length !== w.n) return `listed ${list.length} services, expected ${w.n}`;
  const want = new Map(w.services.map((s, i) => [`${(s as { address: string }).address}`, i]));
  for (const s of list) {
    const i = want.get(s.address ?? '');
    if (i === undefined || s.port !== 80 || s.protocol !== 'tcp' || s.scheduler !== 'wlc') return `unexpected service ${JSON.stringify(s.address)}`;
    const dests = (s.destinations ?? []).map((d) => `${d.address}:${d.port}/${d.forwarding}/${d.weight}`).sort();
    const expected = w.destinations[i]!.map((d) => `${d.address}:80/masq/1`).sort();
    if (dests.join() !== expected.join()) return `service ${s.address}: real servers ${dests.join()} instead of ${expected.join()}`;
  }
  return undefined;
}

/** Busy 0.5 ms slices, yielding to the event loop between them, for `ms`. */
function slices(ms: number): Promise<void> {
  const end = performance.now() + ms;
  return new Promise((resolve) => {
    const step = () => {
      const until = performance.now() + 0.5;
      while (performance.now() < until);
      if (performance.now() < end) setImmediate(step);
      else resolve();
    };
    step();
  });
}

/**
 * What concurrent calls cost before any library work: 3N promises made the
 * cheapest way, settled from later turns 256 at a time (as replies come),
 * and awaited with Promise.all, as the concurrent way awaits its calls.
 */
async function promisesAlone(w: Workload): Promise<void> {
  const calls: Promise<void>[] = [];
  const settle: Array<() => void> = [];
  for (let i = 0; i < w.ops; i++) {
    calls.push(new Promise<void>(keepResolve));
    settle.push(kept!);
  }
  let next = 0;
  const step = (): void => {
    for (const end = Math.min(settle.length, next + 256); next < end; next++) settle[next]!();
    if (next < settle.length) setImmediate(step);
  };
  setImmediate(step);
  await Promise.all(calls);
}
let kept: (() => void) | undefined;
function keepResolve(resolve: () => void): void {
  kept = resolve;
}

/** Times `fn`; with `watch`, also the longest event-loop delay meanwhile. */
async function timed<T>(fn: () => Promise<T>, watch = false): Promise<{ value: T; rep: RepResult }> {
  const h = watch ? monitorEventLoopDelay({ resolution: 2 }) : undefined;
  h?.enable();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = await fn();
  const us = Number(process.hrtime.bigint() - t0) / 1e3;
  const c = process.cpuUsage(c0);
  h?.disable();
  const cpuUs = c.user + c.system;
  return { value, rep: h ? { us, cpuUs, stallMs: h.max / 1e6 } : { us, cpuUs } };
}

/** One repetition of an adding way in a fresh namespace; throws when the kernel does not hold the workload. */
async function addRep(way: LibraryWay, w: Workload, sh: CommandShell, watch = false): Promise<RepResult> {
  if (way === 'promises') {
    await settle();
    return (await timed(() => promisesAlone(w), watch)).rep;
  }
  const ns = await sh.createNetns();
  try {
    await settle();
    const ipvs = await Ipvs.open({ netns: ns.name });
    try {
      const { rep } = await timed(() => add(way, ipvs, w), watch);
      const wrong = compareSaved(w, await sh.run(`ip netns exec ${ns.name} ipvsadm -Sn`));
      if (wrong) throw new Error(`${way}, n=${w.n}: ${wrong}`);
      return rep;
    } finally {
      ipvs.close();
    }
  } finally {
    await ns.remove();
  }
}

export async function childMain(args: Map<string, string>): Promise<void> {
  const way = args.get('child') as LibraryWay;
  const n = Number(args.get('n'));
  const reps = Number(args.get('reps') ?? 1);
  const strace = args.has('strace');
  const w = makeWorkload(n);
  const report: ChildReport = { way, n, reps: [], maxRssKb: 0 };
  // The longest stall of the watched repetitions.
  const watched = (rep: RepResult) => {
    report.stallMs = Math.max(report.stallMs ?? 0, rep.stallMs ?? 0);
  };
  try {
    if (way === 'control') {
      // The machine's own floor for event-loop stalls: a loop that never
      // runs longer than 0.5 ms before yielding, watched the same way.
      for (let r = 0; r < reps; r++) {
        await settle();
        const { rep } = await timed(() => slices(1000), true);
        report.reps.push(rep);
        watched(rep);
      }
    } else if ((SCRAPE_WAYS as readonly string[]).includes(way)) {
      report.reps = await scrapeReps(way as ScrapeWay, n, reps, args.get('netns')!);
    } else if (way === 'list') {
      const ipvs = await Ipvs.open({ netns: args.get('netns')! });
      if (!strace) for (let r = 0; r < 2; r++) await ipvs.listServices({ withDestinations: true }); // warm-up
      for (let r = 0; r < (strace ? 1 : 2 * reps); r++) {
        if (!strace) await settle();
        const watch = r >= reps;
        const { value, rep } = await timed(() => ipvs.listServices({ withDestinations: true }), watch);
        const wrong = checkListing(w, value);
        if (wrong) throw new Error(`listServices, n=${n}: ${wrong}`);
        if (watch) watched(rep);
        else report.reps.push(rep);
      }
      ipvs.close();
    } else if (strace) {
      // In the namespace the driver made (it checks the result): only our own system calls get counted.
      const ipvs = await Ipvs.open({ netns: args.get('netns')! });
      const { rep } = await timed(() => add(way, ipvs, w));
      ipvs.close();
      report.reps.push(rep);
    } else {
      // Warm-up: compiled code, and a heap grown to its working size, as
      // in any process that has been running for a while.
      const sh = new CommandShell();
      try {
        for (let r = 0; r < 2; r++) await addRep(way, w, sh);
        for (let r = 0; r < reps; r++) report.reps.push(await addRep(way, w, sh));
        for (let r = 0; r < reps; r++) watched(await addRep(way, w, sh, true));
      } finally {
        sh.close();
      }
    }
  } catch (e) {
    report.error = (e as Error).message;
  }
  report.maxRssKb = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
