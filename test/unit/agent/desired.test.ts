import { describe, expect, it } from 'vitest';
import { computeDesired, nextQuorum, type ServerHealth } from '../../../src/agent/desired.js';
import type { AgentConfig, AgentService } from '../../../src/agent/types.js';

function service(over: Partial<AgentService> = {}, n = 3): AgentService {
  const id = 'TCP 10.0.0.1:80';
  return {
    id,
    key: { protocol: 'tcp', address: '10.0.0.1', port: 80 },
    options: { scheduler: 'rr' },
    quorum: 1,
    hysteresis: 0,
    destinations: Array.from({ length: n }, (_, i) => ({
      id: `${id} -> 10.2.${i + 1}.2:80`,
      spec: { address: `10.2.${i + 1}.2`, port: 80, forwarding: 'masq' as const, weight: i + 1 },
      checks: [],
      onFailure: 'remove' as const,
    })),
    ...over,
  };
}
const cfg = (...services: AgentService[]): AgentConfig => ({ services, settings: { drainSeconds: 30 } });
const healthOf = (down: string[] = [], weights: Record<string, number> = {}) => (id: string): ServerHealth => {
  const addr = id.split(' -> ')[1]!.split(':')[0]!;
  const h: ServerHealth = { up: !down.includes(addr) };
  if (weights[addr] !== undefined) h.weight = weights[addr]!;
  return h;
};
const dests = (o: ReturnType<typeof computeDesired>, i = 0) => o.desired.services[i]!.destinations!.map((d) => `${d.address}:${d.weight}`);

describe('computeDesired', () => {
  it('everything up: the configured state', () => {
    const o = computeDesired(cfg(service()), healthOf());
    expect(o.desired.services).toHaveLength(1);
    expect(o.desired.services[0]).toMatchObject({ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr' });
    expect(dests(o)).toEqual(['10.2.1.2:1', '10.2.2.2:2', '10.2.3.2:3']);
    expect(o.quorum.get('TCP 10.0.0.1:80')).toBe(true);
    expect(o.sorry.size).toBe(0);
  });

  it('a failed server is left out (remove)', () => {
    const o = computeDesired(cfg(service()), healthOf(['10.2.2.2']));
    expect(dests(o)).toEqual(['10.2.1.2:1', '10.2.3.2:3']);
    expect(o.servers.get('TCP 10.0.0.1:80 -> 10.2.2.2:80')).toEqual({ up: false, configuredWeight: 2, effectiveWeight: null });
  });

  it('a failed server stays at weight 0 (inhibit)', () => {
    const s = service();
    s.destinations[1]!.onFailure = 'inhibit';
    const o = computeDesired(cfg(s), healthOf(['10.2.2.2']));
    expect(dests(o)).toEqual(['10.2.1.2:1', '10.2.2.2:0', '10.2.3.2:3']);
  });

  it('a dynamic weight replaces the configured one while up', () => {
    const o = computeDesired(cfg(service()), healthOf([], { '10.2.1.2': 7 }));
    expect(dests(o)).toEqual(['10.2.1.2:7', '10.2.2.2:2', '10.2.3.2:3']);
    expect(o.servers.get('TCP 10.0.0.1:80 -> 10.2.1.2:80')!.effectiveWeight).toBe(7);
  });

  it('all down with a sorry server: the sorry server alone (default quorum 1)', () => {
    const s = service({ sorryServer: { address: '10.9.9.9', port: 80, forwarding: 'masq' } });
    const o = computeDesired(cfg(s), healthOf(['10.2.1.2', '10.2.2.2', '10.2.3.2']));
    expect(dests(o)).toEqual(['10.9.9.9:undefined']);
    expect(o.sorry.has(s.id)).toBe(true);
    expect(o.quorum.get(s.id)).toBe(false);
  });

  it('sorry server inhibit: at weight 0 while quorum holds, at its weight when lost', () => {
    const s = service({ sorryServer: { address: '10.9.9.9', port: 80, forwarding: 'masq', weight: 4 }, sorryServerInhibit: true });
    let o = computeDesired(cfg(s), healthOf([]));
    expect(dests(o)).toEqual(['10.2.1.2:1', '10.2.2.2:2', '10.2.3.2:3', '10.9.9.9:0']);
    o = computeDesired(cfg(s), healthOf(['10.2.1.2', '10.2.2.2', '10.2.3.2']), o.quorum);
    expect(dests(o)).toEqual(['10.9.9.9:4']);
  });

  it('all down without a sorry server: an empty service', () => {
    const o = computeDesired(cfg(service()), healthOf(['10.2.1.2', '10.2.2.2', '10.2.3.2']));
    expect(dests(o)).toEqual([]);
  });

  it('quorum lost: alive servers out, inhibit ones at 0, the sorry server in', () => {
    const s = service({ quorum: 5, sorryServer: { address: '10.9.9.9', port: 80, forwarding: 'masq', weight: 1 } });
    s.destinations[0]!.onFailure = 'inhibit';
    // live weight 1 + 3 = 4 < 5
    const o = computeDesired(cfg(s), healthOf(['10.2.2.2']), new Map([[s.id, true]]));
    expect(dests(o)).toEqual(['10.2.1.2:0', '10.9.9.9:1']);
    expect(o.servers.get('TCP 10.0.0.1:80 -> 10.2.1.2:80')).toEqual({ up: true, configuredWeight: 1, effectiveWeight: 0 });
  });

  it('hysteresis: lost below quorum - h, regained at quorum + h', () => {
    const s = service({ quorum: 4, hysteresis: 1, sorryServer: { address: '10.9.9.9' } });
    // weights 1,2,3. Up with 6; drop 10.2.1.2 -> 5 (>= 3): still up.
    let o = computeDesired(cfg(s), healthOf(['10.2.1.2']), new Map([[s.id, true]]));
    expect(o.quorum.get(s.id)).toBe(true);
    // drop 10.2.3.2 too -> 2 < 3: lost.
    o = computeDesired(cfg(s), healthOf(['10.2.1.2', '10.2.3.2']), o.quorum);
    expect(o.quorum.get(s.id)).toBe(false);
    expect(dests(o)).toEqual(['10.9.9.9:undefined']);
    // 10.2.1.2 back -> 1 + 2 = 3 < 5: still lost.
    o = computeDesired(cfg(s), healthOf(['10.2.3.2']), o.quorum);
    expect(o.quorum.get(s.id)).toBe(false);
    // 10.2.3.2 up, 10.2.1.2 down -> 5 >= 5: regained.
    o = computeDesired(cfg(s), healthOf(['10.2.1.2']), o.quorum);
    expect(o.quorum.get(s.id)).toBe(true);
    expect(dests(o)).toEqual(['10.2.2.2:2', '10.2.3.2:3']);
  });

  it('nextQuorum follows keepalived (start: up when weight >= quorum + h; lost at 0 even with quorum 0)', () => {
    expect(nextQuorum(undefined, 5, 4, 1)).toBe(true);
    expect(nextQuorum(undefined, 4, 4, 1)).toBe(false);
    expect(nextQuorum(true, 3, 4, 1)).toBe(true);
    expect(nextQuorum(true, 2, 4, 1)).toBe(false);
    expect(nextQuorum(false, 4, 4, 1)).toBe(false);
    expect(nextQuorum(true, 0, 0, 0)).toBe(false);
  });

  it('services are independent and keep their order', () => {
    const a = service();
    const b = { ...service(), id: 'FWM 5 inet', key: { fwmark: 5 }, destinations: service().destinations.map((d) => ({ ...d, id: `FWM 5 inet -> ${d.spec.address}:80` })) };
    const o = computeDesired(cfg(a, b), healthOf(['10.2.3.2']));
    expect(o.desired.services.map((s) => ('fwmark' in s ? s.fwmark : s.address))).toEqual(['10.0.0.1', 5]);
    expect(dests(o, 1)).toEqual(['10.2.1.2:1', '10.2.2.2:2']);
  });

  it('does not change its input', () => {
    const c = cfg(service({ sorryServer: { address: '10.9.9.9' } }));
    const before = JSON.stringify(c);
    computeDesired(c, healthOf(['10.2.1.2', '10.2.2.2', '10.2.3.2']));
    expect(JSON.stringify(c)).toBe(before);
  });
});
