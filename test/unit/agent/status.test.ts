import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fetchStatus, serveStatus, statusText } from '../../../src/agent/status-server.js';
import type { AgentStatus } from '../../../src/agent/status.js';

const durations = { bounds: [0.01, 0.1], counts: [1, 1], count: 1, sum: 0.0015 };

const status: AgentStatus = {
  startedAt: '2026-12-07T07:00:00.000Z',
  services: [{
    id: 'TCP 10.0.0.10:80', quorumUp: true, sorryServerIn: false, liveWeight: 1,
    destinations: [
      { id: 'TCP 10.0.0.10:80 -> 10.2.1.2:80', address: '10.2.1.2', port: 80, up: true, configuredWeight: 1, effectiveWeight: 1, onFailure: 'remove', checkDurations: durations,
        checks: [{ type: 'http', target: '10.2.1.2:80', up: true, streak: 0, transitions: 0, since: '2026-12-07T07:00:00.000Z', last: { ok: true, detail: 'HTTP 200', at: '2026-12-07T07:00:01.000Z', ms: 1.5 } }] },
      { id: 'TCP 10.0.0.10:80 -> 10.2.2.2:80', address: '10.2.2.2', port: 80, up: false, configuredWeight: 2, effectiveWeight: null, onFailure: 'remove', checkDurations: durations,
        checks: [{ type: 'tcp', target: '10.2.2.2:8080', up: false, streak: 1, transitions: 1, since: '2026-12-07T07:00:02.000Z' }] },
    ],
  }],
  draining: [{ id: 'TCP 10.0.0.10:80 -> 10.2.3.2:80', deadline: '2026-12-07T07:01:00.000Z' }],
  lastApply: { at: '2026-12-07T07:00:02.500Z', ms: 12.5, reason: 'health', changes: ['- server TCP 10.0.0.10:80 -> 10.2.2.2:80'], errors: [] },
  scheduler: { jobs: 2, running: 0, waiting: 0, started: 9, lateness: { count: 9, meanMs: 1, maxMs: 3, p50Ms: 1, p90Ms: 2, p99Ms: 3, buckets: [] } },
};

describe('agent status', () => {
  it('is served as JSON on a unix socket and read back', async () => {
    const path = join(tmpdir(), `ipvs-agent-test-${process.pid}.sock`);
    const server = await serveStatus(path, () => status);
    try {
      expect(await fetchStatus(path)).toEqual(status);
    } finally {
      await server.close();
    }
    await expect(fetchStatus(path)).rejects.toThrow();
  });

  it('reads as a table', () => {
    expect(statusText(status)).toBe(`agent started 2026-12-07T07:00:00.000Z; checks 2, running 0, lateness p50 1.0 ms p99 3.0 ms max 3.0 ms
last apply 2026-12-07T07:00:02.500Z (health, 12.5 ms): 1 change(s), 0 error(s)
TCP 10.0.0.10:80  quorum up, live weight 1
  10.2.1.2:80  UP    weight 1 -> 1
    http 10.2.1.2:80  up since 2026-12-07T07:00:00.000Z, 0 transition(s), streak 0; last ok HTTP 200 at 2026-12-07T07:00:01.000Z (1.5 ms)
  10.2.2.2:80  DOWN  weight 2 -> out
    tcp 10.2.2.2:8080  down since 2026-12-07T07:00:02.000Z, 1 transition(s), streak 1; last not run yet
draining TCP 10.0.0.10:80 -> 10.2.3.2:80 until 2026-12-07T07:01:00.000Z
`);
  });
});
