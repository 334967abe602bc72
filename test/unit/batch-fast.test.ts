// The batches' fast lane (src/ipvs/fast.ts) against the general path: for
// any input, either the fast lane declines, or the general path accepts the
// input and encodes exactly the same bytes. And whatever the general path
// refuses, the fast lane declines (so the refusal is worded as usual).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeGenl } from '../../src/genetlink/genl.js';
import { ByteWriter } from '../../src/netlink/attributes.js';
import { NLM_F_ACK, NLM_F_REQUEST } from '../../src/netlink/constants.js';
import { encodeDestination, encodeDestinationKey, encodeService, encodeServiceKey } from '../../src/ipvs/codec.js';
import { Cmd, IPVS_GENL_VERSION } from '../../src/ipvs/constants.js';
import { NOT_IPV4, ipv4 } from '../../src/ipvs/address.js';
import { writeAddDestination, writeAddService, writeDeleteDestination, writeDeleteService, writeDumpDestinations } from '../../src/ipvs/fast.js';
import * as req from '../../src/ipvs/requests.js';
import type { DestinationSpec, ServiceSpec } from '../../src/ipvs/types.js';
import { checkDestination, checkDestinationKey, checkService, checkServiceKey } from '../../src/ipvs/validate.js';
import { isIPv4 } from 'node:net';
import { parseAddress } from '../../src/ipvs/address.js';
import { canonicalDesired, destSpec as stateDestSpec, keyOfDesired, serviceSpec as stateServiceSpec } from '../../src/state/desired.js';

const FAMILY = 0x1c;
const ACKED = NLM_F_REQUEST | NLM_F_ACK;

const address = fc.oneof(
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.')),
  fc.constantFrom('10.0.0.1', '0.0.0.0', '255.255.255.255', '010.0.0.1', '10.0.0.256', '10.0.0', '10.0.0.1.2', ' 10.0.0.1', '10.0.0.1 ', '::1', '2001:db8::5', '::ffff:10.0.0.1', '', 'ten'),
  fc.constantFrom(undefined, null, 7, {}),
);
const port = fc.oneof(fc.integer({ min: -2, max: 70000 }), fc.constantFrom(undefined, 1.5, '80', NaN, 65535, 0));
const protocol = fc.constantFrom('tcp', 'udp', 'sctp', 'TCP', 'icmp', 'toString', undefined, 6);
const serviceSpec = fc.record(
  {
    protocol,
    address,
    port,
    fwmark: fc.constantFrom(undefined, 5),
    scheduler: fc.constantFrom(undefined, 'wlc', 'rr', 'sh', 'mh', 'my_sched-2', '', 'x'.repeat(15), 'x'.repeat(16), 'a b', 'é', 5),
    persistent: fc.constantFrom(undefined, true, false, 0, 1, 360, 2678400, 2678401, 1.5, '3', -1),
    onePacket: fc.constantFrom(undefined, true, false, 'yes'),
    schedulerFlags: fc.constantFrom(undefined, [], ['sh-port'], ['nope']),
    netmask: fc.constantFrom(undefined, 24, 32, '255.255.255.0', '255.255.255.255'),
    pe: fc.constantFrom(undefined, '', 'sip'),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<ServiceSpec>;
const destSpec = fc.record(
  {
    address,
    port,
    forwarding: fc.constantFrom(undefined, 'masq', 'route', 'tunnel', 'local', 'bypass', 'nat', 'toString'),
    weight: fc.constantFrom(undefined, 0, 1, 7, 2147483647, 2147483648, -1, 1.5),
    upperThreshold: fc.constantFrom(undefined, 0, 5, 10, 4294967295, 4294967296, -1),
    lowerThreshold: fc.constantFrom(undefined, 0, 5, 10, 4294967295, -1),
    tunnel: fc.constantFrom(undefined, { type: 'ipip' as const }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<DestinationSpec>;

// Inputs the fast lane takes, mostly, mixed with everything above.
const quad = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const plainService = fc.record(
  {
    protocol: fc.constantFrom('tcp', 'udp', 'sctp'),
    address: quad,
    port: fc.integer({ min: 0, max: 65535 }),
    scheduler: fc.constantFrom(undefined, 'wlc', 'rr', 'mh', 'x'.repeat(15)),
    persistent: fc.constantFrom(undefined, true, false, 0, 1, 2678400),
    onePacket: fc.constantFrom(undefined, true, false),
    schedulerFlags: fc.constantFrom(undefined, []),
    netmask: fc.constantFrom(undefined, 32, '255.255.255.255'),
    pe: fc.constantFrom(undefined, ''),
  },
  { requiredKeys: ['protocol', 'address', 'port'] },
) as fc.Arbitrary<ServiceSpec>;
const plainDest = fc.record(
  {
    address: quad,
    port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
    forwarding: fc.constantFrom(undefined, 'masq', 'route', 'tunnel', 'local', 'bypass'),
    weight: fc.option(fc.integer({ min: 0, max: 2147483647 }), { nil: undefined }),
    upperThreshold: fc.constantFrom(undefined, 0, 10, 4294967295),
    lowerThreshold: fc.constantFrom(undefined, 0, 5, 10),
  },
  { requiredKeys: ['address'] },
) as fc.Arbitrary<DestinationSpec>;
const anyService = fc.oneof(plainService, serviceSpec);
const anyDest = fc.oneof(plainDest, destSpec);

/** The fast lane's bytes, or undefined when it declines (and then it must have written nothing). */
function fast(write: (w: ByteWriter) => boolean): Uint8Array | undefined {
  const w = new ByteWriter(16);
  const wrote = write(w);
  if (!wrote) {
    expect(w.length).toBe(0);
    return undefined;
  }
  return Uint8Array.from(w.buf.subarray(0, w.length));
}

/** The general path's bytes, or the error it refuses with. */
function general(build: () => Uint8Array): Uint8Array | Error {
  try {
    return build();
  } catch (e) {
    return e as Error;
  }
}

function same(f: Uint8Array | undefined, g: Uint8Array | Error): void {
  if (g instanceof Error) {
    expect(f, `fast lane accepted what the general path refuses: ${g.message}`).toBeUndefined();
    return;
  }
  if (f) expect(Array.from(f)).toEqual(Array.from(g));
}

describe('the fast lane of batches', () => {
  it('reads dotted quads exactly as the general path does', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.stringMatching(/^[0-9.]{0,16}$/), fc.string({ maxLength: 16 })), (text) => {
        const n = ipv4(text);
        expect(n !== NOT_IPV4).toBe(isIPv4(text));
        if (n === NOT_IPV4) return;
        // a signed 32-bit integer (V8 keeps those unboxed), the address's bits
        expect(n).toBe(n | 0);
        expect([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')).toBe(text);
      }),
      { numRuns: 3000 },
    );
  });

  it('parses dotted quads by hand exactly as isIPv4 accepts them (address.ts)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.stringMatching(/^[0-9.]{0,16}$/), fc.string({ maxLength: 16 })), (text) => {
        const p = parseAddress(text);
        if (isIPv4(text)) expect(p && Array.from(p.bytes).join('.')).toBe(text);
        else expect(p?.family).not.toBe('inet');
      }),
      { numRuns: 3000 },
    );
  });

  it('adds services with exactly the general path bytes, or declines', () => {
    let taken = 0;
    fc.assert(
      fc.property(anyService, (spec) => {
        const f = fast((w) => writeAddService(w, FAMILY, spec, ACKED));
        if (f) taken++;
        same(f, general(() => encodeGenl(FAMILY, Cmd.NEW_SERVICE, IPVS_GENL_VERSION, false, (e) => encodeService(e, checkService('addService', spec)))));
      }),
      { numRuns: 4000 },
    );
    expect(taken).toBeGreaterThan(500);
  });

  it('deletes services with exactly the general path bytes, or declines', () => {
    fc.assert(
      fc.property(anyService, (key) => {
        same(
          fast((w) => writeDeleteService(w, FAMILY, key, ACKED)),
          general(() => encodeGenl(FAMILY, Cmd.DEL_SERVICE, IPVS_GENL_VERSION, false, (e) => encodeServiceKey(e, checkServiceKey('deleteService', key)))),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('adds and deletes real servers with exactly the general path bytes, or declines', () => {
    let taken = 0;
    fc.assert(
      fc.property(anyService, anyDest, (key, dest) => {
        const f = fast((w) => writeAddDestination(w, FAMILY, key, dest, ACKED));
        if (f) taken++;
        same(
          f,
          general(() => {
            const k = checkServiceKey('addDestination', key);
            const d = checkDestination('addDestination', k, dest);
            return encodeGenl(FAMILY, Cmd.NEW_DEST, IPVS_GENL_VERSION, false, (e) => {
              encodeServiceKey(e, k);
              encodeDestination(e, d);
            });
          }),
        );
        same(
          fast((w) => writeDeleteDestination(w, FAMILY, key, dest, ACKED)),
          general(() => {
            const k = checkServiceKey('deleteDestination', key);
            const d = checkDestinationKey('deleteDestination', k, dest);
            return encodeGenl(FAMILY, Cmd.DEL_DEST, IPVS_GENL_VERSION, false, (e) => {
              encodeServiceKey(e, k);
              encodeDestinationKey(e, d);
            });
          }),
        );
      }),
      { numRuns: 4000 },
    );
    expect(taken).toBeGreaterThan(500);
  });

  it('asks for the real servers of a service (listings) with exactly the general path bytes, or declines', () => {
    fc.assert(
      fc.property(anyService, (key) => {
        const f = fast((w) => writeDumpDestinations(w, FAMILY, key));
        const g = general(() => encodeGenl(FAMILY, Cmd.GET_DEST, IPVS_GENL_VERSION, true, (e) => encodeServiceKey(e, checkServiceKey('listDestinations', key))));
        same(f, g);
        if (g instanceof Error) return;
        const r = req.listDestinationsOf(FAMILY, key);
        expect(Array.from(r.message)).toEqual(Array.from(g));
        expect(r.dump).toBe(true);
        expect(r.replyless).toBeFalsy();
      }),
      { numRuns: 1500 },
    );
  });

  it('leaves the ack to the connection when asked for default flags', () => {
    const w = new ByteWriter(16);
    expect(writeAddService(w, FAMILY, { protocol: 'tcp', address: '10.0.0.1', port: 80 })).toBe(true);
    expect(new DataView(w.buf.buffer, w.buf.byteOffset).getUint16(6, true)).toBe(NLM_F_REQUEST);
  });

  it('takes the services ipvs -R makes (every default spelled out)', () => {
    const w = new ByteWriter(16);
    const spec: ServiceSpec = { protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'wlc', schedulerFlags: [], persistent: false, netmask: '255.255.255.255', onePacket: false, pe: '' };
    expect(writeAddService(w, FAMILY, spec)).toBe(true);
    expect(writeAddService(new ByteWriter(16), FAMILY, { ...spec, netmask: '255.255.255.0' })).toBe(false);
  });

  it("takes apply's adds, as the caller wrote them and spelled out, with the general path's bytes", () => {
    // (apply from empty is the bench:state row "apply from empty": its adds must not fall back)
    const desired = { protocol: 'tcp' as const, address: '10.0.0.1', port: 80, scheduler: 'wlc', destinations: [{ address: '10.1.0.2', forwarding: 'masq' as const, weight: 1 }] };
    const n = canonicalDesired(desired);
    expect(n).toBe(desired); // (canonical already: sent as it is)
    for (const svc of [n, stateServiceSpec(n)]) {
      const w = new ByteWriter(16);
      expect(writeAddService(w, FAMILY, svc, ACKED)).toBe(true);
      expect(Array.from(w.buf.subarray(0, w.length))).toEqual(Array.from(req.addService(FAMILY, stateServiceSpec(n)).message));
    }
    for (const [key, d] of [[n, desired.destinations[0]!], [keyOfDesired(n), stateDestSpec(desired.destinations[0]!, 80)]] as const) {
      const v = new ByteWriter(16);
      expect(writeAddDestination(v, FAMILY, key, d, ACKED)).toBe(true);
      expect(Array.from(v.buf.subarray(0, v.length))).toEqual(Array.from(req.addDestination(FAMILY, keyOfDesired(n), stateDestSpec(desired.destinations[0]!, 80)).message));
    }
  });

  it('single calls take the lane too, with the same message as before', () => {
    const spec: ServiceSpec = { protocol: 'udp', address: '192.0.2.7', port: 53, scheduler: 'sh', persistent: 600 };
    const r = req.addService(FAMILY, spec);
    const g = encodeGenl(FAMILY, Cmd.NEW_SERVICE, IPVS_GENL_VERSION, false, (e) => encodeService(e, checkService('addService', spec)));
    expect(Array.from(r.message)).toEqual(Array.from(g));
    expect(r.replyless).toBe(true);
    // a refusal is worded by the general path
    const e = r.describe!({ errno: 17 }, 5);
    expect(e.message).toBe('virtual service UDP 192.0.2.7:53 already exists');
  });
});
