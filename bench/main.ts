/**
 * The benchmark: every way of loading N services x 2 real servers, and of
 * listing them, side by side in one kernel boot. Run it with `npm run bench`
 * (bench/run.sh boots the test kernel); options:
 *
 *   --n 1000,10000     workload sizes (services; 3 operations each)
 *   --reps 5           repetitions per way and size (medians are reported)
 *   --each-reps 1      repetitions of `ipvsadm` one process per command (N <= 1000 only)
 *   --no-each          skip that way (it takes minutes)
 *   --no-strace        skip counting system calls
 *   --out FILE         also write the raw results as JSON
 *   --only-list        only the listing rows (listings, the exporter's scrape)
 *
 * Every repetition runs in a fresh network namespace, after the machine has
 * gone idle, and is checked: afterwards the kernel must hold exactly the
 * workload (`ipvsadm -Sn`), and listings must list exactly it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Ipvs } from '../src/index.js';
import { createNetns, inNetns, median, settle } from './env.js';
import { type ChildReport, type LibraryWay, childMain } from './library.js';
import { compareSaved, makeWorkload, type Workload } from './workload.js';

interface Row {
  group: 'add' | 'list';
  way: string;
  n: number;
  /** Microseconds per operation (add) or per service (list), one per repetition. */
  perUnit: number[];
  /** CPU time of the child per unit, one per repetition (library ways; see RepResult.cpuUs). */
  cpuPerUnit?: number[];
  /** Each repetition's CPU time over that of a bare listing timed next to it in the same process (the exporter's GETs). */
  perListing?: number[];
  stallMs?: number;
  maxRssKb?: number;
  syscallsPerUnit?: number;
  missing?: string;
}

const args = readArgs(process.argv.slice(2));
if (args.has('child')) {
  await childMain(args);
  process.exit(0);
}

const self = process.argv[1]!;
const root = process.cwd();
const cli = join(root, 'dist', 'cli.js');
// bench/floor.c, built by bench/run.sh: the kernel's own floor for each workload.
const floor = join(root, '.uml', 'bench-floor');
const FLOOR_ADD = 'C, raw generic netlink (the floor)';
const FLOOR_LIST = 'C, raw generic netlink (the floor), listing';
// What the concurrent way's promises cost by themselves (no library, no I/O).
const PROMISES = '3N promises and Promise.all alone (no I/O)';
// The exporter (bench/scrape.ts): a listing plus its Prometheus text, and whole HTTP scrapes read by curl.
const RENDER = 'listing + Prometheus text (metricChunks)';
const SCRAPE = 'ipvs exporter: GET /metrics over loopback (curl)';
const SCRAPE_GZIP = 'ipvs exporter: GET /metrics, gzip (as Prometheus asks)';
const SCRAPE_NORATES = 'ipvs exporter: GET /metrics, no per-real-server rates';
const SCRAPE_NORATES_GZIP = 'ipvs exporter: GET /metrics, gzip, no per-real-server rates';
// The same ways' CPU time (the process's, user + system): for a GET, the serving process's alone, not curl's.
const CPU = ', CPU time of the process';
const LIST = 'library, listServices({ withDestinations: true })';
const sizes = (args.get('n') ?? '1000,10000').split(',').map(Number);
const reps = Number(args.get('reps') ?? 5);
const eachReps = Number(args.get('each-reps') ?? 1);
const rows: Row[] = [];
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

// The machine's floor for event-loop stalls (see the report's last line).
const control = libraryRow('add', 'control', 0, reps);
const cliProblem = checkCli();
if (cliProblem) log(`ipvs CLI rows will be reported missing: ${cliProblem}`);

for (const n of sizes) {
  const w = makeWorkload(n);
  writeFileSync(restoreFile(n), w.restore);
  if (args.has('only-list')) {
    rows.push(...(await listingRows(w)));
    continue;
  }
  log(`n=${n}: library ways`);
  for (const way of ['seq', 'conc', 'batch', 'promises'] as const) rows.push(libraryRow('add', way, n, reps));
  log(`n=${n}: command-line ways`);
  rows.push(cliProblem ? missingRow('add', 'ipvs -R', n, cliProblem) : await commandRow(w, 'ipvs -R', (f) => `node ${cli} -R < ${f}`, reps));
  rows.push(await commandRow(w, 'ipvsadm -R', (f) => `ipvsadm -R < ${f}`, reps));
  rows.push(await floorRow(w));
  if (n <= 1000 && !args.has('no-each')) {
    log(`n=${n}: ipvsadm one process per command (${w.ops} processes per repetition)`);
    rows.push(await commandRow(w, 'ipvsadm, one process per command', (f) => `while read -r line; do ipvsadm $line || exit 1; done < ${f}`, eachReps));
  }
  log(`n=${n}: listings`);
  rows.push(...(await listingRows(w)));
}
if (!args.has('no-strace')) countSyscalls(Math.min(...sizes));

const failures = rows.filter((r) => r.missing?.startsWith('FAILED'));
const report = render(rows);
process.stdout.write(report);
if (args.has('out')) writeFileSync(args.get('out')!, JSON.stringify({ reps, sizes, rows }, null, 2));
process.exit(failures.length > 0 ? 1 : 0);

// ---------------------------------------------------------------------------

/** The command line (see the top of this file), as option name to value ('' for flags). */
function readArgs(argv: string[]): Map<string, string> {
  const text = { type: 'string' } as const;
  const flag = { type: 'boolean' } as const;
  const { values } = parseArgs({
    args: argv,
    options: { n: text, reps: text, 'each-reps': text, 'no-each': flag, 'no-strace': flag, 'only-list': flag, out: text, child: text, netns: text, strace: flag },
  });
  return new Map(Object.entries(values).map(([k, v]) => [k, v === true ? '' : String(v)]));
}

function restoreFile(n: number): string {
  return `/tmp/bench-restore-${n}.txt`;
}

/** Why `ipvs -R` / `ipvs -Ln` cannot be measured, or undefined when they can. */
function checkCli(): string | undefined {
  if (!existsSync(cli)) return 'dist/cli.js is not built';
  const ns = createNetns();
  try {
    inNetns(ns.name, process.execPath, [cli, '-R'], '-A -t 10.9.9.9:80 -s rr\n');
    if (!inNetns(ns.name, 'ipvsadm', ['-Sn']).includes('10.9.9.9:80')) return 'ipvs -R did not restore a service';
    return undefined;
  } catch (e) {
    return `ipvs -R does not work: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    ns.remove();
  }
}

function missingRow(group: Row['group'], way: string, n: number, why: string): Row {
  return { group, way, n, perUnit: [], missing: why };
}

/** Runs a library way in a child process. */
function libraryRow(group: Row['group'], way: LibraryWay, n: number, r: number, netns?: string): Row {
  const label = { seq: 'library, sequential await', conc: 'library, concurrent calls', batch: 'library, batch()', list: 'library, listServices({ withDestinations: true })', control: 'control', promises: PROMISES, render: RENDER, scrape: SCRAPE, 'scrape-gzip': SCRAPE_GZIP, 'scrape-norates': SCRAPE_NORATES, 'scrape-norates-gzip': SCRAPE_NORATES_GZIP }[way];
  const childArgs = [self, '--child', way, '--n', String(n), '--reps', String(r), ...(netns ? ['--netns', netns] : [])];
  const out = spawnSync(process.execPath, childArgs, { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.stdout.trim().split('\n').pop() ?? '';
  let rep: ChildReport;
  try {
    rep = JSON.parse(line) as ChildReport;
  } catch {
    return missingRow(group, label, n, `FAILED: the child exited ${out.status ?? out.signal} without a report`);
  }
  if (rep.error) {
    log(`${label}, n=${n}: ${rep.error}`);
    return missingRow(group, label, n, `FAILED: ${rep.error}`);
  }
  const units = group === 'add' ? 3 * n : n;
  return {
    group,
    way: label,
    n,
    perUnit: rep.reps.map((x) => x.us / units),
    ...(rep.reps.every((x) => x.cpuUs !== undefined) ? { cpuPerUnit: rep.reps.map((x) => x.cpuUs! / units) } : {}),
    ...(rep.reps.every((x) => x.cpuUs !== undefined && x.listingCpuUs !== undefined) ? { perListing: rep.reps.map((x) => x.cpuUs! / x.listingCpuUs!) } : {}),
    ...(rep.stallMs !== undefined ? { stallMs: rep.stallMs } : {}),
    maxRssKb: rep.maxRssKb,
  };
}

/**
 * Runs a shell command inside a namespace and times it with bash's own
 * clock (no extra process inside the measurement). `{f}` is the restore file.
 */
function shellTimed(ns: string, command: string): { us: number; stdout: string } {
  const script = `t0=$EPOCHREALTIME; ${command}; rc=$?; t1=$EPOCHREALTIME; echo "BENCH-TIMING $t0 $t1 $rc" >&2`;
  const r = spawnSync('ip', ['netns', 'exec', ns, 'bash', '-c', script], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const m = /BENCH-TIMING (\d+)\.(\d+) (\d+)\.(\d+) (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`${command}: no timing (${r.stderr.slice(0, 300)})`);
  if (m[5] !== '0') throw new Error(`${command}: exit status ${m[5]}: ${r.stderr.slice(0, 300)}`);
  const us = (Number(m[3]) - Number(m[1])) * 1e6 + (Number(m[4]) - Number(m[2]));
  return { us, stdout: r.stdout };
}

/** Peak RSS (KiB) of one untimed run of a command, by /usr/bin/time. */
function peakRss(ns: string, command: string): number | undefined {
  if (!existsSync('/usr/bin/time')) return undefined;
  const r = spawnSync('ip', ['netns', 'exec', ns, 'bash', '-c', `/usr/bin/time -f 'BENCH-RSS %M' bash -c '${command.replace(/'/g, `'\\''`)}' > /dev/null`], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const m = /BENCH-RSS (\d+)/.exec(r.stderr);
  return m ? Number(m[1]) : undefined;
}

/** A command-line way of adding: each repetition in a fresh namespace, checked. */
async function commandRow(w: Workload, way: string, command: (file: string) => string, r: number): Promise<Row> {
  const perUnit: number[] = [];
  let maxRssKb: number | undefined;
  try {
    for (let i = 0; i < r; i++) {
      const ns = createNetns();
      try {
        await settle();
        perUnit.push(shellTimed(ns.name, command(restoreFile(w.n))).us / w.ops);
        const wrong = compareSaved(w, inNetns(ns.name, 'ipvsadm', ['-Sn']));
        if (wrong) throw new Error(wrong);
      } finally {
        ns.remove();
      }
    }
    if (!command('').startsWith('while')) {
      const ns = createNetns();
      try {
        maxRssKb = peakRss(ns.name, command(restoreFile(w.n)));
      } finally {
        ns.remove();
      }
    } else {
      const ns = createNetns();
      try {
        maxRssKb = peakRss(ns.name, `ipvsadm -A -t 10.9.9.9:80 -s wlc`);
      } finally {
        ns.remove();
      }
    }
  } catch (e) {
    log(`${way}, n=${w.n}: ${(e as Error).message}`);
    return missingRow('add', way, w.n, `FAILED: ${(e as Error).message}`);
  }
  return { group: 'add', way, n: w.n, perUnit, ...(maxRssKb !== undefined ? { maxRssKb } : {}) };
}

/**
 * One run of bench/floor.c in a namespace: the time of its work alone (it
 * starts no clock before its socket is open and the family looked up).
 */
function runFloor(ns: string, mode: 'add' | 'list', n: number): { us: number; dests: number } {
  const r = JSON.parse(inNetns(ns, floor, [mode, String(n)])) as { us: number; units: number; dests: number };
  return { us: r.us, dests: r.dests };
}

/** The C floor for adding, each repetition in a fresh namespace, checked like the others. */
async function floorRow(w: Workload): Promise<Row> {
  if (!existsSync(floor)) return missingRow('add', FLOOR_ADD, w.n, `${floor} is not built (bench/run.sh builds it)`);
  const perUnit: number[] = [];
  try {
    for (let i = 0; i < reps; i++) {
      const ns = createNetns();
      try {
        await settle();
        perUnit.push(runFloor(ns.name, 'add', w.n).us / w.ops);
        const wrong = compareSaved(w, inNetns(ns.name, 'ipvsadm', ['-Sn']));
        if (wrong) throw new Error(wrong);
      } finally {
        ns.remove();
      }
    }
  } catch (e) {
    log(`${FLOOR_ADD}, n=${w.n}: ${(e as Error).message}`);
    return missingRow('add', FLOOR_ADD, w.n, `FAILED: ${(e as Error).message}`);
  }
  return { group: 'add', way: FLOOR_ADD, n: w.n, perUnit };
}

/** The three listings, on one namespace holding the workload. */
async function listingRows(w: Workload): Promise<Row[]> {
  const ns = createNetns();
  try {
    const ipvs = await Ipvs.open({ netns: ns.name });
    const b = ipvs.batch();
    w.services.forEach((s, i) => {
      b.addService(s);
      for (const d of w.destinations[i]!) b.addDestination(s, d);
    });
    await b.run();
    ipvs.close();
    const wrong = compareSaved(w, inNetns(ns.name, 'ipvsadm', ['-Sn']));
    if (wrong) throw new Error(`populating the listing namespace: ${wrong}`);
    const out: Row[] = [];
    const lines = 3 + 3 * w.n;
    const run = async (way: string, command: string): Promise<{ row: Row; text: string }> => {
      const perUnit: number[] = [];
      let text = '';
      for (let i = 0; i < reps; i++) {
        await settle();
        const t = shellTimed(ns.name, command);
        perUnit.push(t.us / w.n);
        text = t.stdout;
      }
      const printed = text.split('\n').length - 1;
      if (printed !== lines) throw new Error(`${way} printed ${printed} lines, expected ${lines}`);
      const maxRssKb = peakRss(ns.name, command);
      return { row: { group: 'list', way, n: w.n, perUnit, ...(maxRssKb !== undefined ? { maxRssKb } : {}) }, text };
    };
    const ipvsadm = await run('ipvsadm -Ln', 'ipvsadm -Ln');
    out.push(ipvsadm.row);
    const library = [libraryRow('list', 'list', w.n, reps, ns.name), libraryRow('list', 'render', w.n, reps, ns.name)];
    for (const way of ['scrape', 'scrape-gzip', 'scrape-norates', 'scrape-norates-gzip'] as const) library.push(libraryRow('list', way, w.n, reps, ns.name));
    out.push(...library);
    // The same ways' CPU time, each against the listing's CPU time.
    for (const r of library) if (r.cpuPerUnit) out.push({ group: 'list', way: `${r.way}${CPU}`, n: r.n, perUnit: r.cpuPerUnit });
    if (!existsSync(floor)) out.push(missingRow('list', FLOOR_LIST, w.n, `${floor} is not built`));
    else {
      const perUnit: number[] = [];
      for (let i = 0; i < reps; i++) {
        await settle();
        const r = runFloor(ns.name, 'list', w.n);
        if (r.dests !== 2 * w.n) throw new Error(`the C floor listed ${r.dests} real servers, expected ${2 * w.n}`);
        perUnit.push(r.us / w.n);
      }
      out.push({ group: 'list', way: FLOOR_LIST, n: w.n, perUnit });
    }
    if (cliProblem) out.push(missingRow('list', 'ipvs -Ln', w.n, cliProblem));
    else {
      const ours = await run('ipvs -Ln', `node ${cli} -Ln`);
      if (ours.text !== ipvsadm.text) throw new Error('ipvs -Ln and ipvsadm -Ln printed different listings');
      out.push(ours.row);
    }
    return out;
  } catch (e) {
    log(`listings, n=${w.n}: ${(e as Error).message}`);
    return [missingRow('list', 'listings', w.n, `FAILED: ${(e as Error).message}`)];
  } finally {
    ns.remove();
  }
}

/** Total system calls of a command under `strace -f -c`. */
function straced(ns: string, command: string): number {
  const file = `/tmp/bench-strace-${process.pid}.txt`;
  const r = spawnSync('ip', ['netns', 'exec', ns, 'bash', '-c', `strace -f -c -o ${file} bash -c '${command.replace(/'/g, `'\\''`)}' > /dev/null`], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`strace ${command}: ${r.stderr.slice(0, 300)}`);
  const total = readFileSync(file, 'utf8').split('\n').find((l) => / total$/.test(l.trim()));
  if (!total) throw new Error(`strace ${command}: no total`);
  return Number(total.trim().split(/\s+/)[3]);
}

/**
 * System calls per operation (per service for listings) at one size: each
 * way counted with strace, less the same way doing nothing (start-up).
 */
function countSyscalls(n: number): void {
  if (!existsSync('/usr/bin/strace')) {
    log('strace not found: no system call counts');
    return;
  }
  log(`n=${n}: counting system calls`);
  const w = makeWorkload(n);
  const empty = '/tmp/bench-restore-empty.txt';
  writeFileSync(empty, '');
  const child = (way: string, size: number, nsName: string) => `${process.execPath} ${self} --child ${way} --n ${size} --strace --netns ${nsName}`;
  const inFresh = <T>(fn: (ns: string) => T): T => {
    const ns = createNetns();
    try {
      return fn(ns.name);
    } finally {
      ns.remove();
    }
  };
  const set = (group: Row['group'], way: string, value: number) => {
    const row = rows.find((r) => r.group === group && r.n === n && r.way === way);
    if (row && !row.missing) row.syscallsPerUnit = value;
  };
  try {
    for (const way of ['seq', 'conc', 'batch'] as const) {
      const base = inFresh((ns) => straced(ns, child(way, 0, ns)));
      const full = inFresh((ns) => {
        const count = straced(ns, child(way, n, ns));
        const wrong = compareSaved(w, inNetns(ns, 'ipvsadm', ['-Sn']));
        if (wrong) throw new Error(`${way} under strace: ${wrong}`);
        return count;
      });
      const label = { seq: 'library, sequential await', conc: 'library, concurrent calls', batch: 'library, batch()' }[way];
      set('add', label, (full - base) / w.ops);
    }
    const commands: Array<[string, (f: string) => string]> = [
      ['ipvsadm -R', (f) => `ipvsadm -R < ${f}`],
      ...(cliProblem ? [] : ([['ipvs -R', (f: string) => `node ${cli} -R < ${f}`]] as Array<[string, (f: string) => string]>)),
    ];
    for (const [way, command] of commands) {
      const base = inFresh((ns) => straced(ns, command(empty)));
      const full = inFresh((ns) => straced(ns, command(restoreFile(n))));
      set('add', way, (full - base) / w.ops);
    }
    // One process per command: every process is one operation.
    const one = inFresh((ns) => {
      const a = straced(ns, 'ipvsadm -A -t 10.9.9.9:80 -s wlc');
      const b = straced(ns, 'ipvsadm -a -t 10.9.9.9:80 -r 172.16.0.2:80 -m -w 1');
      return (a + b) / 2;
    });
    set('add', 'ipvsadm, one process per command', one);
    // Listings: on a namespace holding the workload, less an empty one.
    const full = createNetns();
    try {
      inNetns(full.name, 'ipvsadm', ['-R'], w.restore);
      const listings: Array<[string, (ns: string) => string]> = [
        ['ipvsadm -Ln', () => 'ipvsadm -Ln'],
        ['library, listServices({ withDestinations: true })', (ns) => child('list', n, ns)],
        ...(cliProblem ? [] : ([['ipvs -Ln', () => `node ${cli} -Ln`]] as Array<[string, (ns: string) => string]>)),
      ];
      for (const [way, command] of listings) {
        const base = inFresh((ns) => straced(ns, way.startsWith('library') ? child('list', 0, ns) : command(ns)));
        set('list', way, (straced(full.name, command(full.name)) - base) / n);
      }
    } finally {
      full.remove();
    }
  } catch (e) {
    log(`counting system calls: ${(e as Error).message}`);
  }
}

function fmt(x: number | undefined, digits = 1): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  if (x >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(x >= 100 ? 0 : digits);
}

function render(all: Row[]): string {
  const out: string[] = [];
  const med = (r: Row | undefined) => (r && r.perUnit.length > 0 ? median(r.perUnit) : NaN);
  const find = (group: Row['group'], n: number, prefix: string) => all.find((r) => r.group === group && r.n === n && r.way.startsWith(prefix));
  const paired = (r: Row | undefined) => (r?.perListing?.length ? median(r.perListing) : NaN);
  out.push(`Medians of ${reps} repetitions (one process per command: ${eachReps}); each repetition in a fresh network namespace, checked.`, '');
  // One table per group, each row relative to the group's library baseline.
  const table = (group: Row['group'], header: string, baseline: string) => {
    out.push(header, '|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of all.filter((x) => x.group === group)) {
      if (r.missing) {
        out.push(`| ${r.way} | ${r.n.toLocaleString('en-US')} | ${r.missing.startsWith('FAILED') ? r.missing : `missing: ${r.missing}`} | | | | | |`);
        continue;
      }
      const m = median(r.perUnit);
      const base = med(find(group, r.n, r.way.endsWith(CPU) ? `${LIST}${CPU}` : baseline));
      out.push(`| ${r.way} | ${r.n.toLocaleString('en-US')} | ${fmt(m)} | ${fmt(Math.min(...r.perUnit))}–${fmt(Math.max(...r.perUnit))} | ${fmt(m / base)} | ${r.stallMs !== undefined ? `${fmt(r.stallMs)} ms` : '–'} | ${r.maxRssKb ? `${fmt(r.maxRssKb / 1024)} MiB` : '–'} | ${fmt(r.syscallsPerUnit, 2)} |`);
    }
  };
  table('add', '| way | N | µs per operation | range | × batch() | longest stall | peak RSS | syscalls per op |', 'library, batch()');
  out.push('');
  table('list', '| listing | N | µs per service | range | × listServices | longest stall | peak RSS | syscalls per service |', 'library');
  // The issue's targets, at the largest size.
  const n = Math.max(...sizes);
  const batch = med(find('add', n, 'library, batch()'));
  const checks: Array<[string, number, (x: number) => boolean, string]> = [
    ['batch() vs ipvsadm -R', med(find('add', n, 'ipvsadm -R')) / batch, (x) => x >= 100, '≥ 100× faster'],
    ['batch() vs sequential await', med(find('add', n, 'library, sequential')) / batch, (x) => x >= 20, '≥ 20× faster'],
    ['concurrent calls vs batch()', med(find('add', n, 'library, concurrent')) / batch, (x) => x <= 2, '≤ 2× slower'],
    ['listServices vs ipvsadm -Ln', med(find('list', n, 'ipvsadm -Ln')) / med(find('list', n, 'library')), (x) => x >= 5, '≥ 5× faster'],
    // What a scrape costs the director: the exporter's CPU time against the listing's (Prometheus runs elsewhere),
    // each GET against a bare listing timed next to it in the same process (median of the pairs).
    ['exporter scrape (GET /metrics, plain) vs one listing in the same process, CPU time', paired(find('list', n, SCRAPE)), (x) => x < 1.5, '< 1.5× one listing'],
    ['exporter scrape (GET /metrics, gzip as Prometheus asks) vs one listing in the same process, CPU time', paired(find('list', n, SCRAPE_GZIP)), (x) => x < 1.5, '< 1.5× one listing'],
  ];
  // How much room the kernel leaves: nothing that talks to it can beat the floor.
  const floorAdd = med(find('add', n, FLOOR_ADD));
  const floorList = med(find('list', n, FLOOR_LIST));
  const bounds: Array<[string, number]> = [
    ['batch() vs the C floor (how far above what the kernel allows)', batch / floorAdd],
    ['ipvsadm -R vs the C floor (the most any way of adding could be faster than ipvsadm -R here)', med(find('add', n, 'ipvsadm -R')) / floorAdd],
    ['listServices vs the C floor', med(find('list', n, 'library')) / floorList],
    ['ipvsadm -Ln vs the C floor (the most any listing could be faster than ipvsadm -Ln here)', med(find('list', n, 'ipvsadm -Ln')) / floorList],
  ];
  const stall = Math.max(...all.filter((r) => r.stallMs !== undefined && r.way.startsWith('library')).map((r) => r.stallMs!));
  out.push('', `Targets at N = ${n.toLocaleString('en-US')}:`, '');
  for (const [what, x, ok, want] of checks) out.push(`- ${what}: ${fmt(x)}× (${want}): ${Number.isFinite(x) ? (ok(x) ? 'met' : 'NOT met') : 'not measured'}`);
  for (const [what, way] of [['plain', SCRAPE], ['gzip', SCRAPE_GZIP]] as const) out.push(`- for scale, exporter scrape (GET /metrics, ${what}) CPU time vs the listing's row (another process): ${fmt(med(find('list', n, `${way}${CPU}`)) / med(find('list', n, `${LIST}${CPU}`)))}×`);
  // The wall-time readings of the same target: curl's receive of the text, in the same one-CPU guest, is counted too.
  for (const [what, way] of [['plain', SCRAPE], ['gzip', SCRAPE_GZIP]] as const) out.push(`- for scale, exporter scrape (GET /metrics, ${what}) vs one listing in wall time (curl reading it in the same CPU included): ${fmt(med(find('list', n, way)) / med(find('list', n, 'library')))}×`);
  out.push(`- for scale, the promises of concurrent calls alone (3N promises and Promise.all, no library, no I/O) vs batch(): ${fmt(med(find('add', n, PROMISES)) / batch)}×`);
  out.push(`- longest event-loop stall of the library: ${fmt(stall)} ms (< 10 ms): ${stall < 10 ? 'met' : 'NOT met'}`);
  out.push(`- for scale, the longest stall of a loop that never works more than 0.5 ms before yielding, on this machine: ${control.stallMs !== undefined ? `${fmt(control.stallMs)} ms` : 'not measured'}`);
  out.push('', 'Against the floor (bench/floor.c: the same work in C, nothing but the system calls it needs):', '');
  for (const [what, x] of bounds) out.push(`- ${what}: ${fmt(x)}×`);
  out.push('');
  return `${out.join('\n')}\n`;
}
