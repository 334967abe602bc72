/**
 * Runs one check against one real server with a hard deadline: the probe is
 * aborted at the timeout, and a probe that ignores the abort is reported
 * failed at the deadline all the same (a stuck check is a failed check).
 */
import type { CheckSpec } from '../types.js';
import { execProbe } from './exec.js';
import { httpProbe } from './http.js';
import type { CheckResult, Target } from './result.js';
import { tcpProbe } from './tcp.js';
import { dnsProbe, udpProbe } from './udp.js';

export type { CheckResult, Target } from './result.js';

/** The address and port a check probes: its overrides, else the real server's. */
export function checkTarget(check: CheckSpec, address: string, port: number): Target {
  return { address: check.address ?? address, port: check.port ?? port };
}

export function runCheck(check: CheckSpec, target: Target, seq = 0): Promise<CheckResult> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const timeout: CheckResult = { ok: false, detail: `timeout after ${check.timeout} s` };
  const deadline = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
      // Let a probe that answers its abort at once say so (a silent UDP server is up).
      setImmediate(() => resolve(timeout));
    }, check.timeout * 1000);
  });
  return Promise.race([probe(check, target, ac.signal, seq), deadline])
    .then((r) => (timedOut && !r.ok ? timeout : r))
    // No abort once the probe has answered: every probe has closed what it opened by then, and an
    // abort costs an AbortError with its stack on every check (a tenth of the checker's CPU; bench/agent-checks.ts).
    .finally(() => clearTimeout(timer));
}

function probe(check: CheckSpec, target: Target, signal: AbortSignal, seq: number): Promise<CheckResult> {
  switch (check.type) {
    case 'tcp':
      return tcpProbe(target, signal);
    case 'http':
    case 'https':
      return httpProbe(check, target, signal);
    case 'udp':
      return udpProbe(check, target, signal);
    case 'dns':
      return dnsProbe(check, target, signal, seq & 0xffff);
    case 'exec':
      return execProbe(check, target, signal);
  }
}
