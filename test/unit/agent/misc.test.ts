import { describe, expect, it } from 'vitest';
import { formatEvent } from '../../../src/agent/log.js';
import { ownsPredicate } from '../../../src/agent/owns.js';

describe('event lines', () => {
  const at = new Date('2026-12-07T07:00:00.000Z');
  it('text: time, event, key=value with quotes only where needed', () => {
    expect(formatEvent({ event: 'server-down', server: 'TCP 10.0.0.1:80 -> 10.2.1.2:80', detail: 'ECONNREFUSED' }, 'text', at)).toBe(
      '2026-12-07T07:00:00.000Z server-down server="TCP 10.0.0.1:80 -> 10.2.1.2:80" detail=ECONNREFUSED',
    );
    expect(formatEvent({ event: 'apply', reason: 'health', changes: ['- server a', '+ server b'], errors: undefined }, 'text', at)).toBe(
      '2026-12-07T07:00:00.000Z apply reason=health changes="- server a; + server b"',
    );
  });
  it('json: one object per line', () => {
    expect(JSON.parse(formatEvent({ event: 'reload', kept: 3 }, 'json', at))).toEqual({ time: '2026-12-07T07:00:00.000Z', event: 'reload', kept: 3 });
  });
});

describe('owns', () => {
  it('CIDRs by address, fwmark ranges, nothing when absent', () => {
    const p = ownsPredicate({ cidrs: ['10.0.0.0/24', 'fd00::/64'], fwmarks: [{ from: 100, to: 199 }] });
    expect(p({ protocol: 'tcp', address: '10.0.0.7', port: 80 })).toBe(true);
    expect(p({ protocol: 'tcp', address: '10.0.1.7', port: 80 })).toBe(false);
    expect(p({ protocol: 'udp', address: 'fd00::5', port: 53 })).toBe(true);
    expect(p({ fwmark: 150 })).toBe(true);
    expect(p({ fwmark: 200 })).toBe(false);
    expect(ownsPredicate(undefined)({ fwmark: 1 })).toBe(false);
  });
});
