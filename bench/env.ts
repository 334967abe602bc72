/**
 * What the benchmark needs of the machine: fresh network namespaces (every
 * repetition gets its own, so no run pays for another's leftovers: after a
 * flush the kernel keeps deleted real servers on a trash list for minutes,
 * and every new one scans it), waiting for the kernel to finish cleaning up
 * the previous one, and running commands inside.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Netns {
  name: string;
  remove(): void;
}

/** The shell commands that make namespace `name`, with a route to the real servers' 172.16.0.0/12. */
const netnsSetup = (name: string): string =>
  `ip netns add ${name} && ip -n ${name} link set lo up && ip -n ${name} link add dummy0 type dummy && ` +
  `ip -n ${name} addr add 172.16.0.1/12 dev dummy0 && ip -n ${name} link set dummy0 up`;

/**
 * A fresh namespace, made by commands this process starts: only for a
 * process that times nothing itself (see CommandShell).
 */
export function createNetns(name = `bench-${process.pid}-${Date.now() % 1e6}-${Math.floor(Math.random() * 1e6)}`): Netns {
  execFileSync('sh', ['-c', netnsSetup(name)], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { name, remove: () => void execFileSync('ip', ['netns', 'del', name], { stdio: ['ignore', 'ignore', 'pipe'] }) };
}

/** Runs a command inside a namespace; stdout, or throws with its stderr. */
export function inNetns(ns: string, cmd: string, args: string[], input?: string): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr.slice(0, 500)}`);
  return r.stdout;
}

/**
 * Commands for a process that times itself, run by one shell it starts
 * before anything is timed, so that it never forks afterwards. A fork
 * leaves every page of the forking process copy-on-write, and each page it
 * writes next takes a fault: in the test kernel 100-200 µs each. Namespaces
 * made by five `ip` commands right before a timed run charged batch() ~1,000
 * faults a run (78 without); curl started by the serving process charged
 * each scrape ~6,000 on the host. Each command's output goes to a file the
 * shell overwrites; its exit status comes back on the pipe.
 */
export class CommandShell {
  private readonly out = `/tmp/bench-sh-${process.pid}-${Math.floor(Math.random() * 1e9)}.out`;
  private readonly shell = spawn('sh', ['-c', `while read -r line; do (eval "$line") > ${this.out} 2>&1; echo $?; done`], { stdio: ['pipe', 'pipe', 'inherit'] });
  private readonly waiting: ((status: string) => void)[] = [];
  /** The last command queued: each waits for it, since every command's output goes to the same file. */
  private last: Promise<unknown> = Promise.resolve();
  private made = 0;

  constructor() {
    createInterface({ input: this.shell.stdout! }).on('line', (l) => this.waiting.shift()?.(l));
  }

  /** Runs one line of shell, after those queued before it; its output, or throws with it. */
  run(line: string): Promise<string> {
    const done = this.last.then(() => this.runNow(line));
    this.last = done.catch(() => undefined);
    return done;
  }

  private async runNow(line: string): Promise<string> {
    const status = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.shell.stdin!.write(`${line.replace(/\n/g, ' ')}\n`);
    });
    const text = readFileSync(this.out, 'utf8');
    if (status !== '0') throw new Error(`${line.slice(0, 200)} failed (${status}): ${text.slice(0, 500)}`);
    return text;
  }

  /** A GET by curl (as a Prometheus server makes it, from a process of its own): status, bytes received, seconds to the last byte. */
  async curl(url: string, gzip: boolean): Promise<{ code: number; bytes: number; seconds: number }> {
    const out = await this.run(`curl -s --max-time 600 -o /dev/null -w '%{http_code} %{size_download} %{time_total}' ${gzip ? "-H 'Accept-Encoding: gzip' " : ''}'${url}'`);
    const [code, bytes, seconds] = out.trim().split(' ').map(Number);
    return { code: code!, bytes: bytes!, seconds: seconds! };
  }

  /** A fresh namespace (as createNetns). */
  async createNetns(): Promise<{ name: string; remove(): Promise<unknown> }> {
    const name = `bench-${process.pid}-${this.made++}`;
    await this.run(netnsSetup(name));
    return { name, remove: () => this.run(`ip netns del ${name}`) };
  }

  close(): void {
    this.shell.stdin!.end();
    rmSync(this.out, { force: true });
  }
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
