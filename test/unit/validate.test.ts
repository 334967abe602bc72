// Input validation (src/ipvs/validate.ts): every bad field is refused before
// anything is encoded, with an IpvsError of code EINVAL naming the field;
// the edges of every range are accepted.
import { describe, expect, it } from 'vitest';
import { IpvsError } from '../../src/errors.js';
import * as requests from '../../src/ipvs/requests.js';
import type { DaemonSpec, DestinationSpec, ServiceSpec } from '../../src/ipvs/types.js';
import {
  checkDaemon, checkDaemonState, checkDestination, checkDestinationKey, checkService, checkServiceKey, checkTimeouts,
} from '../../src/ipvs/validate.js';

const FAMILY = 0x1c;

/** Expects `fn` to refuse input: EINVAL, kind 'input', the field and operation named. */
function refuses(fn: () => unknown, field: string, operation: string): IpvsError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${field} to be refused`).toBeInstanceOf(IpvsError);
  const e = err as IpvsError;
  expect({ code: e.code, errno: e.errno, kind: e.kind, field: e.field, operation: e.operation }).toEqual({
    code: 'EINVAL', errno: 22, kind: 'input', field, operation,
  });
  expect(e.message.startsWith(`${operation}: `)).toBe(true);
  return e;
}

const bad = <T>(v: unknown) => v as T;
const tcp = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
const key4 = checkServiceKey('t', tcp);

describe('service keys', () => {
  it('refuses a missing service', () => {
    for (const v of [null, undefined, 5, 'tcp']) refuses(() => checkServiceKey('getService', bad(v)), 'service', 'getService');
  });

  it('refuses bad protocols, including names inherited from Object.prototype', () => {
    for (const protocol of [undefined, '', 'icmp', 'TCP', 6, 'toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      refuses(() => checkServiceKey('addService', bad({ protocol, address: '10.0.0.1', port: 80 })), 'protocol', 'addService');
    }
  });

  it('refuses addresses that are not IPv4 or IPv6 literals', () => {
    for (const address of [undefined, '', 'example.com', '10.0.0', '10.0.0.256', '[::1]', 167772161, '10.0.0.1:80']) {
      const e = refuses(() => checkServiceKey('addService', bad({ protocol: 'tcp', address, port: 80 })), 'address', 'addService');
      expect(e.message).toMatch(/is not an IPv4 or IPv6 address/);
    }
  });

  it('refuses an IPv6 zone id in words of its own (IPVS keeps no scope)', () => {
    const e = refuses(() => checkServiceKey('addService', { protocol: 'tcp', address: 'fe80::1%eth0', port: 80 }), 'address', 'addService');
    expect(e.message).toBe('addService: address "fe80::1%eth0" has a zone id (%eth0), which IPVS cannot keep: give the address alone');
    const d = refuses(() => checkDestinationKey('addDestination', key4, { address: 'fe80::2%2' }), 'address', 'addDestination');
    expect(d.message).toBe('addDestination: real server address "fe80::2%2" has a zone id (%2), which IPVS cannot keep: give the address alone');
  });

  it('refuses ports outside 0..65535 or not whole numbers', () => {
    for (const port of [undefined, -1, 65536, 1.5, '80', Number.NaN, Infinity]) {
      refuses(() => checkServiceKey('addService', bad({ protocol: 'tcp', address: '10.0.0.1', port })), 'port', 'addService');
    }
  });

  it('refuses bad firewall marks and families', () => {
    for (const fwmark of [0, -1, 1.5, 2 ** 32, '7']) refuses(() => checkServiceKey('x', bad({ fwmark })), 'fwmark', 'x');
    refuses(() => checkServiceKey('x', bad({ fwmark: 1, family: 'ipv6' })), 'family', 'x');
  });

  it('accepts the edges and names the service as people write it', () => {
    expect(checkServiceKey('x', { protocol: 'udp', address: '0.0.0.0', port: 0 }).label).toBe('UDP 0.0.0.0:0');
    expect(checkServiceKey('x', { protocol: 'sctp', address: '2001:DB8:0::0:1', port: 65535 }).label).toBe('SCTP [2001:db8::1]:65535');
    expect(checkServiceKey('x', { fwmark: 1 })).toMatchObject({ af: 2, family: 'inet', fwmark: 1, label: 'FWM 1' });
    expect(checkServiceKey('x', { fwmark: 2 ** 32 - 1, family: 'inet6' })).toMatchObject({ af: 10, fwmark: 2 ** 32 - 1 });
    expect([...checkServiceKey('x', tcp).addr!]).toEqual([10, 0, 0, 1, ...Array(12).fill(0)]);
  });
});

describe('service options', () => {
  const svc = (o: Record<string, unknown>) => bad<ServiceSpec>({ ...tcp, ...o });

  it('refuses bad scheduler names', () => {
    for (const scheduler of ['', 'round robin', 'x'.repeat(16), 'rr;', 5]) {
      refuses(() => checkService('addService', svc({ scheduler })), 'scheduler', 'addService');
    }
    expect(checkService('x', svc({ scheduler: 'x'.repeat(15) })).scheduler).toBe('x'.repeat(15));
    expect(checkService('x', svc({ scheduler: 'my_sched-2' })).scheduler).toBe('my_sched-2');
  });

  it('refuses bad persistence timeouts', () => {
    for (const persistent of [-1, 1.5, 31 * 86400 + 1, 'yes', null]) {
      refuses(() => checkService('addService', svc({ persistent })), 'persistent', 'addService');
    }
    expect(checkService('x', svc({ persistent: 31 * 86400 }))).toMatchObject({ timeout: 31 * 86400, flags: 1 });
    expect(checkService('x', svc({ persistent: 1 }))).toMatchObject({ timeout: 1, flags: 1 });
    expect(checkService('x', svc({ persistent: true }))).toMatchObject({ timeout: 360, flags: 1 });
    for (const persistent of [false, 0, undefined]) expect(checkService('x', svc({ persistent }))).toMatchObject({ timeout: 0, flags: 0 });
  });

  it('refuses a non-boolean onePacket', () => {
    refuses(() => checkService('addService', svc({ onePacket: 'yes' })), 'onePacket', 'addService');
    expect(checkService('x', svc({ onePacket: true })).flags).toBe(4);
  });

  it('refuses unknown scheduler flags, including inherited names', () => {
    for (const f of ['sh-nope', 'toString', '__proto__', '']) {
      const e = refuses(() => checkService('addService', svc({ schedulerFlags: [f] })), 'schedulerFlags', 'addService');
      expect(e.message).toMatch(/known: sh-fallback, sh-port/);
    }
    expect(checkService('x', svc({ schedulerFlags: ['sh-fallback', 'mh-port', 'flag-3'] })).flags).toBe(8 | 16 | 32);
  });

  it('refuses bad netmasks for each family', () => {
    for (const netmask of [33, -1, 1.5, 'abc', '::1', '1.2.3', '255.255.255.0/24']) {
      refuses(() => checkService('addService', svc({ netmask })), 'netmask', 'addService');
    }
    const v6 = { protocol: 'tcp', address: '::1', port: 1 };
    for (const netmask of [0, 129, '64', 1.5, 'ffff::']) {
      refuses(() => checkService('addService', bad({ ...v6, netmask })), 'netmask', 'addService');
    }
    expect(checkService('x', svc({ netmask: 0 })).netmask).toBe(0);
    expect(checkService('x', svc({ netmask: 32 })).netmask).toBe(0xffffffff);
    expect(checkService('x', svc({ netmask: '255.255.0.0' })).netmask).toBe(0xffff0000);
    expect(checkService('x', bad({ ...v6, netmask: 1 })).netmask).toBe(1);
    expect(checkService('x', bad({ ...v6 })).netmask).toBe(128);
    expect(checkService('x', svc({})).netmask).toBe(0xffffffff);
    // Firewall-mark services follow their family.
    expect(checkService('x', { fwmark: 1, family: 'inet6', netmask: 64 }).netmask).toBe(64);
    refuses(() => checkService('x', { fwmark: 1, family: 'inet6', netmask: '255.0.0.0' }), 'netmask', 'x');
  });

  it('refuses bad persistence engine names; an empty one means none', () => {
    for (const pe of ['s i p', 'x'.repeat(16), 5, null]) refuses(() => checkService('addService', svc({ pe })), 'pe', 'addService');
    expect(checkService('x', svc({ pe: 'sip' })).pe).toBe('sip');
    expect(checkService('x', svc({ pe: '' }))).not.toHaveProperty('pe');
  });

  it('checks the key first', () => {
    refuses(() => checkService('updateService', bad({ protocol: 'tcp', address: 'x', port: 1, scheduler: '' })), 'address', 'updateService');
  });
});

describe('destinations', () => {
  const dest = (o: Record<string, unknown>) => bad<DestinationSpec>({ address: '10.1.0.2', ...o });

  it('refuses a missing destination, bad addresses and ports', () => {
    for (const v of [null, undefined, 'x']) refuses(() => checkDestinationKey('deleteDestination', key4, bad(v)), 'destination', 'deleteDestination');
    for (const address of [undefined, '', 'host', '1.2.3.4.5']) {
      const e = refuses(() => checkDestination('addDestination', key4, dest({ address })), 'address', 'addDestination');
      expect(e.message).toMatch(/real server address/);
    }
    for (const port of [-1, 65536, 2.5, '80']) refuses(() => checkDestination('addDestination', key4, dest({ port })), 'port', 'addDestination');
  });

  it('refuses unknown forwarding methods, including inherited names', () => {
    for (const forwarding of ['nat', 'dr', 'Masq', 'toString', 'constructor', 5]) {
      refuses(() => checkDestination('addDestination', key4, dest({ forwarding })), 'forwarding', 'addDestination');
    }
    const fwd = (forwarding: string) => checkDestination('x', key4, dest({ forwarding })).fwd;
    expect(['masq', 'local', 'tunnel', 'route', 'bypass'].map(fwd)).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses weights outside 0..2^31-1', () => {
    for (const weight of [-1, 2 ** 31, 0.5, '1']) refuses(() => checkDestination('addDestination', key4, dest({ weight })), 'weight', 'addDestination');
    expect(checkDestination('x', key4, dest({ weight: 0 })).weight).toBe(0);
    expect(checkDestination('x', key4, dest({ weight: 2 ** 31 - 1 })).weight).toBe(2 ** 31 - 1);
  });

  it('refuses bad thresholds, and a lower one above the upper one', () => {
    for (const upperThreshold of [-1, 2 ** 32, 1.5]) refuses(() => checkDestination('x', key4, dest({ upperThreshold })), 'upperThreshold', 'x');
    for (const lowerThreshold of [-1, 2 ** 32, '1']) refuses(() => checkDestination('x', key4, dest({ lowerThreshold, upperThreshold: 2 ** 32 - 1 })), 'lowerThreshold', 'x');
    const e = refuses(() => checkDestination('x', key4, dest({ lowerThreshold: 11, upperThreshold: 10 })), 'lowerThreshold', 'x');
    expect(e.message).toMatch(/lowerThreshold \(11\) is above upperThreshold \(10\)/);
    // The kernel refuses a lower threshold above an unlimited (0) upper one too.
    refuses(() => checkDestination('x', key4, dest({ lowerThreshold: 1 })), 'lowerThreshold', 'x');
    expect(checkDestination('x', key4, dest({ lowerThreshold: 10, upperThreshold: 10 }))).toMatchObject({ lower: 10, upper: 10 });
    expect(checkDestination('x', key4, dest({ upperThreshold: 2 ** 32 - 1 })).upper).toBe(2 ** 32 - 1);
  });

  it('refuses bad tunnel settings', () => {
    const tun = (tunnel: unknown, forwarding = 'tunnel') => () => checkDestination('addDestination', key4, dest({ forwarding, tunnel }));
    refuses(tun({ type: 'gre' }, 'masq'), 'tunnel', 'addDestination');
    refuses(() => checkDestination('addDestination', key4, dest({ tunnel: { type: 'gre' } })), 'tunnel', 'addDestination'); // default route
    for (const type of ['vxlan', undefined, 'toString']) refuses(tun({ type }), 'tunnel.type', 'addDestination');
    refuses(tun(null), 'tunnel.type', 'addDestination');
    for (const checksum of ['yes', 'toString', 1]) refuses(tun({ type: 'gue', port: 1, checksum }), 'tunnel.checksum', 'addDestination');
    for (const port of [undefined, 0, 65536, 1.5]) refuses(tun({ type: 'gue', port }), 'tunnel.port', 'addDestination');
    refuses(tun({ type: 'gre', port: 5 }), 'tunnel.port', 'addDestination');
    refuses(tun({ type: 'ipip', port: 5 }), 'tunnel.port', 'addDestination');
    refuses(tun({ type: 'ipip', checksum: 'csum' }), 'tunnel.checksum', 'addDestination');
    expect(checkDestination('x', key4, dest({ forwarding: 'tunnel', tunnel: { type: 'gue', port: 65535, checksum: 'remcsum' } })))
      .toMatchObject({ tunType: 1, tunPort: 65535, tunFlags: 2 });
    expect(checkDestination('x', key4, dest({ forwarding: 'tunnel', tunnel: { type: 'gre', port: 0 } }))).toMatchObject({ tunType: 2, tunPort: 0, tunFlags: 0 });
  });

  it('takes the port of the service by default, 0 for firewall marks', () => {
    expect(checkDestinationKey('x', key4, { address: '10.1.0.2' })).toMatchObject({ port: 80, label: '10.1.0.2:80' });
    expect(checkDestinationKey('x', checkServiceKey('x', { fwmark: 1 }), { address: '::ffff:1.2.3.4' })).toMatchObject({
      port: 0, family: 'inet6', af: 10, label: '[::ffff:1.2.3.4]:0',
    });
  });
});

describe('sync daemons', () => {
  const d = (o: Record<string, unknown>) => bad<DaemonSpec>({ state: 'master', interface: 'eth0', ...o });

  it('refuses bad states', () => {
    refuses(() => checkDaemon('startDaemon', bad(null)), 'daemon', 'startDaemon');
    for (const state of ['primary', undefined, 1, 'MASTER']) refuses(() => checkDaemon('startDaemon', d({ state })), 'state', 'startDaemon');
    refuses(() => checkDaemonState('stopDaemon', 'none'), 'state', 'stopDaemon');
    expect([checkDaemonState('x', 'master'), checkDaemonState('x', 'backup')]).toEqual([1, 2]);
  });

  it('refuses bad interface names', () => {
    for (const iface of ['', 'x'.repeat(16), 'eth 0', 'a/b', 'a:b', 5, undefined]) {
      refuses(() => checkDaemon('startDaemon', d({ interface: iface })), 'interface', 'startDaemon');
    }
    expect(checkDaemon('x', d({ interface: 'x'.repeat(15) })).ifname).toBe('x'.repeat(15));
  });

  it('refuses out-of-range numbers and bad groups', () => {
    const cases: Array<[string, unknown[]]> = [
      ['syncId', [-1, 256, 1.5]],
      ['syncMaxLen', [0, 65536, '1']],
      ['mcastGroup', ['', 'group', 5, 'ff02::1%lo']],
      ['mcastPort', [0, 65536, 1.5]],
      ['mcastTtl', [0, 256, -1]],
    ];
    for (const [field, values] of cases) {
      for (const v of values) refuses(() => checkDaemon('startDaemon', d({ [field]: v })), field, 'startDaemon');
    }
  });

  it('refuses a group that is not multicast (the kernel would answer a bare EINVAL)', () => {
    for (const [group, net] of [['10.0.0.1', '224.0.0.0/4'], ['223.255.255.255', '224.0.0.0/4'], ['240.0.0.1', '224.0.0.0/4'], ['2001:db8::1', 'ff00::/8'], ['fe80::1', 'ff00::/8']]) {
      const e = refuses(() => checkDaemon('startDaemon', d({ mcastGroup: group })), 'mcastGroup', 'startDaemon');
      expect(e.message).toBe(`startDaemon: mcastGroup ${group} is not a multicast address (${net})`);
    }
    for (const group of ['224.0.0.0', '239.255.255.255', 'ff00::', 'ff02::1']) expect(() => checkDaemon('startDaemon', d({ mcastGroup: group }))).not.toThrow();
  });

  it('accepts the edges; the group goes to the field of its family', () => {
    expect(checkDaemon('x', d({ syncId: 255, syncMaxLen: 65535, mcastPort: 65535, mcastTtl: 255, mcastGroup: '239.0.0.1' }))).toMatchObject({
      state: 1, ifname: 'eth0', syncId: 255, syncMaxLen: 65535, mcastPort: 65535, mcastTtl: 255, group4: Uint8Array.from([239, 0, 0, 1]),
    });
    const six = checkDaemon('x', d({ state: 'backup', syncId: 0, mcastGroup: 'ff02::1' }));
    expect(six.group6).toHaveLength(16);
    expect(six.group4).toBeUndefined();
  });
});

describe('timeouts', () => {
  it('refuses each bad timeout by name', () => {
    refuses(() => checkTimeouts('setTimeouts', bad(null)), 'timeouts', 'setTimeouts');
    for (const f of ['tcp', 'tcpFin', 'udp']) {
      for (const v of [-1, 1.5, 2 ** 31, '60']) refuses(() => checkTimeouts('setTimeouts', { [f]: v }), f, 'setTimeouts');
    }
    expect(() => checkTimeouts('x', { tcp: 0, tcpFin: 2 ** 31 - 1 })).not.toThrow();
    expect(() => checkTimeouts('x', {})).not.toThrow();
  });
});

describe('every request checks its input before encoding', () => {
  it('names the operation of the public method', () => {
    refuses(() => requests.addService(FAMILY, { ...tcp, port: 70000 }), 'port', 'addService');
    refuses(() => requests.updateService(FAMILY, { ...tcp, scheduler: 'a b' }), 'scheduler', 'updateService');
    refuses(() => requests.deleteService(FAMILY, bad({ protocol: 'tcp', address: '10.0.0.1' })), 'port', 'deleteService');
    refuses(() => requests.getService(FAMILY, bad({ fwmark: 0 })), 'fwmark', 'getService');
    refuses(() => requests.addDestination(FAMILY, tcp, { address: '10.1.0.2', weight: -1 }), 'weight', 'addDestination');
    refuses(() => requests.updateDestination(FAMILY, tcp, bad({ address: '10.1.0.2', forwarding: 'nat' })), 'forwarding', 'updateDestination');
    refuses(() => requests.deleteDestination(FAMILY, tcp, { address: 'nope' }), 'address', 'deleteDestination');
    refuses(() => requests.addDestination(FAMILY, bad({ protocol: 'icmp', address: '10.0.0.1', port: 1 }), { address: '10.1.0.2' }), 'protocol', 'addDestination');
    refuses(() => requests.zero(FAMILY, bad({ protocol: 'tcp', address: '10.0.0.1', port: -1 })), 'port', 'zero');
    refuses(() => requests.setTimeouts(FAMILY, { udp: -5 }), 'udp', 'setTimeouts');
    refuses(() => requests.startDaemon(FAMILY, bad({ state: 'master', interface: '' })), 'interface', 'startDaemon');
    refuses(() => requests.stopDaemon(FAMILY, bad('slave')), 'state', 'stopDaemon');
    // A caller's own operation name is kept (batches use it).
    refuses(() => requests.addService(FAMILY, { ...tcp, port: -1 }, 'batch.addService'), 'port', 'batch.addService');
  });
});
