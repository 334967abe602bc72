// Staged changes (src/staged.ts) over the pipelining connection, against a
// scripted fake socket: one feed per run of staged calls, one ack per send,
// each call its own outcome, order kept with other requests.
import { describe, expect, it } from 'vitest';
import { IpvsError } from '../../src/errors.js';
import { Connection, type Request } from '../../src/netlink/connection.js';
import { NLM_F_REQUEST } from '../../src/netlink/constants.js';
import type { NetlinkStatus } from '../../src/netlink/message.js';
import { StagedChanges, type StagedKind } from '../../src/staged.js';
import {
  NLM_F_ACK,
  type FakeOptions,
  type FakeSocket,
  type SentMessage,
  defaultRespond,
  errorMessage,
  fakeNative,
} from '../helpers/fake-netlink.js';
import { change, message, read, refuseTag2, tagOf } from '../helpers/tagged-requests.js';


/** A connection with its staged changes (as the client keeps them). */
type Staged = Connection & { staging: StagedChanges };
function open(opts: FakeOptions = {}, conn: Partial<ConstructorParameters<typeof Connection>[0]> = {}): { c: Staged; fake: FakeSocket } {
  const native = fakeNative(opts);
  const c = new Connection({ protocol: 16, native, ...conn }) as Staged;
  c.staging = new StagedChanges(c);
  return { c, fake: native.sockets[0]! };
}

const settled = <T>(p: Promise<T>) => p.then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e: e as IpvsError }));

describe('staged changes', () => {
  /** A staged change: its bytes appended to the staging buffer, no ack flag. */
  const refused = (op: string) => new IpvsError(`${op} refused`, { kind: 'kernel', errno: 1, operation: op });
  const stage = (c: Staged, tag: number, explain: (op: string, status: NetlinkStatus, seq: number, a: unknown) => IpvsError = refused) => {
    const b = message(tag, NLM_F_REQUEST);
    const w = c.staging.writer();
    const at = w.reserve(b.length);
    w.buf.set(b, at);
    const operation = `staged${tag}`;
    const kind: StagedKind = { operation, explain: (status, seq, a) => explain(operation, status, seq, a) };
    return c.staging.queue(kind, tag, undefined);
  };

  it('sends staged changes of one turn in one send with one ack, and settles each', async () => {
    const { c, fake } = open();
    await Promise.all([1, 2, 3, 4].map((t) => stage(c, t)));
    expect(fake.sends).toHaveLength(1);
    expect(fake.sent.map(tagOf)).toEqual([1, 2, 3, 4]);
    expect(fake.sent.map((m) => (m.flags & NLM_F_ACK ? 'ack' : '-'))).toEqual(['-', '-', '-', 'ack']);
    c.close();
  });

  it('keeps the order of staged changes and other requests made between them', async () => {
    const { c, fake } = open();
    await Promise.all([stage(c, 1), c.requestVoid(change(2)), stage(c, 3), stage(c, 4), c.request(read(5)), stage(c, 6)]);
    expect(fake.sent.map(tagOf)).toEqual([1, 2, 3, 4, 5, 6]);
    c.close();
  });

  it('words a refusal with the caller\'s explain, and the others succeed', async () => {
    const { c } = open({ respond: refuseTag2 });
    const explain = (op: string, status: { errno: number; message?: string }, _seq: number, a: unknown) =>
      new IpvsError(`${op} of ${String(a)}: ${status.message}`, { kind: 'kernel', errno: status.errno, operation: op });
    const out = await Promise.all([1, 2, 3].map((t) => settled(stage(c, t, explain))));
    expect(out.map((o) => o.ok)).toEqual([true, false, true]);
    expect((out[1] as { e: IpvsError }).e.message).toBe('staged2 of 2: it exists');
    expect((out[1] as { e: IpvsError }).e.code).toBe('EEXIST');
    c.close();
  });

  it('fails staged changes not yet sent when closed', async () => {
    const { c } = open();
    const p = settled(stage(c, 1));
    c.close();
    const out = await p;
    expect(out.ok).toBe(false);
    expect((out as { e: IpvsError }).e.operation).toBe('staged1');
  });

  it('takes more changes after a feed was drained (a new turn, a new feed), reusing the staging buffer', async () => {
    const { c, fake } = open();
    await stage(c, 1);
    expect(c.staging.writer().length).toBe(0);
    await stage(c, 2);
    const burst = Promise.all([stage(c, 3), stage(c, 4)]);
    expect(c.staging.writer().length).toBe(40);
    await burst;
    expect(c.staging.writer().length).toBe(0);
    expect(fake.sends).toHaveLength(3);
    expect(fake.sent.map(tagOf)).toEqual([1, 2, 3, 4]);
    c.close();
  });

  it('stages a burst larger than a staging segment, in order, and empties the staging afterwards', async () => {
    const { c, fake } = open();
    const tags = Array.from({ length: 5000 }, (_, i) => i + 10); // 5,000 x 20 bytes: two segments
    await Promise.all(tags.map((t) => stage(c, t)));
    expect(fake.sent.map(tagOf)).toEqual(tags);
    expect(c.staging.writer().length).toBe(0);
    expect(c.staging.unwritten).toBe(0);
    c.close();
  });

  it('gives each call of a large burst its own outcome (promises settle by group, in call order)', async () => {
    // Refusals at the start, inside and at the end of groups of 256, and across sends.
    const refused = new Set([10, 11, 265, 266, 521, 700, 1009]);
    const { c } = open({
      respond: (m, f) => {
        if (refused.has(tagOf(m))) f.reply(errorMessage(m.seq, 17, `no ${tagOf(m)}`));
        else defaultRespond(m, f);
      },
    });
    const explain = (op: string, status: NetlinkStatus, _seq: number, a: unknown) => new IpvsError(`${op}/${String(a)}: ${status.message}`, { kind: 'kernel', errno: status.errno, operation: op });
    const tags = Array.from({ length: 1000 }, (_, i) => i + 10);
    const out = await Promise.all(tags.map((t) => settled(stage(c, t, explain))));
    for (const [i, t] of tags.entries()) {
      if (refused.has(t)) expect((out[i] as { e: IpvsError }).e.message).toBe(`staged${t}/${t}: no ${t}`);
      else expect(out[i]!.ok).toBe(true);
    }
    c.close();
  });

  it('numbers changes across the wrap of sequence numbers (at 2^31 - 1) and still gives each its own outcome', async () => {
    const { c, fake } = open({ respond: refuseTag2 });
    // (the sequence number is private and random; start it just below the wrap)
    (c as unknown as { send: { seq: number } }).send.seq = 0x7fffffff - 2;
    const out = await Promise.all([1, 2, 3, 4, 5, 6].map((t) => settled(stage(c, t))));
    expect(fake.sent.map((m) => m.seq)).toEqual([0x7fffffff - 1, 0x7fffffff, 1, 2, 3, 4]);
    expect(out.map((o) => o.ok)).toEqual([true, false, true, true, true, true]);
    // the refusal of the message numbered 0x7fffffff, right before the wrap
    (c as unknown as { send: { seq: number } }).send.seq = 0x7fffffff - 1;
    const again = await Promise.all([5, 2, 7].map((t) => settled(stage(c, t))));
    expect(fake.sent.slice(6).map((m) => m.seq)).toEqual([0x7fffffff, 1, 2]);
    expect(again.map((o) => o.ok)).toEqual([true, false, true]);
    c.close();
  });

  it('starts a new group for calls made once the feed is being sent (an earlier call does not wait for them)', async () => {
    // The kernel never answers the second change: the first must settle anyway.
    const { c, fake } = open({ respond: (m, f) => void (tagOf(m) !== 2 && defaultRespond(m, f)) });
    const first = stage(c, 1);
    await new Promise((r) => setImmediate(r)); // the first change goes out
    const second = settled(stage(c, 2));
    await first;
    expect(fake.sent.map(tagOf)).toEqual([1, 2]);
    c.close();
    expect((await second).ok).toBe(false);
  });

  it('keeps staged bytes in place while other requests are sent between them', async () => {
    const { c, fake } = open({}, { maxSendMessages: 2 });
    await Promise.all([stage(c, 1), stage(c, 2), c.request(read(3)), stage(c, 4), stage(c, 5), stage(c, 6)]);
    expect(fake.sent.map(tagOf)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(fake.sends.length).toBeGreaterThan(2);
    c.close();
  });

  it('give each call the outcome a request of its own gets (their naive twin)', async () => {
    const refused = new Set([3, 64, 65, 200]);
    const respond = (m: SentMessage, f: FakeSocket) => {
      if (refused.has(tagOf(m))) f.reply(errorMessage(m.seq, 17, `no ${tagOf(m)}`));
      else defaultRespond(m, f);
    };
    const explain = (op: string, status: NetlinkStatus, seq: number) => new IpvsError(`${op}: ${status.message}`, { kind: 'kernel', errno: status.errno, operation: op, seq });
    const tags = Array.from({ length: 300 }, (_, i) => i + 1);
    const staged = open({ respond });
    const a = await Promise.all(tags.map((t) => settled(stage(staged.c, t, explain))));
    const plain = open({ respond });
    const b = await Promise.all(
      tags.map((t) => settled(plain.c.requestVoid(change(t, { operation: `staged${t}`, describe: (s, seq) => explain(`staged${t}`, s, seq) })))),
    );
    const outcome = (o: Awaited<ReturnType<typeof settled>>) => (o.ok ? 'ok' : `${o.e.code} ${o.e.message}`);
    expect(a.map(outcome)).toEqual(b.map(outcome));
    staged.c.close();
    plain.c.close();
  });
});
