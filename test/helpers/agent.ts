/**
 * Runs `ipvs agent` (the built CLI) inside a topology's director namespace,
 * where its checks reach the backends, and reads its JSON event lines.
 * Also starts killable HTTP servers in backends (examples/lib/server.mjs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AgentEvent } from '../../src/agent/log.js';
import { fetchStatus } from '../../src/agent/status-server.js';
import type { AgentStatus } from '../../src/agent/status.js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const serverScript = fileURLToPath(new URL('../../examples/lib/server.mjs', import.meta.url));

export type Logged = AgentEvent & { time: string };

export interface RunningAgent {
  child: ChildProcess;
  file: string;
  socket: string;
  events: Logged[];
  /** Resolves with the first event (from `from` on) that matches. */
  waitFor(pred: (e: Logged) => boolean, timeoutMs?: number, from?: number): Promise<Logged>;
  status(): Promise<AgentStatus>;
  /** Rewrites the agent file (the agent sees it through its watch). */
  write(text: string): void;
  /** Sends a signal and waits for the exit; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `keepalived`: the text is a keepalived.conf, given with --keepalived-conf. */
export async function startAgent(netns: string, fileText: string, args: string[] = [], opts: { keepalived?: boolean } = {}): Promise<RunningAgent> {
  const id = randomBytes(4).toString('hex');
  const file = `/tmp/ipvs-agent-${id}.${opts.keepalived ? 'conf' : 'yaml'}`;
  const socket = `/tmp/ipvs-agent-${id}.sock`;
  writeFileSync(file, fileText);
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, cli, 'agent', opts.keepalived ? '--keepalived-conf' : '-f', file, '--log-format', 'json', '--status-socket', socket, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const events: Logged[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      events.push(JSON.parse(l) as Logged);
    } catch {
      events.push({ event: 'error', detail: `not JSON: ${l}`, time: '' });
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const agent: RunningAgent = {
    child, file, socket, events,
    waitFor(pred, timeoutMs = 20_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const e = events.slice(from).find(pred);
          if (!e) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(e);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such agent event in ${timeoutMs} ms; events: ${JSON.stringify(events.slice(from))}; stderr: ${stderr}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
        void exited.then(() => check() || reject(new Error(`agent exited; stderr: ${stderr}`)));
      });
    },
    status: () => fetchStatus(socket),
    write: (text) => writeFileSync(file, text),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
  await agent.waitFor((e) => e.event === 'start', 60_000); // a loaded one-CPU guest starts node slowly
  return agent;
}

/** An HTTP server (examples/lib/server.mjs) in a backend namespace, killable. */
export async function startServer(netns: string, name: string, port: number): Promise<{ kill(): Promise<void> }> {
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, serverScript, name, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (l) => (l === 'ready' ? resolve() : reject(new Error(l))));
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return {
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
