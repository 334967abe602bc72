/**
 * exec check: a command run without a shell, with the real server in its
 * environment and arguments ({address} and {port} replaced). Exit 0 is up,
 * 1 down; with dynamicWeight, 2..255 is up with weight code - 2 (keepalived's
 * misc_dynamic). Killed (SIGKILL, whole process group) at the timeout.
 */
import { spawn } from 'node:child_process';
import type { ExecCheck } from '../types.js';
import { errorText, type CheckResult, type Target } from './result.js';

export function execProbe(check: ExecCheck, target: Target, signal: AbortSignal): Promise<CheckResult> {
  const [cmd, ...args] = check.command.map((a) => a.replaceAll('{address}', target.address).replaceAll('{port}', String(target.port)));
  return new Promise((resolve) => {
    const child = spawn(cmd!, args, {
      stdio: 'ignore',
      detached: true, // its own process group, so the kill reaches what it started too
      env: { ...process.env, IPVS_CHECK_ADDRESS: target.address, IPVS_CHECK_PORT: String(target.port) },
    });
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    signal.addEventListener('abort', kill, { once: true });
    child.once('error', (e) => {
      signal.removeEventListener('abort', kill);
      resolve({ ok: false, detail: errorText(e) });
    });
    child.once('exit', (code, sig) => {
      signal.removeEventListener('abort', kill);
      resolve(judgeExit(check, code, sig));
    });
  });
}

export function judgeExit(check: ExecCheck, code: number | null, sig: NodeJS.Signals | null): CheckResult {
  if (code === null) return { ok: false, detail: `killed by ${sig}` };
  if (code === 0) return { ok: true, detail: 'exit 0' };
  if (check.dynamicWeight && code >= 2) return { ok: true, detail: `exit ${code}`, weight: code - 2 };
  return { ok: false, detail: `exit ${code}` };
}
