/**
 * The `ipvs` command as a function (main.ts runs it): ipvsadm 1.31's command
 * line and output, on the library, plus --json, --netns and `ipvs doctor`.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import { parseCommand } from './command.js';
import { CliExit } from './exit.js';
import { execute, type Io } from './run.js';
import { extrasText, usageText, versionText } from './usage.js';

/** The name to print in messages: how we were invoked (ipvsadm prints its argv[0]). */
export function programName(script = process.argv[1]): string {
  const b = basename(script ?? 'ipvs');
  return /\.[cm]?[jt]s$/.test(b) ? 'ipvs' : b;
}

export interface MainOptions {
  /** Name for messages; default: how the process was invoked. */
  prog?: string;
  /** Reads all of standard input (for -R). */
  readInput?: () => string;
  /** Namespace to work in when the command line has no --netns. */
  netns?: string;
}

/** Runs the CLI with `args` (after the program name); returns the exit status. */
export async function main(args: string[], io: Io, opts: MainOptions = {}): Promise<number> {
  const prog = opts.prog ?? programName();
  const readInput = opts.readInput ?? (() => readFileSync(0, 'utf8'));
  if (args[0] === 'apply' || args[0] === 'diff' || args[0] === 'export') return (await import('./state.js')).runStateCommand(args, io, { readInput, ...(opts.netns !== undefined ? { netns: opts.netns } : {}) });
  if (args[0] === 'doctor') {
    const { runDoctorCommand } = await import('./doctor.js');
    return runDoctorCommand(args.slice(1));
  }
  if (args[0] === 'agent' || args[0] === 'convert') return (await import('./agent.js'))[args[0] === 'agent' ? 'runAgentCommand' : 'runConvertCommand'](args.slice(1));
  if (args[0] === 'exporter') return (await import('./exporter.js')).runExporter(args.slice(1));
  if (args[0] === 'top') return (await import('./top.js')).runTop(args.slice(1));
  if (args[0] === 'sync') return (await import('./sync.js')).runSyncCommand(args.slice(1), io, opts.netns);
  // Like ipvsadm: no arguments lists the table.
  let c;
  try {
    c = await parseCommand(args.length === 0 ? ['-L'] : args, { prog });
  } catch (e) {
    if (e instanceof CliExit) {
      (e.stream === 'stdout' ? io.out : io.err)(e.text);
      return e.status;
    }
    throw e;
  }
  if (c.netns === undefined && opts.netns !== undefined) c.netns = opts.netns;
  if (c.cmd === 'help') {
    io.out(usageText(prog) + extrasText(prog, pkg.version));
    return 0;
  }
  if (c.cmd === 'version') {
    io.out(versionText());
    return 0;
  }
  if (c.cmd === 'restore') {
    const { restore } = await import('./restore.js');
    return restore(c, io, prog, readInput);
  }
  return execute(c, io);
}

