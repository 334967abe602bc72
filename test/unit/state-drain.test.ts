/**
 * The drain tracker's decisions over a stand-in client (the kernel tests
 * prove the wiring with real traffic): delete at zero connections or at the
 * deadline, bounded turns, a vanished server, cancel and close.
 */
import { describe, expect, it } from 'vitest';
import { IpvsError } from '../../src/errors.js';
import { DrainTracker } from '../../src/state/drain.js';
import type { Destination, DestinationKey, ServiceKey } from '../../src/ipvs/types.js';

const svc = (port: number): ServiceKey => ({ protocol: 'tcp', address: '10.0.0.1', port });

/** A stand-in client: connections per "port/address", a log of calls. */
function fakeClient(conns: Map<string, number>) {
  const calls: string[] = [];
  return {
    calls,
    listDestinations: async (k: ServiceKey) => {
      const port = (k as { port: number }).port;
      calls.push(`list ${port}`);
      const ds = [...conns].filter(([id]) => id.startsWith(`${port}/`));
      if (!ds.length && port === 99) throw new IpvsError('no such service', { kind: 'kernel', errno: 3, operation: 'listDestinations' });
      return ds.map(([id, n]) => ({ address: id.split('/')[1]!, port: 80, activeConnections: n, inactiveConnections: 0 }) as Destination);
    },
    deleteDestination: async (k: ServiceKey, d: DestinationKey) => {
      calls.push(`delete ${(k as { port: number }).port}/${d.address}`);
      conns.delete(`${(k as { port: number }).port}/${d.address}`);
    },
    deleteService: async (k: ServiceKey) => void calls.push(`deleteService ${(k as { port: number }).port}`),
  };
}

describe('DrainTracker', () => {
  it('deletes a server once idle, another at its deadline; polls a bounded number of services per turn', async () => {
    const conns = new Map([['80/10.1.0.2', 2], ['81/10.1.0.3', 5], ['82/10.1.0.4', 0]]);
    const c = fakeClient(conns);
    const t = new DrainTracker(c, { pollMs: 5, perTick: 2 });
    const a = t.start('a', svc(80), { address: '10.1.0.2', port: 80 }, '10.1.0.2|80', 60);
    const b = t.start('b', svc(81), { address: '10.1.0.3', port: 80 }, '10.1.0.3|80', 0.05);
    const idle = t.start('c', svc(82), { address: '10.1.0.4', port: 80 }, '10.1.0.4|80', 60);
    expect(t.list()).toHaveLength(3);
    expect(await idle.done).toEqual({ outcome: 'drained' });
    expect(await b.done).toEqual({ outcome: 'deadline' });
    expect(b.connections).toBe(5);
    // (the first turn read two services, not three)
    expect(c.calls.slice(0, 2)).toEqual(['list 80', 'list 81']);
    conns.set('80/10.1.0.2', 0);
    expect(await a.done).toEqual({ outcome: 'drained' });
    expect(c.calls.filter((x) => x.startsWith('delete'))).toEqual(['delete 82/10.1.0.4', 'delete 81/10.1.0.3', 'delete 80/10.1.0.2']);
    expect(t.list()).toEqual([]);
  });

  it('reports a server or service removed by someone else as gone; drains a whole service', async () => {
    const c = fakeClient(new Map([['83/10.1.0.5', 0]]));
    const t = new DrainTracker(c, { pollMs: 5 });
    const gone = t.start('x', svc(83), { address: '10.9.9.9', port: 80 }, '10.9.9.9|80', 60);
    const noService = t.start('y', svc(99), undefined, undefined, 60);
    const whole = t.start('z', svc(83), undefined, undefined, 60);
    expect(await gone.done).toEqual({ outcome: 'gone' });
    expect(await noService.done).toEqual({ outcome: 'gone' });
    expect(await whole.done).toEqual({ outcome: 'drained' });
    expect(c.calls).toContain('deleteService 83');
  });

  it('cancel, restore and close end drains without deleting; nothing runs after close', async () => {
    const c = fakeClient(new Map([['84/10.1.0.6', 1], ['85/10.1.0.7', 1]]));
    const t = new DrainTracker(c, { pollMs: 5 });
    const a = t.start('a', svc(84), { address: '10.1.0.6', port: 80 }, '10.1.0.6|80', 60);
    const b = t.start('b', svc(85), { address: '10.1.0.7', port: 80 }, '10.1.0.7|80', 60);
    const r = t.start('r', svc(85), { address: '10.1.0.8', port: 80 }, '10.1.0.8|80', 60);
    expect(t.start('a', svc(84), { address: '10.1.0.6', port: 80 }, '10.1.0.6|80', 60)).toBe(a);
    a.cancel();
    expect(await a.done).toEqual({ outcome: 'cancelled' });
    t.restore('r/10.1.0.8|80');
    expect(await r.done).toEqual({ outcome: 'restored' });
    t.close();
    expect(await b.done).toEqual({ outcome: 'cancelled' });
    const calls = c.calls.length;
    await new Promise((res) => setTimeout(res, 30));
    expect(c.calls.length).toBe(calls);
    expect(c.calls.some((x) => x.startsWith('delete'))).toBe(false);
  });
});
