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
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Ipvs, type DesiredState } from '../src/index.js';
import { median, settle } from './env.js';
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
 * Waits for a quiet machine, after collecting the garbage earlier
 * repetitions left (bench/state.sh runs node with --expose-gc): otherwise
 * whichever way runs next pays for it, and the rows swap that cost at random.
 */
async function ready(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await settle();
}

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

/**
 * Commands run by one shell started before anything is timed: this process
 * never forks. A fork leaves every page of the forking process copy-on-write,
 * and each page it writes next takes a fault: the five `ip` commands that
 * made a run's namespace, started from here, charged batch() ~1,000 faults
 * a run and apply ~1,250 (100-200 us each in the test kernel; 78 and 369
 * without them). Each command answers with its status; its output goes to
 * `outFile`.
 */
const outFile = `/tmp/bench-state-${process.pid}.out`;
const shell = spawn('sh', ['-c', `while read -r line; do (eval "$line") > ${outFile} 2>&1; echo $?; done`], { stdio: ['pipe', 'pipe', 'inherit'] });
const answers: ((status: string) => void)[] = [];
createInterface({ input: shell.stdout! }).on('line', (l) => answers.shift()?.(l));
async function sh(line: string): Promise<string> {
  const status = await new Promise<string>((resolve) => (answers.push(resolve), shell.stdin!.write(`${line}\n`)));
  const text = readFileSync(outFile, 'utf8');
  if (status !== '0') throw new Error(`${line} failed (${status}): ${text.slice(0, 500)}`);
  return text;
}

let namespaces = 0;
/** A fresh namespace with a route to the real servers' 172.16.0.0/12 (as bench/env.ts's createNetns). */
async function createNetns(): Promise<{ name: string; remove(): Promise<unknown> }> {
  const name = `bench-state-${process.pid}-${namespaces++}`;
  await sh(`ip netns add ${name} && ip -n ${name} link set lo up && ip -n ${name} link add dummy0 type dummy && ` +
    `ip -n ${name} addr add 172.16.0.1/12 dev dummy0 && ip -n ${name} link set dummy0 up`);
  return { name, remove: () => sh(`ip netns del ${name}`) };
}

async function check(w: Workload, ns: string, what: string): Promise<void> {
  const problem = compareSaved(w, await sh(`ip netns exec ${ns} ipvsadm -Sn`));
  if (problem) throw new Error(`${what}: ${problem}`);
}

/** Adds from empty: batch() and apply, taking turns (which goes first alternates), each in a fresh namespace. */
async function adds(w: Workload): Promise<{ batch: number[]; apply: number[] }> {
  const out = { batch: [] as number[], apply: [] as number[] };
  const desired = desiredOf(w);
  for (let rep = -1; rep < reps; rep++) {
    for (const way of rep % 2 === 0 ? (['batch', 'apply'] as const) : (['apply', 'batch'] as const)) {
      await ready();
      const ns = await createNetns();
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
        if (rep >= 0) out[way].push(us); // (rep -1 warms up)
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
  const ns = await createNetns();
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
    for (let rep = -1; rep < reps; rep++) {
      for (let k = 0; k < names.length; k++) {
        const way = names[(k + rep + 1) % names.length]!;
        await ready();
        const us = await ways[way](rep >= 0);
        if (rep >= 0) out[way].push(us); // (rep -1 warms up)
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
shell.stdin!.end();
rmSync(outFile, { force: true });
