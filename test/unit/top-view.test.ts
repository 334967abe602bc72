// What `ipvs top` draws: ipvsadm's number format, sorting, filtering,
// narrow terminals and scrolling (the terminal itself: obs-exporter.test.ts under tmux).
import { describe, expect, it } from 'vitest';
import { arrange, largenum, screenLines, tableLines, type ViewState } from '../../src/cli/top-view.js';
import type { Destination, Service, Stats } from '../../src/ipvs/types.js';

const stats = (cps: number, bytes = 0, conns = 0): Stats => ({
  connections: BigInt(conns), packetsIn: 0n, packetsOut: 0n, bytesIn: 0n, bytesOut: 0n,
  cps: BigInt(cps), packetsInPerSecond: 0n, packetsOutPerSecond: 0n, bytesInPerSecond: BigInt(bytes), bytesOutPerSecond: 0n,
});
const dest = (address: string, cps: number, active = 0): Destination => ({
  family: 'inet', address, port: 80, forwarding: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0,
  activeConnections: active, inactiveConnections: 0, persistentConnections: 0, stats: stats(cps),
});
const svc = (address: string, cps: number, bytes: number, dests: Destination[]): Service => ({
  family: 'inet', protocol: 'tcp', address, port: 80, scheduler: 'rr', schedulerFlags: [], netmask: '255.255.255.255',
  onePacket: false, flags: 2, timeout: 0, stats: stats(cps, bytes), destinations: dests,
});
const list = [
  svc('10.0.0.1', 5, 900, [dest('10.1.0.1', 1, 7), dest('10.1.0.2', 4)]),
  svc('10.0.0.2', 50, 10, [dest('10.2.0.1', 50)]),
  svc('10.0.0.3', 0, 0, []),
];
const view = (v: Partial<ViewState> = {}): ViewState => ({ sort: 'cps', reverse: false, filter: '', offset: 0, ...v });
const names = (ss: Service[]) => ss.map((s) => s.address);

describe('ipvs top view', () => {
  it("formats numbers as ipvsadm's print_largenum does", () => {
    expect(largenum(0n)).toBe('        0');
    expect(largenum(99_999_999n)).toBe(' 99999999');
    expect(largenum(100_000_000n)).toBe('  100000K');
    expect(largenum(1_000_000_000n)).toBe('    1000M');
    expect(largenum(100_000_000_000n)).toBe('     100G');
    expect(largenum(2n ** 64n - 1n)).toBe('18446744T');
  });

  it('sorts busiest first by the chosen key, real servers too; r reverses', () => {
    expect(names(arrange(list, view()))).toEqual(['10.0.0.2', '10.0.0.1', '10.0.0.3']);
    expect(arrange(list, view())[1]!.destinations!.map((d) => d.address)).toEqual(['10.1.0.2', '10.1.0.1']);
    expect(names(arrange(list, view({ sort: 'bytes' })))).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(names(arrange(list, view({ sort: 'active' })))[0]).toBe('10.0.0.1');
    expect(names(arrange(list, view({ reverse: true })))).toEqual(['10.0.0.3', '10.0.0.1', '10.0.0.2']);
    expect(names(arrange(list, view({ sort: 'name' })))).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  });

  it('filters on service and real server text', () => {
    expect(names(arrange(list, view({ filter: '10.2.0' })))).toEqual(['10.0.0.2']);
    expect(names(arrange(list, view({ filter: 'TCP  10.0.0.3' })))).toEqual(['10.0.0.3']);
    expect(arrange(list, view({ filter: 'nothing' }))).toEqual([]);
  });

  it('draws fixed columns, dropping the last ones on narrow terminals', () => {
    const wide = tableLines(list);
    expect(wide[0]).toMatch(/^Prot LocalAddress:Port Scheduler\s+Weight\s+ActConn\s+InActConn\s+CPS .* OutBytes$/);
    expect(wide[1]).toMatch(/^TCP {2}10\.0\.0\.1:80 rr {16}\s+7\s+0\s+5\s+900\s+0/);
    expect(wide[2]).toMatch(/^ {2}-> 10\.1\.0\.1:80 Masq\s+1\s+7\s+0\s+1\b/);
    const narrow = tableLines(list, 80);
    expect(Math.max(...narrow.map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(narrow[0]).toMatch(/InActConn\s+CPS$/);
  });

  it('fits a screen: header, then rows from the scroll offset', () => {
    const lines = screenLines(list, view({ offset: 2 }), { width: 100, height: 7 }, new Date(0));
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^ipvs top - \d\d:\d\d:\d\d {3}services 3, real servers 3 {3}sort: cps$/);
    expect(lines[3]).toMatch(/^Prot/);
    expect(lines[4]).toMatch(/^TCP {2}10\.0\.0\.1:80/); // rows 0-1 (10.0.0.2 and its server) scrolled past
    expect(lines.every((l) => l.length <= 100)).toBe(true);
  });
});
