// Batches against a scripted fake kernel: one result per operation, in
// order; refusals worded; stopOnError sends nothing after a failure; big
// batches go out in bounded sends.
import { describe, expect, it } from 'vitest';
import { Batch, type BatchTarget } from '../../src/batch.js';
import { Connection } from '../../src/netlink/connection.js';
import type { ServiceSpec } from '../../src/ipvs/types.js';
import { type FakeSocket, type SentMessage, defaultRespond, errorMessage, fakeNative } from '../helpers/fake-netlink.js';

const FAMILY = 0x1c;

/** The service port of an IPv4-keyed IPVS request (the SERVICE nest comes first). */
function servicePort(m: SentMessage): number {
  const v = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  // genl header 4, nest 4, AF 8, PROTOCOL 8, ADDR 20, then PORT's header 4
  return v.getUint16(4 + 4 + 8 + 8 + 20 + 4, false);
}

/** A fake kernel that refuses changes to services on port 81 with EEXIST. */
function setup(maxSendMessages?: number): { target: BatchTarget; fake: FakeSocket; conn: Connection } {
  const native = fakeNative({
    respond: (m, f) => {
      const cmd = m.payload[0];
      const ipv4 = m.payload.length >= 52 && new DataView(m.payload.buffer, m.payload.byteOffset).getUint16(12, true) === 2;
      if (cmd !== undefined && cmd <= 7 && ipv4 && servicePort(m) === 81) f.reply(errorMessage(m.seq, 17));
      else defaultRespond(m, f);
    },
  });
  const conn = new Connection({ protocol: 16, native, ...(maxSendMessages ? { maxSendMessages } : {}) });
  const target: BatchTarget = {
    familyId: FAMILY,
    feed: (s) => conn.feed(s),
    submit: (r, settle) => conn.submit(r, settle),
    listServices: async () => [],
  };
  return { target, fake: native.sockets[0]!, conn };
}

const svc = (address: string, port = 80): ServiceSpec => ({ protocol: 'tcp', address, port, scheduler: 'rr' });

describe('Batch', () => {
  it('returns one result per operation, in order, whatever path each took', async () => {
    const { target, conn } = setup();
    const b = new Batch(target)
      .addService(svc('10.0.0.1'))
      .addDestination(svc('10.0.0.1'), { address: '10.1.0.1', forwarding: 'masq' })
      .addService(svc('2001:db8::1')) // general path
      .addService(svc('10.0.0.2', 81)) // refused by the kernel
      .addDestination(svc('10.0.0.1'), { address: '10.1.0.300' }) // bad input
      .addDestination(svc('10.0.0.1'), { address: '10.1.0.2', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } })
      .deleteDestination(svc('10.0.0.1'), { address: '10.1.0.1' })
      .deleteService(svc('10.0.0.2', 81)); // refused too
    expect(b.size).toBe(8);
    const r = await b.run();
    expect(b.size).toBe(0);
    expect(r.map((x) => x.operation)).toEqual([
      'addService', 'addDestination', 'addService', 'addService', 'addDestination', 'addDestination', 'deleteDestination', 'deleteService',
    ]);
    expect(r.map((x) => x.ok)).toEqual([true, true, true, false, false, true, true, false]);
    const refused = r[3] as { error: { code: string; message: string; kind: string } };
    expect(refused.error.code).toBe('EEXIST');
    expect(refused.error.kind).toBe('kernel');
    expect(refused.error.message).toBe('virtual service TCP 10.0.0.2:81 already exists');
    const bad = r[4] as { error: { code: string; field?: string } };
    expect(bad.error).toMatchObject({ code: 'EINVAL', field: 'address' });
    expect((r[7] as { error: { code: string } }).error.code).toBe('EEXIST');
    conn.close();
  });

  it('with stopOnError, sends nothing after the first failure', async () => {
    const { target, fake, conn } = setup();
    const r = await new Batch(target, { stopOnError: true })
      .addService(svc('10.0.0.1'))
      .addService(svc('10.0.0.2', 81))
      .addService(svc('10.0.0.3'))
      .addDestination(svc('10.0.0.3'), { address: '10.1.0.1' })
      .run();
    expect(r.map((x) => (x.ok ? 'ok' : 'skipped' in x ? 'skipped' : (x as { error: { code: string } }).error.code))).toEqual(['ok', 'EEXIST', 'skipped', 'skipped']);
    expect(fake.sent).toHaveLength(2);
    conn.close();
  });

  it('with stopOnError, bad input stops the batch before anything after it is sent', async () => {
    const { target, fake, conn } = setup();
    const r = await new Batch(target, { stopOnError: true })
      .addService(svc('10.0.0.1'))
      .addService({ protocol: 'tcp', address: 'nope', port: 80 })
      .addService(svc('10.0.0.3'))
      .run();
    expect(r.map((x) => x.ok)).toEqual([true, false, false]);
    expect((r[1] as { error: { field?: string } }).error.field).toBe('address');
    expect('skipped' in r[2]!).toBe(true);
    expect(fake.sent).toHaveLength(1);
    conn.close();
  });

  it('a failed operation never hides the others: many failures among many successes', async () => {
    const { target, conn } = setup();
    const b = new Batch(target);
    for (let i = 0; i < 1000; i++) b.addService(svc(`10.${i >> 8}.${i & 255}.1`, i % 7 === 0 ? 81 : 80));
    const r = await b.run();
    expect(r).toHaveLength(1000);
    r.forEach((x, i) => expect(x.ok).toBe(i % 7 !== 0));
    conn.close();
  });

  it('goes out in bounded sends, with turns of the event loop in between', async () => {
    const { target, fake, conn } = setup(64);
    const b = new Batch(target);
    for (let i = 0; i < 3000; i++) b.addService(svc(`10.${i >> 8}.${i & 255}.2`));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const r = await b.run();
    clearInterval(timer);
    expect(r.every((x) => x.ok)).toBe(true);
    expect(fake.sends.length).toBeGreaterThanOrEqual(3000 / 64);
    expect(ticks).toBeGreaterThan(0);
    // one ack per send, none for the rest
    expect(fake.sent.filter((m) => m.flags & 4).length).toBe(fake.sends.length);
    conn.close();
  });

  it('an empty batch resolves at once', async () => {
    const { target, fake, conn } = setup();
    expect(await new Batch(target).run()).toEqual([]);
    expect(fake.sends).toHaveLength(0);
    conn.close();
  });
});
