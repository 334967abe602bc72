/**
 * The status endpoint: HTTP on a unix socket (only local users with access
 * to the path can read it). GET /status answers the agent's status as JSON.
 */
import { unlinkSync } from 'node:fs';
import http from 'node:http';
import type { AgentStatus } from './status.js';

export async function serveStatus(path: string, status: () => AgentStatus): Promise<{ close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/status' || req.url === '/')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(status()));
    } else {
      res.statusCode = 404;
      res.end('not found\n');
    }
  });
  try {
    unlinkSync(path); // a socket left by an agent that died
  } catch {
    // none there
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  server.unref(); // the agent's own timers keep it alive, not its status socket
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        try {
          unlinkSync(path);
        } catch {
          // gone already
        }
      }),
  };
}

/** Reads an agent's status from its socket. */
export function fetchStatus(path: string, timeoutMs = 5000): Promise<AgentStatus> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: path, path: '/status', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as AgentStatus);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${path} in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The status as a table for people. */
export function statusText(s: AgentStatus): string {
  const lines: string[] = [`agent started ${s.startedAt}; checks ${s.scheduler.jobs}, running ${s.scheduler.running}, lateness p50 ${s.scheduler.lateness.p50Ms.toFixed(1)} ms p99 ${s.scheduler.lateness.p99Ms.toFixed(1)} ms max ${s.scheduler.lateness.maxMs.toFixed(1)} ms`];
  if (s.lastApply) lines.push(`last apply ${s.lastApply.at} (${s.lastApply.reason}, ${s.lastApply.ms} ms): ${s.lastApply.changes.length} change(s), ${s.lastApply.errors.length} error(s)`);
  for (const svc of s.services) {
    lines.push(`${svc.id}  quorum ${svc.quorumUp ? 'up' : 'down'}${svc.sorryServerIn ? ', sorry server in' : ''}, live weight ${svc.liveWeight}`);
    for (const d of svc.destinations) {
      const w = d.effectiveWeight === null ? 'out' : String(d.effectiveWeight);
      lines.push(`  ${d.address}:${d.port}  ${d.up ? 'UP  ' : 'DOWN'}  weight ${d.configuredWeight} -> ${w}`);
      for (const c of d.checks) {
        const last = c.last ? `${c.last.ok ? 'ok' : 'failed'} ${c.last.detail} at ${c.last.at} (${c.last.ms} ms)` : 'not run yet';
        lines.push(`    ${c.type} ${c.target}  ${c.up ? 'up' : 'down'} since ${c.since}, ${c.transitions} transition(s), streak ${c.streak}; last ${last}`);
      }
    }
  }
  for (const d of s.draining) lines.push(`draining ${d.id} until ${d.deadline}`);
  return lines.join('\n') + '\n';
}
