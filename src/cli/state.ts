/**
 * `ipvs apply -f FILE`, `ipvs diff -f FILE`, `ipvs export`: the state layer
 * on the command line. Exit status: apply 0 when every change was made, 1
 * when one failed; diff 0 when there is nothing to change, 1 when there is;
 * export 0; every command 2 for a bad command line, a bad file or a failure
 * to reach IPVS (diff(1)'s convention, so scripts can tell "changes" from
 * "trouble").
 */
import { parseArgs } from 'node:util';
import { Ipvs } from '../handle.js';
import { IpvsError } from '../errors.js';
import { loadStateFile, stateToJson, stateToYaml } from '../state/file.js';
import { formatChange, formatFailure, formatPlan, targetLabel } from '../state/format.js';
import { parseCidr, parseFwmarkRange } from '../state/ownership.js';
import type { DrainOptions, Ownership, PlanOptions } from '../state/types.js';
import type { Io } from './run.js';

const DEFAULT_DRAIN_SECONDS = 300;

export const STATE_USAGE = `Usage:
  ipvs apply -f FILE [--owns CIDR,...] [--owns-fwmark A-B] [--drain[=SECONDS]] [--udp-immediate] [--order on-add|always] [--netns NS]
  ipvs diff -f FILE [same options]
  ipvs export [--json|--yaml] [--sysctls] [--owns CIDR,...] [--owns-fwmark A-B] [--netns NS]
FILE is YAML or JSON ('-' reads standard input). See the README, "Declarative state".
`;

class Usage extends Error {}

export interface StateCommandOptions {
  readInput?: () => string;
  /** Namespace when the command line has none. */
  netns?: string;
}

/** Runs `args` (apply|diff|export ...); returns the exit status. */
export async function runStateCommand(args: string[], io: Io, opts: StateCommandOptions = {}): Promise<number> {
  const word = args[0]!;
  let parsed;
  try {
    parsed = parse(word, args.slice(1));
  } catch (e) {
    io.err(`ipvs ${word}: ${(e as Error).message}\n${STATE_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    io.out(STATE_USAGE);
    return 0;
  }
  const netns = parsed.netns ?? opts.netns;
  let ipvs: Ipvs | undefined;
  try {
    if (word === 'export') {
      ipvs = await Ipvs.open(netns === undefined ? {} : { netns });
      const state = await ipvs.snapshot({ ...(parsed.owns ? { owns: parsed.owns } : {}), ...(parsed.sysctls ? { sysctls: true } : {}) });
      io.out(parsed.json ? stateToJson(state) : stateToYaml(state));
      return 0;
    }
    const desired = await loadStateFile(parsed.file!, { ...(parsed.owns ? { owns: parsed.owns } : {}), ...(opts.readInput ? { readStdin: opts.readInput } : {}) });
    ipvs = await Ipvs.open(netns === undefined ? {} : { netns });
    const planOpts: PlanOptions = { ...(parsed.owns ? { owns: parsed.owns } : {}), ...(parsed.drain ? { drain: parsed.drain } : {}), ...(parsed.order ? { order: parsed.order } : {}) };
    if (word === 'diff') {
      const p = await ipvs.plan(desired, planOpts);
      io.out(formatPlan(p.changes));
      return p.changes.length ? 1 : 0;
    }
    const r = await ipvs.apply(desired, planOpts);
    for (const c of r.changes) {
      const f = formatFailure(c);
      if (f) io.err(`ipvs apply: ${f}\n`);
      else io.out(`${formatChange(c.change)}\n`);
    }
    for (const d of r.drains) {
      const { outcome, error } = await d.done;
      const what = targetLabel(d.service, d.destination);
      if (outcome === 'failed') io.err(`ipvs apply: drain of ${what} failed: ${error?.message}\n`);
      else io.out(`drained ${what}: ${outcome}\n`);
    }
    return r.failed ? 1 : 0;
  } catch (e) {
    if (e instanceof IpvsError) {
      io.err(`ipvs ${word}: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    ipvs?.close();
  }
}

interface Parsed {
  help?: boolean;
  file?: string;
  owns?: Ownership;
  drain?: DrainOptions;
  order?: 'on-add' | 'always';
  netns?: string;
  json?: boolean;
  sysctls?: boolean;
}

function parse(word: string, argv: string[]): Parsed {
  // `--drain` alone takes the default; parseArgs wants a value for a string option.
  const args = argv.map((a) => (a === '--drain' ? `--drain=${DEFAULT_DRAIN_SECONDS}` : a));
  const exporting = word === 'export';
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      file: { type: 'string', short: 'f' },
      owns: { type: 'string', multiple: true },
      'owns-fwmark': { type: 'string', multiple: true },
      drain: { type: 'string' },
      'udp-immediate': { type: 'boolean' },
      order: { type: 'string' },
      netns: { type: 'string' },
      json: { type: 'boolean' },
      yaml: { type: 'boolean' },
      sysctls: { type: 'boolean' },
    },
  });
  if (values.help) return { help: true };
  if (positionals.length) throw new Usage(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const out: Parsed = {};
  if (exporting) {
    if (values.json && values.yaml) throw new Usage('--json and --yaml exclude each other');
    for (const o of ['file', 'drain', 'order', 'udp-immediate'] as const) if (values[o] !== undefined) throw new Usage(`--${o} is not an export option`);
    out.json = values.json === true;
    out.sysctls = values.sysctls === true;
  } else {
    if (values.sysctls) throw new Usage('--sysctls is an export option (a file names its sysctls)');
    if (values.file === undefined) throw new Usage('-f FILE is required');
    if (values.json || values.yaml) throw new Usage('--json and --yaml are export options (the file may be either)');
    out.file = values.file;
  }
  if (values.netns !== undefined) out.netns = values.netns;
  if (values.owns || values['owns-fwmark']) {
    const owns: Ownership = {};
    if (values.owns) {
      owns.cidrs = values.owns.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
      for (const c of owns.cidrs) {
        const p = parseCidr(c);
        if (typeof p === 'string') throw new Usage(`--owns: ${p}`);
      }
    }
    if (values['owns-fwmark']) {
      owns.fwmarks = values['owns-fwmark'].flatMap((s) => s.split(',')).map((s) => {
        const r = parseFwmarkRange(s);
        if (!r) throw new Usage(`--owns-fwmark: ${JSON.stringify(s)} is not a mark or a range A-B`);
        return r;
      });
    }
    out.owns = owns;
  }
  if (values.drain !== undefined) {
    const t = Number(values.drain);
    if (!/^\d+(\.\d+)?$/.test(values.drain) || !Number.isFinite(t)) throw new Usage(`--drain: ${JSON.stringify(values.drain)} is not a number of seconds`);
    out.drain = { timeoutSeconds: t, ...(values['udp-immediate'] ? { udpImmediate: true } : {}) };
  } else if (values['udp-immediate']) throw new Usage('--udp-immediate goes with --drain');
  if (values.order !== undefined) {
    if (values.order !== 'on-add' && values.order !== 'always') throw new Usage(`--order is on-add or always, got ${JSON.stringify(values.order)}`);
    out.order = values.order;
  }
  return out;
}
