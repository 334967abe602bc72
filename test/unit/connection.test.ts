// The pipelining connection against a scripted fake socket: coalescing,
// acks left out of changes, matching out-of-order replies, dumps, errors,
// overruns, timeouts and the window.
import { describe, expect, it } from 'vitest';
import { IpvsError } from '../../src/errors.js';
import { ByteWriter } from '../../src/netlink/attributes.js';
import { Connection, type Request, type RequestSource } from '../../src/netlink/connection.js';
import { NLM_F_REQUEST } from '../../src/netlink/constants.js';
import type { NetlinkMessage, NetlinkStatus } from '../../src/netlink/message.js';
import {
  NLM_F_ACK,
  NLM_F_DUMP_INTR,
  type FakeOptions,
  type FakeSocket,
  type SentMessage,
  dataMessage,
  defaultRespond,
  doneMessage,
  errorMessage,
  fakeNative,
} from '../helpers/fake-netlink.js';
import { change, dump, message, read, refuseTag2, tagOf } from '../helpers/tagged-requests.js';


function open(opts: FakeOptions = {}, conn: Partial<ConstructorParameters<typeof Connection>[0]> = {}): { c: Connection; fake: FakeSocket } {
  const native = fakeNative(opts);
  const c = new Connection({ protocol: 16, native, ...conn });
  return { c, fake: native.sockets[0]! };
}

const settled = <T>(p: Promise<T>) => p.then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e: e as IpvsError }));

describe('Connection', () => {
  it('sends the requests of one turn in one send, and gives each its own reply', async () => {
    const { c, fake } = open({
      respond: (m, f) => {
        if (m.flags & NLM_F_ACK) {
          f.reply(dataMessage(m.seq, 0x20, Uint8Array.of(tagOf(m), 0, 0, 0), 0));
          f.reply(errorMessage(m.seq, 0));
        }
      },
    });
    const replies = await Promise.all([1, 2, 3].map((t) => c.request(read(t))));
    expect(fake.sends).toHaveLength(1);
    expect(replies.map((r) => r.map((m) => m.payload[0]))).toEqual([[1], [2], [3]]);
    const seqs = fake.sent.map((m) => m.seq);
    expect(new Set(seqs).size).toBe(3);
    c.close();
  });

  it('asks for one ack per send of changes, and still settles every change', async () => {
    const { c, fake } = open();
    await Promise.all([1, 2, 3, 4].map((t) => c.requestVoid(change(t))));
    expect(fake.sent.map((m) => (m.flags & NLM_F_ACK ? 'ack' : '-'))).toEqual(['-', '-', '-', 'ack']);
    c.close();
  });

  it('a change that fails without an ack fails alone; the others succeed', async () => {
    const { c } = open({ respond: refuseTag2 });
    const out = await Promise.all([1, 2, 3].map((t) => settled(c.requestVoid(change(t)))));
    expect(out.map((o) => o.ok)).toEqual([true, false, true]);
    const e = (out[1] as { e: IpvsError }).e;
    expect(e).toBeInstanceOf(IpvsError);
    expect(e.code).toBe('EEXIST');
    expect(e.kernelMessage).toBe('it exists');
    expect(e.operation).toBe('change2');
    c.close();
  });


  it('sends a change the kernel may leave unanswered without an ack, a probe behind it, and settles it by the probe', async () => {
    // Like the kernel when a handler returns -EINTR: no reply at all for tag 9, even asked for one.
    const eintr9 = (m: SentMessage, f: FakeSocket) => {
      if (m.type === 0x20 && tagOf(m) === 9) return;
      if (m.type === 0x20 && tagOf(m) === 8) f.reply(errorMessage(m.seq, 3, 'no such thread'));
      else defaultRespond(m, f);
    };
    const { c, fake } = open({ respond: eintr9 }, { timeoutMs: 200 });
    await c.requestVoid(change(9, { mayGoUnanswered: true }));
    expect(fake.sent.map((m) => [m.type, m.flags & NLM_F_ACK ? 'ack' : '-', m.send])).toEqual([
      [0x20, '-', 0],
      [1, 'ack', 0], // NLMSG_NOOP
    ]);
    // In a send with others, and alone at the end of the largest send it can be in.
    const out = await Promise.all([settled(c.requestVoid(change(1))), settled(c.requestVoid(change(9, { mayGoUnanswered: true })))]);
    expect(out.map((o) => o.ok)).toEqual([true, true]);
    // Its own error still comes back.
    const err = await settled(c.requestVoid(change(8, { mayGoUnanswered: true })));
    expect(err.ok || [err.e.code, err.e.kernelMessage, err.e.operation]).toEqual(['ESRCH', 'no such thread', 'change8']);
    // Without the flag the same kernel leaves it waiting until the timeout.
    const late = await settled(c.requestVoid(change(9)));
    expect(late.ok || late.e.code).toBe('ETIMEDOUT');
    c.close();
  });

  it('keeps a probe in the same send as its request when the send is full', async () => {
    const { c, fake } = open({ respond: (m, f) => { if (!(m.type === 0x20 && tagOf(m) === 9)) defaultRespond(m, f); } }, { maxSendMessages: 3, timeoutMs: 200 });
    const out = await Promise.all([1, 2, 9, 4].map((t) => settled(c.requestVoid(change(t, { mayGoUnanswered: t === 9 })))));
    expect(out.map((o) => o.ok)).toEqual([true, true, true, true]);
    const probe = fake.sent.find((m) => m.type === 1)!;
    expect(fake.sent.find((m) => m.type === 0x20 && tagOf(m) === 9)!.send).toBe(probe.send);
    c.close();
  });
  it('matches replies that come out of order', async () => {
    const held: Uint8Array[] = [];
    const { c, fake } = open({
      respond: (m) => {
        held.push(dataMessage(m.seq, 0x20, Uint8Array.of(tagOf(m), 0, 0, 0), 0), errorMessage(m.seq, 0));
        if (held.length === 6) {
          // answer the last request first
          for (let i = held.length - 2; i >= 0; i -= 2) fake.reply(Uint8Array.from([...held[i]!, ...held[i + 1]!]));
        }
      },
    });
    const replies = await Promise.all([7, 8, 9].map((t) => c.request(read(t))));
    expect(replies.map((r) => r[0]!.payload[0])).toEqual([7, 8, 9]);
    c.close();
  });

  it('collects a multi-part dump, and runs dumps one at a time', async () => {
    let active = 0;
    let maxActive = 0;
    const { c, fake } = open({
      respond: (m, f) => {
        active++;
        maxActive = Math.max(maxActive, active);
        const t = tagOf(m);
        for (let i = 0; i < 3; i++) f.reply(dataMessage(m.seq, 0x20, Uint8Array.of(t, i, 0, 0)));
        setImmediate(() => {
          active--;
          f.reply(doneMessage(m.seq));
        });
      },
    });
    const [a, b] = await Promise.all([c.request(dump(1)), c.request(dump(2))]);
    expect(a!.map((m) => [m.payload[0], m.payload[1]])).toEqual([[1, 0], [1, 1], [1, 2]]);
    expect(b!.map((m) => m.payload[0])).toEqual([2, 2, 2]);
    expect(maxActive).toBe(1);
    expect(fake.sends).toHaveLength(2);
    c.close();
  });

  it('sends the next dump from inside the reply handling (one wake, several rounds)', async () => {
    const { c, fake } = open({ respond: (m, f) => f.reply(doneMessage(m.seq)) });
    await Promise.all([1, 2, 3, 4, 5].map((t) => c.request(dump(t))));
    expect(fake.sends).toHaveLength(5);
    expect(fake.lastRounds).toBeGreaterThan(1);
    c.close();
  });

  it('reports a failed dump with the kernel error of its NLMSG_DONE, and an interrupted one', async () => {
    const { c } = open({
      respond: (m, f) => {
        if (tagOf(m) === 1) f.reply(doneMessage(m.seq, 22));
        else {
          f.reply(dataMessage(m.seq, 0x20, Uint8Array.of(0, 0, 0, 0), 2 | NLM_F_DUMP_INTR));
          f.reply(doneMessage(m.seq));
        }
      },
    });
    const [a, b] = await Promise.all([settled(c.request(dump(1))), settled(c.request(dump(2)))]);
    expect(a.ok || a.e.code).toBe('EINVAL');
    expect(b.ok || b.e.kind).toBe('interrupted');
    c.close();
  });

  it('fails everything waiting on ENOBUFS, saying the outcome is unknown', async () => {
    const { c, fake } = open({ respond: () => {} });
    const p = Promise.all([1, 2].map((t) => settled(c.requestVoid(change(t)))));
    await new Promise((r) => setImmediate(r));
    fake.fail(105);
    const out = await p;
    for (const o of out) {
      expect(o.ok).toBe(false);
      expect((o as { e: IpvsError }).e.code).toBe('ENOBUFS');
      expect((o as { e: IpvsError }).e.message).toMatch(/unknown/);
    }
    c.close();
  });

  it('times out a request that never gets a reply', async () => {
    const { c } = open({ respond: () => {} }, { timeoutMs: 40 });
    const t0 = Date.now();
    const r = await settled(c.request(read(1)));
    expect(r.ok || r.e.code).toBe('ETIMEDOUT');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(35);
    c.close();
  });

  it('keeps at most `window` requests waiting', async () => {
    let waiting = 0;
    let most = 0;
    const { c } = open(
      {
        respond: (m, f) => {
          waiting++;
          most = Math.max(most, waiting);
          setTimeout(() => {
            waiting--;
            f.reply(errorMessage(m.seq, 0));
          }, 1);
        },
      },
      { window: 4 },
    );
    await Promise.all(Array.from({ length: 20 }, (_, t) => c.request(read(t))));
    expect(most).toBe(4);
    c.close();
  });

  it('bounds the messages and bytes of one send', async () => {
    const { c, fake } = open({}, { maxSendMessages: 3 });
    await Promise.all(Array.from({ length: 10 }, (_, t) => c.requestVoid(change(t))));
    expect(fake.sends).toHaveLength(4);
    const b = open({}, { maxSendBytes: 50 });
    await Promise.all(Array.from({ length: 5 }, (_, t) => b.c.requestVoid(change(t))));
    expect(Math.max(...b.fake.sends)).toBeLessThanOrEqual(50);
    expect(b.fake.sends).toHaveLength(3);
    c.close();
    b.c.close();
  });

  it('fails the requests of a send that fails, and goes on', async () => {
    const { c, fake } = open();
    fake.failNextSend = 11;
    const first = await settled(c.requestVoid(change(1)));
    expect(first.ok || first.e.code).toBe('EAGAIN');
    expect(first.ok || first.e.kind).toBe('socket');
    await expect(c.requestVoid(change(2))).resolves.toBeUndefined();
    c.close();
  });

  it('rejects what is waiting when closed, and everything after', async () => {
    const { c } = open({ respond: () => {} });
    const p = settled(c.request(read(1)));
    await new Promise((r) => setImmediate(r));
    c.close();
    expect((await p).ok).toBe(false);
    await expect(c.request(read(2))).rejects.toMatchObject({ kind: 'socket' });
  });

  it('takes a feed that writes its own requests, and numbers every result', async () => {
    const { c, fake } = open({
      respond: (m, f) => {
        if (tagOf(m) % 5 === 3) f.reply(errorMessage(m.seq, 3));
        else defaultRespond(m, f);
      },
    }, { maxSendMessages: 16 });
    const n = 100;
    const results: Array<string | undefined> = new Array(n);
    let next = 0;
    const described: number[] = [];
    await new Promise<void>((resolve) => {
      let left = n;
      const source: RequestSource = {
        // every fourth one through the general path
        write: (w: ByteWriter) => {
          if (next >= n || next % 4 === 0) return false;
          const at = w.reserve(20);
          w.buf.set(message(next, NLM_F_REQUEST), at);
          next++;
          return true;
        },
        next: () => (next < n ? change(next++) : undefined),
        settle: (i, e) => {
          results[i] = e ? e.code : 'ok';
          if (--left === 0) resolve();
        },
        describe: (i, status, seq) => {
          described.push(i);
          return new IpvsError(`item ${i} refused`, { kind: 'kernel', errno: status.errno, operation: 'item', seq });
        },
        operation: () => 'item',
      };
      c.feed(source);
    });
    expect(results.map((r, i) => (r === 'ok') === (i % 5 !== 3))).toEqual(new Array(n).fill(true));
    expect(results.filter((r) => r === 'ESRCH')).toHaveLength(20);
    // refusals of written requests were worded by the source
    const refusedWritten = Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 === 3 && i % 4 !== 0);
    expect(described.sort((a, b) => a - b)).toEqual(refusedWritten);
    // one ack per send
    const acks = fake.sent.filter((m) => m.flags & NLM_F_ACK).length;
    expect(acks).toBe(fake.sends.length);
    expect(fake.sends.length).toBeGreaterThanOrEqual(Math.ceil(n / 16));
    c.close();
  });

  it('fails written requests that get no reply (timeout) and on ENOBUFS', async () => {
    const mk = (): { source: RequestSource; done: Promise<Array<string | undefined>> } => {
      const out: Array<string | undefined> = [];
      let next = 0;
      let resolve!: (v: Array<string | undefined>) => void;
      const done = new Promise<Array<string | undefined>>((r) => (resolve = r));
      return {
        done,
        source: {
          write: (w) => {
            if (next >= 3) return false;
            const at = w.reserve(20);
            w.buf.set(message(next++, NLM_F_REQUEST), at);
            return true;
          },
          next: () => undefined,
          settle: (i, e) => {
            out[i] = e?.code ?? 'ok';
            if (out.filter(Boolean).length === 3) resolve(out);
          },
        },
      };
    };
    const a = open({ respond: () => {} }, { timeoutMs: 30 });
    const x = mk();
    a.c.feed(x.source);
    expect(await x.done).toEqual(['ETIMEDOUT', 'ETIMEDOUT', 'ETIMEDOUT']);
    a.c.close();
    const b = open({ respond: () => {} });
    const y = mk();
    b.c.feed(y.source);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    b.fake.fail(105);
    expect(await y.done).toEqual(['ENOBUFS', 'ENOBUFS', 'ENOBUFS']);
    b.c.close();
  });

  it('sizes the window by the receive buffer it was granted', async () => {
    let waiting = 0;
    let most = 0;
    const { c } = open({
      receiveBufferSize: 16 * 1024,
      respond: (m, f) => {
        waiting++;
        most = Math.max(most, waiting);
        setTimeout(() => {
          waiting--;
          f.reply(errorMessage(m.seq, 0));
        }, 1);
      },
    });
    await Promise.all(Array.from({ length: 40 }, (_, t) => c.request(read(t))));
    expect(most).toBe(16);
    c.close();
  });

  it('hands out the replies of a request as messages', async () => {
    const { c } = open({
      respond: (m, f) => {
        f.reply(dataMessage(m.seq, 0x21, Uint8Array.of(9, 9, 9, 9), 0));
        f.reply(errorMessage(m.seq, 0));
      },
    });
    const [m] = (await c.request(read(1))) as NetlinkMessage[];
    expect(m!.type).toBe(0x21);
    expect(Array.from(m!.payload)).toEqual([9, 9, 9, 9]);
    c.close();
  });
});

describe('Connection with the shared receive buffer', () => {
  const shared = (opts: FakeOptions = {}) => open({ ...opts, shared: true });

  it('copies the replies it keeps (the buffer is overwritten after each read)', async () => {
    const { c } = shared({
      respond: (m, f) => {
        for (let i = 0; i < 3; i++) f.reply(dataMessage(m.seq, 0x20, Uint8Array.of(tagOf(m), i, 0, 0)));
        setImmediate(() => f.reply(doneMessage(m.seq)));
      },
    });
    const [a, b] = await Promise.all([c.request(dump(1)), c.request(dump(2))]);
    expect(a!.map((m) => [m.payload[0], m.payload[1]])).toEqual([[1, 0], [1, 1], [1, 2]]);
    expect(b!.map((m) => [m.payload[0], m.payload[1]])).toEqual([[2, 0], [2, 1], [2, 2]]);
    c.close();
  });

  it('streams dump parts to onReply as they are read, and settles with none', async () => {
    const { c } = shared({
      respond: (m, f) => {
        f.reply(dataMessage(m.seq, 0x20, Uint8Array.of(5, 6, 7, 8)));
        setImmediate(() => {
          f.reply(dataMessage(m.seq, 0x20, Uint8Array.of(9, 10, 11, 12)));
          f.reply(doneMessage(m.seq));
        });
      },
    });
    const seen: number[][] = [];
    const r = dump(1);
    r.onReply = (data, _view, start, end) => void seen.push(Array.from(data.subarray(start, end)));
    expect(await c.request(r)).toEqual([]);
    expect(seen).toEqual([[5, 6, 7, 8], [9, 10, 11, 12]]);
    c.close();
  });

  it('fails a dump whose onReply throws as a decode error', async () => {
    const { c } = shared({ respond: (m, f) => (f.reply(dataMessage(m.seq, 0x20, Uint8Array.of(1, 2, 3, 4))), f.reply(doneMessage(m.seq))) });
    const r = dump(1);
    r.onReply = () => {
      throw new Error('bad attribute');
    };
    const out = await settled(c.request(r));
    expect(out.ok).toBe(false);
    expect((out as { e: IpvsError }).e.kind).toBe('decode');
    expect((out as { e: IpvsError }).e.message).toContain('bad attribute');
    c.close();
  });
});

describe('ack elision, held to its naive twin', () => {
  it('gives changes sent together the outcomes they get sent one at a time', async () => {
    // Refusals anywhere: first, last, in a row; a read among the changes.
    const refused = new Set([1, 4, 5, 9, 12]);
    const respond = (m: SentMessage, f: FakeSocket) => {
      if (refused.has(tagOf(m))) f.reply(errorMessage(m.seq, 17, `no ${tagOf(m)}`));
      else defaultRespond(m, f);
    };
    const tags = Array.from({ length: 12 }, (_, i) => i + 1);
    const make = (t: number) => (t === 7 ? read(t) : change(t));
    const outcome = (o: Awaited<ReturnType<typeof settled>>) => (o.ok ? 'ok' : `${o.e.code} ${o.e.message}`);
    const together = open({ respond });
    const a = await Promise.all(tags.map((t) => settled(together.c.request(make(t)))));
    const oneByOne = open({ respond });
    const b: typeof a = [];
    for (const t of tags) b.push(await settled(oneByOne.c.request(make(t))));
    expect(a.map(outcome)).toEqual(b.map(outcome));
    expect(together.fake.sends).toHaveLength(1);
    // (one by one, every change asks for its ack; together, only the last of the send)
    expect(oneByOne.fake.sent.every((m) => m.flags & NLM_F_ACK)).toBe(true);
    expect(together.fake.sent.filter((m) => m.flags & NLM_F_ACK).length).toBeLessThan(tags.length);
    together.c.close();
    oneByOne.c.close();
  });
});
