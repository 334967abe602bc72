// The agent as a health source: its ids mapped onto the metrics' ids, its
// states, and the counters kept from its events.
import { describe, expect, it } from 'vitest';
import { AgentHealth, parseAgentServiceId } from '../../src/metrics/index.js';
import type { AgentStatus } from '../../src/agent/status.js';

const durations = { bounds: [0.01, 0.1], counts: [2, 3], count: 4, sum: 0.75 };

const check = (up: boolean, transitions: number, detail = 'ok') => ({ type: 'tcp', target: '10.1.0.3:81', up, streak: 0, transitions, since: '2026-01-01T00:00:00.000Z', last: { ok: up, detail, at: '2026-01-01T00:00:01.000Z', ms: 1.5 } });
function status(started: number): AgentStatus {
  return {
    startedAt: '2026-01-01T00:00:00.000Z',
    services: [
      {
        id: 'TCP 10.0.0.1:80', quorumUp: true, sorryServerIn: false, liveWeight: 1,
        destinations: [
          { id: 'TCP 10.0.0.1:80 -> 10.1.0.2:80', address: '10.1.0.2', port: 80, up: true, configuredWeight: 3, effectiveWeight: 3, onFailure: 'remove', checkDurations: durations, checks: [check(true, 2)] },
          { id: 'TCP 10.0.0.1:80 -> 10.1.0.3:80', address: '10.1.0.3', port: 80, up: false, configuredWeight: 1, effectiveWeight: 0, onFailure: 'inhibit', checkDurations: durations, checks: [check(false, 1, 'ECONNREFUSED')] },
          { id: 'TCP 10.0.0.1:80 -> 10.1.0.4:80', address: '10.1.0.4', port: 80, up: true, configuredWeight: 1, effectiveWeight: 1, onFailure: 'remove', checkDurations: durations, checks: [] },
        ],
      },
      { id: 'UDP [2001:DB8::1]:53', quorumUp: true, sorryServerIn: false, liveWeight: 1, destinations: [{ id: 'x', address: '2001:DB8:0::2', port: 53, up: true, configuredWeight: 1, effectiveWeight: 1, onFailure: 'remove', checkDurations: durations, checks: [check(true, 0)] }] },
    ],
    draining: [{ id: 'TCP 10.0.0.1:80 -> 10.1.0.4:80', deadline: '2026-01-01T00:01:00.000Z' }],
    lastApply: { at: '2026-01-01T00:00:02.000Z', ms: 250, reason: 'health', changes: ['a'], errors: [] },
    scheduler: { jobs: 3, running: 0, waiting: 0, started, lateness: { count: 0, meanMs: 0, maxMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, buckets: [] } },
  };
}

describe('AgentHealth', () => {
  it("reads the agent's service ids", () => {
    expect(parseAgentServiceId('TCP 10.0.0.1:80')).toEqual({ family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80 });
    expect(parseAgentServiceId('UDP [2001:DB8:0::1]:53')).toEqual({ family: 'inet6', protocol: 'udp', address: '2001:db8::1', port: 53 });
    expect(parseAgentServiceId('FWM 7 inet6')).toEqual({ family: 'inet6', fwmark: 7 });
    expect(parseAgentServiceId('nonsense')).toBeUndefined();
  });

  it('gives each real server its state under the ids the listing gets, and counts from events', () => {
    let started = 5;
    const h = new AgentHealth({ status: () => status(started) });
    h.observe({ event: 'apply', changes: ['add x', 'add y'] });
    h.observe({ event: 'repair', changes: ['weight z'] });
    h.observe({ event: 'server-down', server: 'x' });
    const snap = h.health();
    const d = snap.destinations!;
    expect(d.get('tcp/10.0.0.1:80>10.1.0.2:80')).toMatchObject({ state: 'up', configuredWeight: 3, transitions: 2, checkDurations: durations });
    expect(d.get('tcp/10.0.0.1:80>10.1.0.3:80')).toMatchObject({ state: 'down', message: 'tcp 10.1.0.3:81: ECONNREFUSED' });
    expect(d.get('tcp/10.0.0.1:80>10.1.0.4:80')!.state).toBe('draining');
    expect(d.get('udp/[2001:db8::1]:53>[2001:db8::2]:53')!.state).toBe('up');
    expect(snap.reconcile).toEqual({ changesApplied: 3, driftsRepaired: 1, checkerAlive: true, lastTimeMs: Date.parse('2026-01-01T00:00:02.000Z'), lastDurationSeconds: 0.25 });
    started = 6;
    expect(h.health().reconcile!.checkerAlive).toBe(true);
  });
});
