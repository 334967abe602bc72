/**
 * What the benchmark needs of the machine: fresh network namespaces (every
 * repetition gets its own, so no run pays for another's leftovers: after a
 * flush the kernel keeps deleted real servers on a trash list for minutes,
 * and every new one scans it), waiting for the kernel to finish cleaning up
 * the previous one, and running commands inside.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let counter = 0;

export interface Netns {
  name: string;
  remove(): void;
}

/** A fresh namespace with a route to the real servers' 172.16.0.0/12. */
export function createNetns(): Netns {
  const name = `bench-${process.pid}-${counter++}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  ip('netns', 'add', name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
  ip('-n', name, 'link', 'add', 'dummy0', 'type', 'dummy');
  ip('-n', name, 'addr', 'add', '172.16.0.1/12', 'dev', 'dummy0');
  ip('-n', name, 'link', 'set', 'dummy0', 'up');
  return { name, remove: () => void ip('netns', 'del', name) };
}

/** Runs a command inside a namespace; stdout, or throws with its stderr. */
export function inNetns(ns: string, cmd: string, args: string[], input?: string): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr.slice(0, 500)}`);
  return r.stdout;
}

function cpuTimes(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3]! + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
}

/**
 * Waits until the machine has been idle for a while (the kernel cleans up a
 * deleted namespace in the background, and that work must not land in the
 * next measurement). Gives up after `maxMs`.
 */
export async function settle(maxMs = 30_000): Promise<void> {
  const start = Date.now();
  let quiet = 0;
  while (quiet < 3 && Date.now() - start < maxMs) {
    const a = cpuTimes();
    await new Promise((r) => setTimeout(r, 100));
    const b = cpuTimes();
    const idle = (b.idle - a.idle) / Math.max(1, b.total - a.total);
    quiet = idle > 0.97 ? quiet + 1 : 0;
  }
}

/** The median of some numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
