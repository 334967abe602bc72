/**
 * The state layer's pure parts: the plan from two states (defaults,
 * minimality, order, drains, ownership), snapshots, state files with
 * lines, and the JSON Schema against the README example and an export.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { diff, planChanges } from '../../src/state/diff.js';
import { parseStateText } from '../../src/state/file.js';
import { ownerTest } from '../../src/state/ownership.js';
import { toDesired } from '../../src/state/snapshot.js';
import { StateError, checkDesired } from '../../src/state/validate.js';
import type { Destination, Service } from '../../src/ipvs/types.js';
import type { Change, DesiredState, PlanOptions } from '../../src/state/types.js';
import { IpvsError } from '../../src/errors.js';
import type { IpvsSysctls } from '../../src/procfs/sysctls.js';
import { apply, plan as planOf, snapshot } from '../../src/state/reconciler.js';
import { formatFailure, formatPlan } from '../../src/state/format.js';

const ZERO = { connections: 0n, packetsIn: 0n, packetsOut: 0n, bytesIn: 0n, bytesOut: 0n, cps: 0n, packetsInPerSecond: 0n, packetsOutPerSecond: 0n, bytesInPerSecond: 0n, bytesOutPerSecond: 0n };
/** A listed real server as the kernel reports one. */
const dest = (address: string, o: Partial<Destination> = {}): Destination => ({
  family: address.includes(':') ? 'inet6' : 'inet', address, port: 80, forwarding: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0,
  activeConnections: 0, inactiveConnections: 0, persistentConnections: 0, stats: ZERO, ...o,
});
/** A listed TCP service on 10.0.0.1:PORT with servers in kernel order (head first). */
const listed = (port: number, dests: Destination[], o: Partial<Service> = {}): Service => ({
  family: 'inet', protocol: 'tcp', address: '10.0.0.1', port, scheduler: 'wlc', schedulerFlags: [], netmask: '255.255.255.255', onePacket: false,
  flags: 2, timeout: 0, stats: ZERO, destinations: dests, ...o,
});
const plan = (kernel: Service[], desired: DesiredState, options: PlanOptions = {}, draining?: Set<string>): Change[] =>
  planChanges(diff({ current: kernel, desired: checkDesired(desired, options.owns), owned: ownerTest(options.owns), options, ...(draining ? { draining } : {}) }));
const brief = (cs: Change[]) => cs.map((c) => `${c.op}${'destination' in c ? ` ${c.destination.address}` : ''}${'fields' in c ? ` ${c.fields.join(',')}` : ''}${'reason' in c && c.reason ? ' (why)' : ''}`);
const svc = (addrs: string[], o: object = {}) => ({ services: [{ protocol: 'tcp' as const, address: '10.0.0.1', port: 80, ...o, destinations: addrs.map((address) => ({ address })) }] });

describe('plan', () => {
  it('compares with defaults filled in: nothing to do for an explicit spelling of the kernel state', () => {
    const kernel = [listed(80, [dest('10.1.0.2')])];
    expect(plan(kernel, svc(['10.1.0.2']))).toEqual([]);
    expect(plan(kernel, { services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'wlc', persistent: false, netmask: 32, onePacket: false, destinations: [{ address: '10.1.0.2', port: 80, forwarding: 'route', weight: 1, upperThreshold: 0 }] }] })).toEqual([]);
    // sh-port and flag-2 are one bit; an IPv6 address in another spelling is the same address
    expect(plan([listed(80, [], { scheduler: 'sh', schedulerFlags: ['sh-port'], flags: 0x12 })], { services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'sh', schedulerFlags: ['flag-2'] }] })).toEqual([]);
    expect(plan([listed(80, [], { family: 'inet6', address: '2001:db8::1', netmask: 128 })], { services: [{ protocol: 'tcp', address: '2001:DB8:0::1', port: 80 }] })).toEqual([]);
  });

  it('one change per changed field, with what it was', () => {
    const kernel = [listed(80, [dest('10.1.0.2', { weight: 2 })], { scheduler: 'rr' })];
    const cs = plan(kernel, { services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'wrr', destinations: [{ address: '10.1.0.2', weight: 7 }] }] });
    expect(cs).toEqual([
      expect.objectContaining({ op: 'updateService', fields: ['scheduler'], before: { scheduler: 'rr' } }),
      expect.objectContaining({ op: 'updateDestination', fields: ['weight'], before: { weight: 2 }, destination: expect.objectContaining({ weight: 7, forwarding: 'route', port: 80 }) }),
    ]);
  });

  it('adds in reverse documented order (the kernel puts each add at the head)', () => {
    const mixed = { services: [{ protocol: 'tcp' as const, address: '10.0.0.1', port: 80, destinations: ['10.1.0.10', '2001:db8::1', '10.1.0.9'].map((address) => ({ address, forwarding: 'tunnel' as const })) }] };
    expect(brief(plan([], mixed))).toEqual(['addService', 'addDestination 2001:db8::1', 'addDestination 10.1.0.10', 'addDestination 10.1.0.9']);
  });

  it('a new server that sorts first is one add; one that sorts later re-adds those before its place', () => {
    const kernel = [listed(80, [dest('10.1.0.5'), dest('10.1.0.7')])];
    expect(brief(plan(kernel, svc(['10.1.0.5', '10.1.0.7', '10.1.0.1'])))).toEqual(['addDestination 10.1.0.1']);
    expect(brief(plan(kernel, svc(['10.1.0.5', '10.1.0.7', '10.1.0.6'])))).toEqual(['deleteDestination 10.1.0.5 (why)', 'addDestination 10.1.0.6', 'addDestination 10.1.0.5 (why)']);
    // a kernel order made by hand is left alone without adds, put right with order 'always'
    const byHand = [listed(80, [dest('10.1.0.7'), dest('10.1.0.5')])];
    expect(plan(byHand, svc(['10.1.0.5', '10.1.0.7']))).toEqual([]);
    expect(brief(plan(byHand, svc(['10.1.0.5', '10.1.0.7']), { order: 'always' }))).toEqual(['deleteDestination 10.1.0.5 (why)', 'addDestination 10.1.0.5 (why)']);
  });

  it('drains instead of deleting when asked; leaves drains in progress alone; restores one wanted again', () => {
    const kernel = [listed(80, [dest('10.1.0.2'), dest('10.1.0.3', { weight: 0 })]), listed(81, [dest('10.1.0.2')])];
    const drain = { timeoutSeconds: 30 };
    expect(brief(plan(kernel, svc(['10.1.0.2']), { drain }))).toEqual(['drainDestination 10.1.0.3', 'drainService', 'updateDestination 10.1.0.2 weight (why)']);
    const draining = new Set(['tcp|10.0.0.1|80/10.1.0.3|80', 'tcp|10.0.0.1|81']);
    expect(plan(kernel, svc(['10.1.0.2']), { drain }, draining)).toEqual([]);
    const back = plan(kernel, svc(['10.1.0.2', '10.1.0.3']), { drain }, draining);
    expect(back.filter((c) => c.op !== 'updateService' && c.op !== 'deleteService')).toEqual([expect.objectContaining({ op: 'updateDestination', fields: ['weight'], before: { weight: 0 }, reason: 'wanted again while draining: restored' })]);
    // UDP servers go at once with udpImmediate
    const udp = [listed(53, [dest('10.1.0.2', { port: 53 }), dest('10.1.0.3', { port: 53 })], { protocol: 'udp' })];
    expect(brief(plan(udp, { services: [{ protocol: 'udp', address: '10.0.0.1', port: 53, destinations: [{ address: '10.1.0.2' }] }] }, { drain: { timeoutSeconds: 30, udpImmediate: true } }))).toEqual(['deleteDestination 10.1.0.3']);
  });

  it('never touches what is not owned', () => {
    const kernel = [listed(80, [dest('10.1.0.2')]), listed(80, [], { address: '10.9.0.1' }), listed(0, [], { protocol: undefined, address: undefined, port: undefined, fwmark: 7 })];
    expect(brief(plan(kernel, { services: [] }, { owns: { cidrs: ['10.9.0.0/16'] } }))).toEqual(['deleteService']);
    expect(plan(kernel, { services: [] }, { owns: { cidrs: ['10.9.0.0/16'] } })[0]).toMatchObject({ service: { address: '10.9.0.1' } });
    expect(plan(kernel, { services: [] }, { owns: { fwmarks: [{ from: 7, to: 7 }] } })).toEqual([{ op: 'deleteService', service: { fwmark: 7, family: 'inet' } }]);
    expect(plan(kernel, { services: [] }, { owns: { predicate: () => false } })).toEqual([]);
    expect(() => plan(kernel, { services: [] }, { owns: { cidrs: ['10.0.0.0/33', 'nonsense'] } })).toThrow(StateError);
  });
});

describe('validation', () => {
  const problems = (desired: unknown): string[] => {
    try {
      checkDesired(desired);
      return [];
    } catch (e) {
      return (e as StateError).problems.map((p) => `${p.path}: ${p.message}`);
    }
  };

  it('names every real server listed twice, plain ones and others alike', () => {
    const svc0 = { protocol: 'tcp', address: '10.0.0.1', port: 80 };
    // plain servers only (compared without labels), then a list where a tunnel server comes between
    expect(problems({ services: [{ ...svc0, destinations: [{ address: '10.1.0.2' }, { address: '10.1.0.3' }, { address: '10.1.0.2', port: 80, weight: 3 }] }] })).toEqual([
      'services[0].destinations[2]: real server 10.1.0.2:80 is listed twice (also services[0].destinations[0])',
    ]);
    expect(problems({ services: [{ ...svc0, destinations: [{ address: '10.1.0.2' }, { address: '2001:db8::1', forwarding: 'tunnel' }, { address: '10.1.0.2', forwarding: 'tunnel' }, { address: '2001:DB8::1', forwarding: 'tunnel' }, { address: '10.1.0.2', port: 81 }] }] })).toEqual([
      'services[0].destinations[2]: real server 10.1.0.2:80 is listed twice (also services[0].destinations[0])',
      'services[0].destinations[3]: real server [2001:db8::1]:80 is listed twice (also services[0].destinations[1])',
    ]);
    expect(problems({ services: [{ ...svc0, destinations: [{ address: '10.1.0.2', colour: 'red' }, 7] }] })).toEqual([
      expect.stringMatching(/^services\[0\]\.destinations\[0\]\.colour: unknown setting/),
      expect.stringMatching(/^services\[0\]\.destinations\[1\]: a real server is an object/),
    ]);
  });

  it('names a service listed twice whichever way each is spelled', () => {
    expect(problems({ services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80 }, { protocol: 'tcp', address: '10.0.0.1', port: 80, persistent: 60, netmask: '255.255.255.0' }] })).toEqual([
      'services[1]: virtual service TCP 10.0.0.1:80 is listed twice (also services[0])',
    ]);
    expect(problems({ services: [{ protocol: 'tcp', address: '2001:db8::1', port: 80 }, { protocol: 'tcp', address: '2001:DB8:0::1', port: 80 }, { protocol: 'udp', address: '2001:db8::1', port: 80 }] })).toEqual([
      'services[1]: virtual service TCP [2001:db8::1]:80 is listed twice (also services[0])',
    ]);
    expect(problems({ services: [{ fwmark: 1 }, { fwmark: 1, family: 'inet6' }, { fwmark: 1, scheduler: 'rr' }] })).toEqual([
      'services[2]: virtual service FWM 1 (inet) is listed twice (also services[0])',
    ]);
  });
});

describe('state files', () => {
  it('names file, line and path of every problem, in file order', () => {
    const text = 'services:\n  - protocol: tcp\n    address: 10.0.0.1\n    port: 80\n    weight: 3\n    destinations:\n      - address: 10.1.0.300\n  - { fwmark: 0 }\n';
    const e = (() => {
      try {
        parseStateText(text, 'lb.yaml');
      } catch (x) {
        return x as StateError;
      }
    })()!;
    expect(e.problems.map((p) => `${p.file}:${p.line} ${p.path}`)).toEqual(['lb.yaml:5 services[0].weight', 'lb.yaml:7 services[0].destinations[0].address', 'lb.yaml:8 services[1].fwmark']);
    expect(() => parseStateText('services:\n  - a: 1\n  - a: 1\n    a: 2\n', 'dup.yaml')).toThrow(/dup.yaml:4: .*[Mm]ap keys must be unique/);
    expect(parseStateText('', 'empty.yaml')).toEqual({ services: [] });
  });
});

describe('JSON Schema', () => {
  const schema = JSON.parse(readFileSync(new URL('../../schema/ipvs-state.schema.json', import.meta.url), 'utf8')) as object;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const example = /<!-- state-example -->\n```yaml\n([\s\S]*?)```/.exec(readme)![1]!;

  it('accepts the README example, which the parser accepts too', () => {
    const state = parseStateText(example, 'README.md');
    expect(state.services).toHaveLength(5);
    expect(validate(state), JSON.stringify(validate.errors)).toBe(true);
  });

  it('accepts an export', () => {
    const exported = toDesired(
      [
        listed(80, [dest('10.1.0.3', { forwarding: 'masq', weight: 2, upperThreshold: 9 }), dest('10.1.0.2', { forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } })], { scheduler: 'wrr', persistent: 60, netmask: '255.255.255.0', flags: 3 }),
        listed(0, [dest('2001:db8::2', { port: 0 })], { family: 'inet6', protocol: undefined, address: undefined, port: undefined, fwmark: 5, netmask: 64, schedulerFlags: ['flag-3'], pe: 'sip' }),
      ],
      () => true,
    );
    expect(exported.services[0]).toEqual({ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'wrr', persistent: 60, netmask: '255.255.255.0', destinations: [
      { address: '10.1.0.2', port: 80, forwarding: 'tunnel', weight: 1, tunnel: { type: 'gue', port: 6080, checksum: 'csum' } },
      { address: '10.1.0.3', port: 80, forwarding: 'masq', weight: 2, upperThreshold: 9 },
    ] });
    expect(validate(exported), JSON.stringify(validate.errors)).toBe(true);
    expect(() => checkDesired(exported)).not.toThrow();
  });

  it('refuses what the parser refuses: unknown settings, a key of both kinds', () => {
    expect(validate({ services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, shceduler: 'rr' }] })).toBe(false);
    expect(validate({ services: [{ fwmark: 1, protocol: 'tcp', address: '10.0.0.1', port: 80 }] })).toBe(false);
    expect(validate({ services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, destinations: [{ address: '10.1.0.2', weight: -1 }] }] })).toBe(false);
  });
});

describe('sysctls in a state', () => {
  const plan = planOf;
  /** A stand-in handle: no services, sysctls in a record, every write logged. */
  function fakeHandle(values: Partial<IpvsSysctls>, refuse?: string) {
    const writes: string[] = [];
    const client = {
      writes,
      listServices: async () => [] as Service[],
      batch: () => ({}) as never,
      listDestinations: async () => [],
      deleteDestination: async () => {},
      deleteService: async () => {},
      getSysctls: async () => ({ ...values }),
      setSysctls: async (v: Partial<IpvsSysctls>) => {
        for (const [k, x] of Object.entries(v)) {
          if (k === refuse) throw new IpvsError(`setSysctls: ${k}: the kernel refused it (EINVAL)`, { kind: 'kernel', errno: 22, operation: 'setSysctls', field: k });
          writes.push(`${k}=${JSON.stringify(x)}`);
          (values as Record<string, unknown>)[k] = x;
        }
      },
    };
    return client;
  }
  const kernel = (): Partial<IpvsSysctls> => ({ sloppy_tcp: false, conn_reuse_mode: 1, sync_threshold: { threshold: 3, period: 50 }, expire_nodest_conn: true });

  it('plans one change per sysctl whose kernel value differs (1 is true), none when equal', async () => {
    const h = fakeHandle(kernel());
    const p = await plan(h, { services: [], sysctls: { sloppy_tcp: true, conn_reuse_mode: 1, sync_threshold: { threshold: 3, period: 100 }, expire_nodest_conn: 1 as unknown as boolean } });
    expect(p.changes).toEqual([
      { op: 'setSysctl', sysctl: 'sloppy_tcp', value: true, before: false },
      { op: 'setSysctl', sysctl: 'sync_threshold', value: { threshold: 3, period: 100 }, before: { threshold: 3, period: 50 } },
    ]);
    expect(formatPlan(p.changes)).toBe('~ sysctl net.ipv4.vs.sloppy_tcp: 0 -> 1\n~ sysctl net.ipv4.vs.sync_threshold: 3 50 -> 3 100\n');
    expect((await plan(h, { services: [], sysctls: { sloppy_tcp: false, expire_nodest_conn: 1 as unknown as boolean } })).changes).toEqual([]);
    // a setting this kernel lacks is a change (its write fails with the kernel's word)
    expect(formatPlan((await plan(h, { services: [], sysctls: { pmtu_disc: true } })).changes)).toBe('~ sysctl net.ipv4.vs.pmtu_disc: (not in this kernel) -> 1\n');
    expect(h.writes).toEqual([]);
  });

  it('apply writes them and reports each; the second apply writes nothing; a refused write is its own failure', async () => {
    const h = fakeHandle(kernel());
    const want: DesiredState = { services: [], sysctls: { sloppy_tcp: true, conn_reuse_mode: 0 } };
    const r = await apply(h, want);
    expect(r).toMatchObject({ sent: 2, failed: 0, changes: [{ ok: true, change: { sysctl: 'sloppy_tcp' } }, { ok: true, change: { sysctl: 'conn_reuse_mode' } }] });
    expect(h.writes).toEqual(['sloppy_tcp=true', 'conn_reuse_mode=0']);
    expect(await apply(h, want)).toMatchObject({ sent: 0, failed: 0, changes: [] });
    const bad = fakeHandle(kernel(), 'sloppy_tcp');
    const f = await apply(bad, { services: [], sysctls: { sloppy_tcp: true, conn_reuse_mode: 2 } });
    expect(f).toMatchObject({ sent: 1, failed: 1 });
    expect(formatFailure(f.changes[0]!)).toBe('failed: ~ sysctl net.ipv4.vs.sloppy_tcp: 0 -> 1: setSysctls: sloppy_tcp: the kernel refused it (EINVAL)');
    expect(bad.writes).toEqual(['conn_reuse_mode=2']);
  });

  it('a snapshot with sysctls names them all, and planning it changes nothing; a client without sysctl methods refuses a state with some', async () => {
    const h = fakeHandle(kernel());
    const s = await snapshot(h, { sysctls: true });
    expect(s).toEqual({ sysctls: kernel(), services: [] });
    expect(await snapshot(h)).toEqual({ services: [] });
    expect((await plan(h, s)).changes).toEqual([]);
    const { getSysctls: _g, setSysctls: _s, ...bare } = h;
    await expect(plan(bare, s)).rejects.toMatchObject({ field: 'sysctls', message: expect.stringMatching(/Ipvs handle/) });
    expect((await plan(bare, { services: [] })).changes).toEqual([]);
  });
});
