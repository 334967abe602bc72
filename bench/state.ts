/**
 * The declarative layer against the client's own ways, side by side in one
 * kernel boot (`npm run bench:state -- --n 10000 --reps 5`):
 *
 *   - a no-op apply             vs one full listing (listServices with destinations)
 *   - an apply of one weight    vs one full listing (and it must send exactly one change)
 *   - an apply from empty       vs batch() doing the same adds
 *
 * The workload is bench/workload.ts's: N TCP services x 2 masq real servers.
 * Adds run in a fresh namespace per repetition (the kernel keeps deleted
 * servers in a trash list that later adds scan); the three read-mostly ways
 * take turns in one populated namespace. Every repetition is checked:
 * `ipvsadm -Sn` must match the workload after the adds, and the no-op and
 * one-weight applies must send 0 and 1 requests.
 */
import { parseArgs } from 'node:util';
import { Ipvs, type DesiredState } from '../src/index.js';
import { CommandShell, median, settle } from './env.js';
import { compareSaved, makeWorkload, type Workload } from './workload.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '10000' }, reps: { type: 'string', default: '5' } } });
const sizes = values.n!.split(',').map(Number);
const reps = Number(values.reps);
const log = (line: string) => process.stderr.write(`bench-state: ${line}\n`);

/**
 * The workload as a desired state, each object a literal (as JSON.parse and
 * YAML make them). Not by object spread: V8 gives `{ ...s }` objects a map
 * whose missing properties read ~50x slower (every optional setting a
 * reader asks for), which would time the spread, not the library.
 */
const desiredOf = (w: Workload): DesiredState => ({
  services: w.services.map((spec, i) => {
    const s = spec as { protocol: 'tcp'; address: string; port: number; scheduler?: string };
    return {
      protocol: s.protocol, address: s.address, port: s.port, scheduler: s.scheduler,
      destinations: w.destinations[i]!.map((d) => ({ address: d.address, port: d.port, forwarding: d.forwarding, weight: d.weight })),
    };
  }),
});

/**
 * Waits for a quiet machine, after collecting the young garbage earlier
 * repetitions left (bench/state.sh runs node with --expose-gc): otherwise
 * whichever way runs next pays for it, and the rows swap that cost at random.
 *
 * Young only: a full collection before every run also drops V8's type
 * feedback for shapes that died with the previous run, so apply's large
 * functions (validation, diff, the rounds) were optimized afresh on every
 * run: 300-700 more page faults (the compiler's fresh memory, 100-200 µs
 * each here) and 60-150 ms that no director pays per apply. Natively the
 * same re-optimization is ~4 ms of CPU (validation and diff of 10,000
 * services: 5.5 ms of CPU a run, 10 ms with a full collection before each).
 */
async function ready(full = false): Promise<void> {
  (globalThis as { gc?: (o?: { type: 'minor' }) => void }).gc?.(full ? undefined : { type: 'minor' });
  await settle();
}

/** Untimed rounds before the timed ones: V8 optimizes apply's loops over a few runs (on-stack replacement, then whole functions). */
const WARMUP = 3;

/**
 * First touches of memory (minor page faults) of each timed run, by way: in
 * the test kernel each costs 100-200 µs, and a way's time follows how much
 * fresh memory it touches after the collection that precedes it.
 */
const faults = new Map<string, number[]>();

async function timed(way: string, f: () => Promise<unknown>, keep: boolean): Promise<number> {
  const f0 = process.resourceUsage().minorPageFault;
  const t0 = process.hrtime.bigint();
  await f();
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  if (keep) {
    const seen = faults.get(way) ?? [];
    seen.push(process.resourceUsage().minorPageFault - f0);
    faults.set(way, seen);
  }
  return us;
}

/** Every command of the benchmark: started before anything is timed, so that this process never forks (bench/env.ts). */
const sh = new CommandShell();

async function check(w: Workload, ns: string, what: string): Promise<void> {
  const problem = compareSaved(w, await sh.run(`ip netns exec ${ns} ipvsadm -Sn`));
  if (problem) throw new Error(`${what}: ${problem}`);
}

/** Adds from empty: batch() and apply, taking turns (which goes first alternates), each in a fresh namespace. */
async function adds(w: Workload): Promise<{ batch: number[]; apply: number[] }> {
  const out = { batch: [] as number[], apply: [] as number[] };
  const desired = desiredOf(w);
  await ready(true); // (the old generation too, once: the warm-up rounds follow)
  for (let rep = -WARMUP; rep < reps; rep++) {
    for (const way of rep % 2 === 0 ? (['batch', 'apply'] as const) : (['apply', 'batch'] as const)) {
      await ready();
      const ns = await sh.createNetns();
      const ipvs = await Ipvs.open({ netns: ns.name });
      try {
        const us = await timed(way, async () => {
          if (way === 'apply') {
            const r = await ipvs.apply(desired);
            if (r.failed) throw new Error(`apply from empty: ${r.failed} failed`);
          } else {
            // (the same objects apply is given, and the same order of adds)
            const b = ipvs.batch();
            const ss = desired.services;
            for (let i = 0; i < ss.length; i++) b.addService(ss[i]!);
            for (let i = 0; i < ss.length; i++) {
              const ds = ss[i]!.destinations!;
              for (let j = ds.length - 1; j >= 0; j--) b.addDestination(ss[i]!, ds[j]!);
            }
            const r = await b.run();
            if (r.some((x) => !x.ok)) throw new Error('batch: an add failed');
          }
        }, rep >= 0);
        await check(w, ns.name, way);
        if (rep >= 0) out[way].push(us);
      } finally {
        ipvs.close();
        await ns.remove();
      }
    }
  }
  return out;
}

/**
 * Listing, no-op apply and one-weight apply, taking turns in one populated
 * namespace, in an order that rotates with each repetition: in the test
 * kernel a run right after a listing was ~250 ms slower than the next one
 * whatever it did (the heap growing back after the collection), and a
 * fixed order charged that to one way.
 */
async function reads(w: Workload): Promise<{ list: number[]; noop: number[]; one: number[] }> {
  const out = { list: [] as number[], noop: [] as number[], one: [] as number[] };
  const desired = desiredOf(w);
  const ns = await sh.createNetns();
  const ipvs = await Ipvs.open({ netns: ns.name });
  try {
    await ipvs.apply(desired);
    await check(w, ns.name, 'populate');
    const mid = w.services.length >> 1;
    const sends = async (expected: number) => {
      const sent = (await ipvs.apply(desired)).sent;
      if (sent !== expected) throw new Error(`an apply sent ${sent} requests, not ${expected}`);
    };
    const ways = {
      list: (keep: boolean) => timed('list', () => ipvs.listServices({ withDestinations: true }), keep),
      noop: (keep: boolean) => timed('noop', () => sends(0), keep),
      one: (keep: boolean) => {
        const d = desired.services[mid]!.destinations![0]!;
        d.weight = d.weight === 2 ? 3 : 2; // (a change every time)
        return timed('one', () => sends(1), keep);
      },
    };
    const names = ['list', 'noop', 'one'] as const;
    await ready(true); // (the old generation too, once: the warm-up rounds follow)
    for (let rep = -WARMUP; rep < reps; rep++) {
      for (let k = 0; k < names.length; k++) {
        const way = names[(k + rep + WARMUP) % names.length]!;
        await ready();
        const us = await ways[way](rep >= 0);
        if (rep >= 0) out[way].push(us);
      }
    }
  } finally {
    ipvs.close();
    await ns.remove();
  }
  return out;
}

const ms = (us: number[]) => (median(us) / 1000).toFixed(0);
const range = (us: number[]) => `${(Math.min(...us) / 1000).toFixed(0)}–${(Math.max(...us) / 1000).toFixed(0)}`;
const pf = (way: string) => median(faults.get(way) ?? [0]).toFixed(0);
// Ratios two ways: of the medians, and the median of each repetition's own
// ratio (the two ways of a pair run back to back, so a load that drifts
// during the run, as on a shared machine, moves both alike).
const paired = (x: number[], base: number[]) => median(x.map((v, i) => v / base[i]!));
const rows: string[] = ['| way | N | ms (median) | range | page faults (median) | ratio of medians | median of paired ratios (range) | target |', '|---|---:|---:|---:|---:|---:|---:|---|'];
for (const n of sizes) {
  const w = makeWorkload(n);
  faults.clear();
  log(`n=${n}: listing, no-op apply, one-weight apply`);
  const r = await reads(w);
  log(`n=${n}: batch() and apply from empty`);
  const a = await adds(w);
  const ratio = (x: number[], base: number[], what: string) => {
    const each = x.map((v, i) => v / base[i]!);
    return `${(median(x) / median(base)).toFixed(2)} × ${what} | ${paired(x, base).toFixed(2)} (${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)})`;
  };
  rows.push(`| \`listServices({ withDestinations: true })\` | ${n} | ${ms(r.list)} | ${range(r.list)} | ${pf('list')} | 1 | | |`);
  rows.push(`| \`apply\`, nothing to change (0 sent) | ${n} | ${ms(r.noop)} | ${range(r.noop)} | ${pf('noop')} | ${ratio(r.noop, r.list, 'listing')} | ≤ 1.3 |`);
  rows.push(`| \`apply\`, one weight changed (1 sent) | ${n} | ${ms(r.one)} | ${range(r.one)} | ${pf('one')} | ${ratio(r.one, r.list, 'listing')} | ≤ 1.3 |`);
  rows.push(`| \`batch()\`, ${3 * n} adds | ${n} | ${ms(a.batch)} | ${range(a.batch)} | ${pf('batch')} | 1 | | |`);
  rows.push(`| \`apply\` from empty (same adds) | ${n} | ${ms(a.apply)} | ${range(a.apply)} | ${pf('apply')} | ${ratio(a.apply, a.batch, 'batch()')} | ≤ 1.3 |`);
}
process.stdout.write(`${rows.join('\n')}\n`);
sh.close();
