/**
 * Kernel tests work in a network namespace of their own, made fresh per test
 * file, so they never see or disturb each other's IPVS state (nor the
 * host's, when they run on a real machine as root).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { Ipvs, type OpenOptions } from '../../src/index.js';

export interface TestNetns {
  /** The namespace name (as `ip netns` knows it). */
  name: string;
  /** Runs a command inside the namespace; returns stdout. Throws on failure. */
  exec(cmd: string, args: string[], opts?: { input?: string }): string;
  /** Runs a command inside the namespace; never throws. */
  run(cmd: string, args: string[], opts?: { input?: string }): { status: number; stdout: string; stderr: string };
  /** Opens a library handle in the namespace. */
  open(opts?: Omit<OpenOptions, 'netns'>): Promise<Ipvs>;
  /** Deletes the namespace. */
  remove(): void;
}

export function createNetns(prefix = 'ipvs-test'): TestNetns {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  const run = (cmd: string, args: string[], opts: { input?: string } = {}) => {
    try {
      const stdout = execFileSync('ip', ['netns', 'exec', name, cmd, ...args], {
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(opts.input !== undefined ? { input: opts.input } : {}),
      });
      return { status: 0, stdout, stderr: '' };
    } catch (e) {
      const err = e as { status?: number; stdout?: string; stderr?: string };
      return { status: err.status ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  };
  return {
    name,
    run,
    exec(cmd, args, opts) {
      const r = run(cmd, args, opts);
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
      return r.stdout;
    },
    open: (opts = {}) => Ipvs.open({ ...opts, netns: name }),
    remove() {
      execFileSync('ip', ['netns', 'del', name]);
    },
  };
}

/**
 * The usual setup of a kernel test file: a namespace of its own and a
 * handle in it, made before the first test and removed after the last.
 * Read `ctx.ns` and `ctx.ipvs` inside tests and hooks.
 */
export function useNetns(prefix: string): { readonly ns: TestNetns; readonly ipvs: Ipvs } {
  const ctx = {} as { ns: TestNetns; ipvs: Ipvs };
  beforeAll(async () => {
    ctx.ns = createNetns(prefix);
    ctx.ipvs = await ctx.ns.open();
  });
  afterAll(() => {
    ctx.ipvs?.close();
    ctx.ns?.remove();
  });
  return ctx;
}
