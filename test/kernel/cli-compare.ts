/**
 * Shared by the test/kernel/cli-*.test.ts files: run the same command
 * lines through the system's ipvsadm and through `ipvs`, each in a network
 * namespace of its own, and compare what they print, their exit statuses and
 * the kernel state they leave (`ipvsadm -Sn`).
 *
 * `ipvs` runs in-process (its main() with the namespace as an option; a
 * node start costs over a second in the test kernel), named "ipvsadm" so its
 * messages name the program as ipvsadm's do. cli-binary.test.ts runs the
 * built binary itself.
 */
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { afterAll, expect } from 'vitest';
import { main } from '../../src/cli/app.js';
import { createNetns, type TestNetns } from '../helpers/netns.js';

export interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

export interface Pair {
  /** Where ipvsadm runs. */
  a: TestNetns;
  /** Where ipvs runs. */
  b: TestNetns;
  remove(): void;
}

/** Namespaces with lo up and a dummy link on 10.0.0.254/24 and 2001:db8::fe/64 (IPVS wants routable real servers). */
export function prepare(ns: TestNetns): void {
  const ip = (...args: string[]) => execFileSync('ip', ['-n', ns.name, ...args], { stdio: 'ignore' });
  ip('link', 'add', 'd0', 'type', 'dummy');
  ip('addr', 'add', '10.0.0.254/24', 'dev', 'd0');
  ip('-6', 'addr', 'add', '2001:db8::fe/64', 'dev', 'd0', 'nodad');
  ip('link', 'set', 'd0', 'up');
}

export function createPair(): Pair {
  const a = createNetns('cli-a');
  const b = createNetns('cli-b');
  prepare(a);
  prepare(b);
  return { a, b, remove: () => (a.remove(), b.remove()) };
}

/**
 * One long-lived bash runs every ipvsadm: starting a process from node is
 * slow in the test kernel (hundreds of ms), from a small shell it is not.
 */
class Shell {
  private readonly dir = mkdtempSync(join(tmpdir(), 'cli-compare-'));
  private readonly proc: ChildProcessByStdio<Writable, Readable, null>;
  private buf = '';
  private waiting: ((status: number) => void) | undefined;

  constructor() {
    this.proc = spawn('bash', ['-s'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => {
      this.buf += d;
      const m = /__done (\d+)\n/.exec(this.buf);
      if (m && this.waiting) {
        this.buf = this.buf.slice(m.index + m[0].length);
        const w = this.waiting;
        this.waiting = undefined;
        w(Number(m[1]));
      }
    });
  }

  /** The command before this one; commands run strictly one after another. */
  private last: Promise<unknown> = Promise.resolve();

  /**
   * Runs after every earlier command has finished: a test that timed out
   * leaves its command running, and the next test must not read its output.
   */
  run(argv: string[], input = ''): Promise<Outcome> {
    const result = this.last.then(() => this.runNow(argv, input));
    this.last = result.catch(() => undefined);
    return result;
  }

  private async runNow(argv: string[], input: string): Promise<Outcome> {
    const f = (n: string) => join(this.dir, n);
    writeFileSync(f('in'), input);
    const q = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const done = new Promise<number>((resolve) => (this.waiting = resolve));
    this.proc.stdin.write(`${q} <${f('in')} >${f('out')} 2>${f('err')}; echo "__done $?"\n`);
    const status = await done;
    return { status, stdout: readFileSync(f('out'), 'utf8'), stderr: readFileSync(f('err'), 'utf8') };
  }

  close(): void {
    this.proc.stdin.end();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let shell: Shell | undefined;
afterAll(() => {
  shell?.close();
  shell = undefined;
});

/** Runs a command in a namespace. */
export function runIn(ns: TestNetns, argv: string[], input?: string): Promise<Outcome> {
  shell ??= new Shell();
  return shell.run(['ip', 'netns', 'exec', ns.name, ...argv], input);
}

/** Runs the system's ipvsadm in a namespace. */
export const ipvsadm = (ns: TestNetns, args: string[], input?: string): Promise<Outcome> => runIn(ns, ['ipvsadm', ...args], input);

export async function ipvs(ns: TestNetns, args: string[], input?: string): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, { out: (t) => void (stdout += t), err: (t) => void (stderr += t) }, {
    prog: 'ipvsadm',
    netns: ns.name,
    readInput: () => input ?? '',
  });
  return { status: status & 0xff, stdout, stderr };
}

/**
 * The kernel state as `ipvsadm -Sn` saves it, service blocks in text order:
 * the kernel's dump order depends on the namespace (its hash mixes in the
 * namespace's address), and so may ipvsadm's sorted order where its
 * comparator wraps.
 */
export async function state(ns: TestNetns): Promise<string> {
  const blocks = (await ipvsadm(ns, ['-Sn'])).stdout.split(/^(?=-A )/m);
  return blocks.sort().join('');
}

export interface Step {
  args: string[];
  input?: string;
  /** Compare stderr too (default true). */
  stderr?: boolean;
  /** Rewrites ipvsadm's output before comparing (for its documented bugs). */
  fixA?: (o: Outcome) => Outcome;
}

/** Runs each step in both namespaces; output, status and resulting state must match. */
export async function compareSteps(pair: Pair, steps: Array<Step | string[]>): Promise<void> {
  for (const s of steps) {
    const step: Step = Array.isArray(s) ? { args: s } : s;
    let ra = await ipvsadm(pair.a, step.args, step.input);
    const rb = await ipvs(pair.b, step.args, step.input);
    if (step.fixA) ra = step.fixA(ra);
    const label = `ipvsadm ${step.args.join(' ')}`;
    if (step.stderr === false) {
      expect({ status: rb.status, stdout: rb.stdout }, label).toEqual({ status: ra.status, stdout: ra.stdout });
    } else {
      expect(rb, label).toEqual(ra);
    }
    // A refused command line (status 2) never reaches the kernel.
    if (ra.status !== 2) expect(await state(pair.b), `state after ${label}`).toBe(await state(pair.a));
  }
}

/**
 * Read-only commands, run by both tools on the same namespace. Counters and
 * timers may move between two runs, so ipvs must match ipvsadm's output
 * from just before or just after it.
 */
export async function compareReadOnly(ns: TestNetns, args: string[]): Promise<Outcome> {
  const before = await ipvsadm(ns, args);
  const ours = await ipvs(ns, args);
  if (JSON.stringify(ours) === JSON.stringify(before)) return ours;
  const after = await ipvsadm(ns, args);
  expect(ours, `ipvsadm ${args.join(' ')}`).toEqual(after);
  return ours;
}
