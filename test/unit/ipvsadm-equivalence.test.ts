// Our requests against what ipvsadm 1.31 sent the kernel for the same job
// (captured in the test kernel, test/fixtures/kernel/*.txt): same command,
// same attributes with the same values. Attribute order is free in netlink;
// seq and pid differ per run. Deliberate differences, each checked:
//
// - Dumps: ipvsadm sets NLM_F_ACK on dump requests too; we do not, as
//   NLMSG_DONE already ends a dump.
// - Service keys: where only the key matters (destinations, delete, get,
//   zero), ipvsadm sends a whole service entry with an empty scheduler name,
//   flags, timeout and netmask; the kernel parses the key alone there
//   (ip_vs_genl_parse_service with full_entry false). We send the key.
// - Destination keys: to delete a real server ipvsadm sends the whole entry
//   (forwarding, weight, thresholds, tunnel); the kernel reads address,
//   port and family only. We send those.
// - Tunnel attributes: ipvsadm sends TUN_TYPE/TUN_PORT/TUN_FLAGS as zeros
//   for every real server; we send them only with tunnel settings, and the
//   kernel's defaults are those same zeros (ipip, no port, no checksum).
// - Stopping a daemon: ipvsadm adds an empty interface name and sync id 0;
//   the kernel reads the state alone. We send the state.
import { describe, expect, it } from 'vitest';
import * as requests from '../../src/ipvs/requests.js';
import { checkServiceKey } from '../../src/ipvs/validate.js';
import type { Request } from '../../src/netlink/connection.js';
import { type Fixture, ipvsFamilyId, loadFixture, sent, withoutSeqPid } from './support/fixtures.js';
import { type Node, sorted, tree } from './support/wire.js';

interface Differences {
  /** ipvsadm sent the whole service entry where the key is enough. */
  serviceKeyOnly?: boolean;
  /** ipvsadm sent the whole destination entry where the key is enough. */
  destKeyOnly?: boolean;
  /** ipvsadm sent zero tunnel attributes we leave out. */
  zeroTunnel?: boolean;
  /** ipvsadm sent an empty interface and sync id 0 with the state. */
  daemonStateOnly?: boolean;
}

const ACK = 0x04;
const DUMP = 0x300;

/** ipvsadm's IPVS request with genl command `cmd` (the first, or the `nth`). */
function ipvsadmRequest(f: Fixture, cmd: number, nth = 0): Uint8Array {
  const id = ipvsFamilyId(f);
  const found = sent(f).filter((b) => (b[4]! | (b[5]! << 8)) === id && b[16] === cmd);
  if (!found[nth]) throw new Error(`${f.name}: no request with command ${cmd}`);
  return found[nth]!;
}

const leaf = (nodes: Node[] | undefined, type: number): number[] | undefined => nodes?.find((n) => n.type === type)?.payload;

/** Removes what ipvsadm sends and we deliberately do not, after checking it is the "nothing" value. */
function normalise(attrs: Node[], d: Differences): Node[] {
  return attrs.map((n) => {
    if (!n.children) return n;
    let children = n.children;
    const drop = (types: number[]) => {
      children = children.filter((c) => !types.includes(c.type));
    };
    if (n.type === 1 && d.serviceKeyOnly) {
      expect(leaf(children, 6), 'empty scheduler name').toEqual([0]);
      expect(leaf(children, 8), 'timeout 0').toEqual([0, 0, 0, 0]);
      drop([6, 7, 8, 9]);
    }
    if (n.type === 2 && d.destKeyOnly) drop([3, 4, 5, 6, 13, 14, 15]);
    if (n.type === 2 && d.zeroTunnel) {
      expect(leaf(children, 13), 'TUN_TYPE ipip').toEqual([0]);
      expect(leaf(children, 14), 'TUN_PORT 0').toEqual([0, 0]);
      expect(leaf(children, 15), 'TUN_FLAGS 0').toEqual([0, 0]);
      drop([13, 14, 15]);
    }
    if (n.type === 3 && d.daemonStateOnly) {
      expect(leaf(children, 2), 'empty interface').toEqual([0]);
      expect(leaf(children, 3), 'sync id 0').toEqual([0, 0, 0, 0]);
      drop([2, 3]);
    }
    return { ...n, children };
  });
}

function same(fixture: string, ours: (family: number) => Request, d: Differences = {}, nth = 0): void {
  const f = loadFixture(fixture);
  const family = ipvsFamilyId(f);
  const req = ours(family);
  const mine = req.message;
  const theirs = ipvsadmRequest(f, mine[16]!, nth);
  // Header: family id, command, version; flags but for the dump's ack.
  expect(mine[4]! | (mine[5]! << 8)).toBe(family);
  expect(mine[17]).toBe(theirs[17]);
  const theirFlags = theirs[6]! | (theirs[7]! << 8);
  const myFlags = mine[6]! | (mine[7]! << 8);
  if (req.dump) {
    expect(theirFlags & DUMP).toBe(DUMP);
    expect(myFlags).toBe(theirFlags & ~ACK);
  } else {
    expect(myFlags).toBe(theirFlags);
  }
  // Attributes, as sorted trees.
  expect(sorted(tree(mine.subarray(20)))).toEqual(sorted(normalise(tree(theirs.subarray(20)), d)));
}

const tcp80 = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
const udp6 = { protocol: 'udp', address: '2001:db8::1', port: 53 } as const;

describe('our requests are equivalent to what ipvsadm sends', () => {
  it('adds a TCP service byte for byte like ipvsadm -A -t 10.0.0.1:80 -s rr', () => {
    const f = loadFixture('service-add-tcp4');
    const ours = requests.addService(ipvsFamilyId(f), { ...tcp80, scheduler: 'rr' }).message;
    expect([...ours]).toEqual([...withoutSeqPid(sent(f)[0]!)]);
  });

  it('services', () => {
    same('service-add-udp6', (fam) =>
      requests.addService(fam, { ...udp6, scheduler: 'sh', schedulerFlags: ['sh-fallback', 'sh-port'], persistent: 600, netmask: 64 }));
    same('service-add-fwmark', (fam) => requests.addService(fam, { fwmark: 7, scheduler: 'wlc', persistent: true, netmask: '255.255.255.0' }));
    same('service-add-fwmark6', (fam) => requests.addService(fam, { fwmark: 8, family: 'inet6', scheduler: 'mh', schedulerFlags: ['mh-port'] }));
    same('service-add-sctp', (fam) => requests.addService(fam, { protocol: 'sctp', address: '10.0.0.3', port: 3868, scheduler: 'lc' }));
    same('service-add-udp-ops', (fam) => requests.addService(fam, { protocol: 'udp', address: '10.0.0.5', port: 53, scheduler: 'nq', onePacket: true }));
    same('service-add-pe', (fam) =>
      requests.addService(fam, { protocol: 'udp', address: '10.0.0.2', port: 5060, scheduler: 'rr', persistent: 60, pe: 'sip' }));
    same('service-edit', (fam) => requests.updateService(fam, { ...tcp80, scheduler: 'wrr', persistent: 120, netmask: '255.255.0.0' }));
    same('error-service-exists', (fam) => requests.addService(fam, { ...tcp80, scheduler: 'rr' }));
    same('error-scheduler-unknown', (fam) => requests.addService(fam, { protocol: 'tcp', address: '10.0.0.9', port: 80, scheduler: 'nosuchsched' }));
    same('service-delete', (fam) => requests.deleteService(fam, { protocol: 'udp', address: '10.0.0.2', port: 5060 }), { serviceKeyOnly: true });
    same('error-service-missing', (fam) => requests.deleteService(fam, { protocol: 'tcp', address: '10.9.9.9', port: 1 }), { serviceKeyOnly: true });
    same('info', (fam) => requests.getService(fam, { protocol: 'udp', address: '10.0.0.2', port: 5060 }), { serviceKeyOnly: true });
  });

  it('destinations', () => {
    const d = { serviceKeyOnly: true, zeroTunnel: true };
    same('dest-add-masq', (fam) =>
      requests.addDestination(fam, tcp80, { address: '10.1.0.2', port: 8080, forwarding: 'masq', weight: 2, upperThreshold: 100, lowerThreshold: 10 }), d);
    same('dest-add-route6', (fam) => requests.addDestination(fam, udp6, { address: '2001:db8::10', port: 53, forwarding: 'route', weight: 5 }), d);
    // ipvsadm -i without --tun-type: plain ipip, i.e. the zero tunnel attributes.
    same('dest-add-mixed', (fam) => requests.addDestination(fam, tcp80, { address: '2001:db8::20', port: 80, forwarding: 'tunnel', weight: 1 }), d);
    same('dest-add-gue', (fam) =>
      requests.addDestination(fam, tcp80, { address: '10.0.0.3', port: 80, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'remcsum' } }),
      { serviceKeyOnly: true });
    same('dest-add-gre', (fam) =>
      requests.addDestination(fam, tcp80, { address: '10.0.0.4', forwarding: 'tunnel', weight: 3, tunnel: { type: 'gre', checksum: 'csum' } }),
      { serviceKeyOnly: true });
    same('dest-edit', (fam) =>
      requests.updateDestination(fam, tcp80, { address: '10.0.0.3', port: 80, forwarding: 'tunnel', weight: 0, tunnel: { type: 'gue', port: 6081, checksum: 'csum' } }),
      { serviceKeyOnly: true });
    same('dest-delete', (fam) => requests.deleteDestination(fam, tcp80, { address: '10.0.0.4' }), { serviceKeyOnly: true, destKeyOnly: true });
    same('error-dest-missing', (fam) => requests.deleteDestination(fam, tcp80, { address: '10.9.9.9', port: 1 }), { serviceKeyOnly: true, destKeyOnly: true });
  });

  it('listings', () => {
    same('list', (fam) => requests.listServices(fam));
    // ipvsadm -L asks for the real servers of each service in turn; the first is TCP 10.0.0.1:80.
    same('list', (fam) => requests.listDestinations(fam, checkServiceKey('listDestinations', tcp80)));
    same('list-dests-udp6', (fam) => requests.listDestinations(fam, checkServiceKey('listDestinations', udp6)));
    same('info', (fam) => requests.info(fam));
  });

  it('zero, flush, timeouts', () => {
    same('zero-all', (fam) => requests.zero(fam));
    same('zero-service', (fam) => requests.zero(fam, tcp80), { serviceKeyOnly: true });
    same('flush', (fam) => requests.flush(fam));
    same('timeouts-set', (fam) => requests.setTimeouts(fam, { tcp: 900, tcpFin: 120, udp: 300 }));
    same('timeouts-get', (fam) => requests.getTimeouts(fam));
  });

  it('sync daemons', () => {
    same('daemon-start-master', (fam) =>
      requests.startDaemon(fam, { state: 'master', interface: 'veth0', syncId: 5, syncMaxLen: 1400, mcastGroup: '239.1.2.3', mcastPort: 8849, mcastTtl: 2 }));
    same('daemon-start-backup6', (fam) => requests.startDaemon(fam, { state: 'backup', interface: 'veth0', syncId: 6, mcastGroup: 'ff15::81' }));
    same('daemon-stop', (fam) => requests.stopDaemon(fam, 'master'), { daemonStateOnly: true });
    same('daemon-list', (fam) => requests.listDaemons(fam));
  });
});
