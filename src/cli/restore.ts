/**
 * -R: read rules from stdin (ipvsadm -S output, ours, or any ipvsadm command
 * lines), check every line first, then apply them in pipelined batches.
 *
 * Differences from ipvsadm, on purpose: a bad line stops everything before
 * anything is applied (ipvsadm applies the lines above it), every rejected
 * line is reported with its number and text, the exit status is 255 when
 * any line failed (ipvsadm reports only the last line's outcome), and '#'
 * starts a comment (ipvsadm aborts on it).
 */
import type { IpvsClient as Ipvs } from '../client.js';
import type { BatchResult } from '../batch.js';
import { type Command, parseCommand } from './command.js';
import { CliExit, tryHelp } from './exit.js';
import { OPT } from './options.js';
import { describeError } from './errors.js';
import { applyChange, destKey, destSpec, listing, openIpvs, serviceKey, serviceSpec, type Io } from './run.js';

/**
 * One line of -R input that passed the check: its number and text. Lines are
 * parsed again as they are applied, so that a long input is never held as
 * parsed commands (bench row `ipvs -R`, N = 10,000: holding 30,000 parsed
 * commands cost several times what parsing each line twice does; the
 * kernel tests compare the result with ipvsadm -R's line for line).
 */
export interface RestoreLine {
  /** 1-based line number. */
  line: number;
  text: string;
}

/** config_stream_read's tokens of one line: white space separated, "ipvsadm" dropped, '#' to the end ignored. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  for (const tok of line.split(/[ \t\r\n]+/)) {
    if (tok === '') continue;
    if (tok.startsWith('#')) break;
    if (tok !== 'ipvsadm') out.push(tok);
  }
  return out;
}

/** The command of one line of -R input; undefined for a blank or comment line. Throws CliExit for a bad one. */
export async function parseRestoreLine(text: string, prog: string): Promise<Command | undefined> {
  const tokens = tokenize(text);
  if (tokens.length === 0) return undefined;
  const command = await parseCommand(tokens, { prog, restoring: true });
  if (command.cmd === 'restore' || command.cmd === 'help' || command.cmd === 'version') throw tryHelp(prog);
  return command;
}

/** Checks all of the input; throws CliExit listing every bad line (nothing applied then). */
export async function checkRestore(input: string, prog: string): Promise<RestoreLine[]> {
  const lines = input.split('\n');
  const out: RestoreLine[] = [];
  const bad: string[] = [];
  let status = 0;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.replace(/\r$/, '');
    try {
      if ((await parseRestoreLine(text, prog)) !== undefined) out.push({ line: i + 1, text: text.trim() });
    } catch (e) {
      if (!(e instanceof CliExit)) throw e;
      if (status === 0) status = e.status;
      bad.push(`${prog}: line ${i + 1}: ${e.text.trimEnd().replace(/\n+/g, ' ')}: ${text.trim()}\n`);
    }
  }
  if (bad.length) throw new CliExit(status, `${bad.join('')}${prog}: nothing was applied (${bad.length} bad line${bad.length > 1 ? 's' : ''})\n`);
  return out;
}

const BATCHABLE = new Set(['flush', 'add-service', 'edit-service', 'delete-service', 'zero', 'add-server', 'edit-server', 'delete-server', 'set']);
/** Most lines per batch: what a batch holds until it has run is bounded. */
const CHUNK = 4096;

/**
 * Applies checked lines: runs of changes go in batches (up to CHUNK lines
 * each); listings and daemon commands run in their place between batches.
 * Returns the exit status.
 */
export async function applyRestore(ipvs: Ipvs, lines: RestoreLine[], io: Io, prog: string): Promise<number> {
  let failed = 0;
  const report = (l: RestoreLine, why: string) => {
    failed++;
    io.err(`${why}\n${prog}: line ${l.line} failed: ${l.text}\n`);
  };
  let i = 0;
  // The command of line i, parsed ahead (undefined: not parsed yet).
  let ahead: Command | undefined;
  const commandAt = async (k: number): Promise<Command | undefined> => {
    try {
      return await parseRestoreLine(lines[k]!.text, prog);
    } catch (e) {
      // (it passed the check: only a name that no longer resolves gets here)
      if (!(e instanceof CliExit)) throw e;
      report(lines[k]!, e.text.trimEnd());
      return undefined;
    }
  };
  while (i < lines.length) {
    const c = ahead ?? (await commandAt(i));
    ahead = undefined;
    if (c === undefined) {
      i++;
      continue;
    }
    if (BATCHABLE.has(c.cmd)) {
      const b = ipvs.batch();
      const queued: Array<{ l: RestoreLine; cmd: Command['cmd'] }> = [];
      let next: Command | undefined = c;
      while (next !== undefined && BATCHABLE.has(next.cmd) && queued.length < CHUNK) {
        queue(b, next);
        queued.push({ l: lines[i]!, cmd: next.cmd });
        i++;
        // (a line that no longer parses is reported and skipped)
        next = undefined;
        while (next === undefined && i < lines.length) {
          next = await commandAt(i);
          if (next === undefined) i++;
        }
      }
      ahead = next;
      const results: BatchResult[] = await b.run();
      results.forEach((r, k) => {
        if (!r.ok) report(queued[k]!.l, 'error' in r ? describeError(queued[k]!.cmd, r.error) : 'not sent');
      });
      continue;
    }
    const l = lines[i++]!;
    if (c.cmd === 'list' || c.cmd === 'save') {
      try {
        io.out(await listing(ipvs, c, io.out));
      } catch (e) {
        if (!(e instanceof CliExit)) throw e;
        io.err(e.text);
        failed++;
      }
    } else {
      try {
        await applyChange(ipvs, c);
      } catch (e) {
        report(l, describeError(c.cmd, e));
      }
    }
  }
  if (failed) io.err(`${prog}: ${failed} of ${lines.length} line${lines.length > 1 ? 's' : ''} failed; the others were applied\n`);
  return failed ? 255 : 0;
}

function queue(b: ReturnType<Ipvs['batch']>, c: Command): void {
  switch (c.cmd) {
    case 'flush':
      b.flush();
      break;
    case 'add-service':
      b.addService(serviceSpec(c.svc));
      break;
    case 'edit-service':
      b.updateService(serviceSpec(c.svc));
      break;
    case 'delete-service':
      b.deleteService(serviceKey(c.svc));
      break;
    case 'zero':
      b.zero(c.options.has(OPT.service) && (c.svc.fwmark || c.svc.port || c.svc.addr.some((x) => x)) ? serviceKey(c.svc) : undefined);
      break;
    case 'add-server':
      b.addDestination(serviceKey(c.svc), destSpec(c.dest));
      break;
    case 'edit-server':
      b.updateDestination(serviceKey(c.svc), destSpec(c.dest));
      break;
    case 'delete-server':
      b.deleteDestination(serviceKey(c.svc), destKey(c.dest));
      break;
    case 'set':
      b.setTimeouts(c.timeouts);
      break;
  }
}

/** The whole of -R: read stdin, check, open, apply. */
export async function restore(c: Command, io: Io, prog: string, readInput: () => string): Promise<number> {
  let lines: RestoreLine[];
  try {
    lines = await checkRestore(readInput(), prog);
  } catch (e) {
    if (e instanceof CliExit) {
      io.err(e.text);
      return e.status;
    }
    throw e;
  }
  let ipvs: Ipvs;
  try {
    ipvs = await openIpvs(c.netns);
  } catch (e) {
    if (e instanceof CliExit) {
      io.err(e.text);
      return e.status;
    }
    throw e;
  }
  try {
    return await applyRestore(ipvs, lines, io, prog);
  } finally {
    ipvs.close();
  }
}
