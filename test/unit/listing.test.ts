// The destination dumps of a listing (src/listing.ts): one request object
// serves every service, so writing it again (a send rebuilt when it did not
// fit) must write the same service's dump, and only a dump's end moves on.
import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/netlink/attributes.js';
import type { Connection, RequestSource } from '../../src/netlink/connection.js';
import { DestinationDumps } from '../../src/listing.js';
import type { Service } from '../../src/ipvs/types.js';

const FAMILY = 0x1c;
const service = (i: number, extra: Partial<Service> = {}): Service =>
  ({ family: 'inet', protocol: 'tcp', address: `10.0.0.${i}`, port: 80, ...extra }) as Service;

/** Runs the dumps against a stand-in connection that hands back their feed. */
function start(services: Service[]): { dumps: DestinationDumps; source: RequestSource; done: Promise<void> } {
  let source: RequestSource | undefined;
  const conn = { feed: (s: RequestSource) => void (source = s) } as unknown as Connection;
  const dumps = new DestinationDumps(FAMILY, services);
  const done = dumps.run(conn);
  return { dumps, source: source!, done };
}

const written = (dumps: DestinationDumps): string => {
  const w = new ByteWriter(256);
  dumps.encode(w);
  return w.bytes().toString('hex');
};

describe('destination dumps', () => {
  it('writes the same dump when written again, and the next one only after a dump ended', async () => {
    const services = [service(1), service(2), service(3, { family: 'inet6', address: '2001:db8::3' }), { family: 'inet', fwmark: 7 } as Service];
    const { dumps, source, done } = start(services);
    const seen: string[] = [];
    for (let i = 0; i < services.length; i++) {
      expect(source.next()).toBe(dumps);
      const first = written(dumps);
      // the send did not fit and is rebuilt: the same bytes again
      expect(written(dumps)).toBe(first);
      expect(services[i]!.destinations).toEqual([]);
      seen.push(first);
      source.settle(i, null, []);
    }
    expect(source.next()).toBeUndefined();
    await done;
    // four different dumps, each naming its own service (IPv4 fast lane; IPv6 and fwmark general path)
    expect(new Set(seen).size).toBe(4);
    expect(seen[0]).toContain(Buffer.from([10, 0, 0, 1]).toString('hex'));
    expect(seen[1]).toContain(Buffer.from([10, 0, 0, 2]).toString('hex'));
    expect(seen[2]).toContain('20010db8000000000000000000000003');
  });

  it('stops handing out dumps after a failure and reports it', async () => {
    const { source, done } = start([service(1), service(2)]);
    source.next();
    const err = new Error('refused') as never;
    source.settle(0, err, []);
    expect(source.next()).toBeUndefined();
    await expect(done).rejects.toBe(err);
  });
});
