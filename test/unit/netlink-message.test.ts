// Netlink header framing (src/netlink/message.ts) against golden bytes.
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { IpvsError } from '../../src/errors.js';
import { ByteWriter } from '../../src/netlink/attributes.js';
import { NLM_F_ACK, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_MULTI, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR } from '../../src/netlink/constants.js';
import { parseMessages, setSeq, writeMessage } from '../../src/netlink/message.js';
import { loadFixture, received, sent } from './support/fixtures.js';
import { bytes, hex, nlmsg, u16, u32 } from './support/wire.js';

const encode = (h: { type: number; flags: number; seq: number; pid: number }, body: number[]): Uint8Array => {
  const w = new ByteWriter(8); // small on purpose: the writer must grow
  writeMessage(w, h, (w) => {
    const at = w.reserve(body.length);
    w.buf.set(body, at);
  });
  return w.bytes();
};

describe('netlink message framing', () => {
  it('runs on a little-endian machine, as the golden bytes assume', () => {
    expect(endianness()).toBe('LE');
  });

  it('encodes struct nlmsghdr field by field', () => {
    const got = encode({ type: 0x1c, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 0x01020304, pid: 0xdeadbeef }, [0x0f, 0x01, 0x00, 0x00]);
    expect([...got]).toEqual(
      hex(`
        14 00 00 00   # nlmsg_len 20: header 16 + payload 4
        1c 00         # nlmsg_type 0x1c
        05 00         # nlmsg_flags REQUEST|ACK
        04 03 02 01   # nlmsg_seq 0x01020304, host order
        ef be ad de   # nlmsg_pid 0xdeadbeef
        0f 01 00 00   # payload
      `),
    );
  });

  it('counts the unpadded payload in nlmsg_len and pads the message to 4 bytes', () => {
    const got = encode({ type: 0x10, flags: NLM_F_REQUEST, seq: 1, pid: 0 }, [1, 2, 3, 4, 5]);
    // nlmsg_len 21, then 3 bytes of padding so a following message is aligned.
    expect([...got]).toEqual([...u32(21), ...u16(0x10), ...u16(1), ...u32(1), ...u32(0), 1, 2, 3, 4, 5, 0, 0, 0]);
    expect([...got]).toEqual(nlmsg({ type: 0x10, flags: NLM_F_REQUEST, seq: 1 }, [1, 2, 3, 4, 5]));
  });

  it('writes several messages back to back, each aligned', () => {
    const w = new ByteWriter(16);
    const first = writeMessage(w, { type: 0x1c, flags: NLM_F_REQUEST | NLM_F_DUMP, seq: 7, pid: 0 }, (w) => w.reserve(1));
    const second = writeMessage(w, { type: 0x1c, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 8, pid: 0 }, (w) => w.reserve(4));
    expect([first, second]).toEqual([0, 20]);
    expect([...w.bytes()]).toEqual([
      ...nlmsg({ type: 0x1c, flags: NLM_F_REQUEST | NLM_F_DUMP, seq: 7 }, [0]),
      ...nlmsg({ type: 0x1c, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 8 }, [0, 0, 0, 0]),
    ]);
  });

  it('keeps seq and pid unsigned (pids above 2^31 are common)', () => {
    const got = encode({ type: 0x1c, flags: 0, seq: 0xffffffff, pid: 2483028779 }, []);
    expect([...got.subarray(8, 16)]).toEqual([...u32(0xffffffff), ...hex('2b 03 00 94')]);
    expect(parseMessages(got)[0]).toMatchObject({ seq: 0xffffffff, pid: 2483028779 });
  });

  it('rewrites the sequence number in place', () => {
    const msg = encode({ type: 0x1c, flags: 5, seq: 0, pid: 0 }, [9, 9, 9, 9]);
    setSeq(msg, 0x0a0b0c0d);
    expect([...msg.subarray(8, 12)]).toEqual(hex('0d 0c 0b 0a'));
    // Within a larger buffer, at the message's own offset.
    const big = new Uint8Array(64);
    big.set(msg, 20);
    setSeq(big.subarray(20), 42);
    expect([...big.subarray(28, 32)]).toEqual(u32(42));
    expect([...big.subarray(0, 20)]).toEqual(Array(20).fill(0));
  });

  it('decodes a buffer of several messages; payloads stop at nlmsg_len, not at the padding', () => {
    const buf = bytes(
      nlmsg({ type: 0x1c, flags: NLM_F_MULTI, seq: 5, pid: 77 }, [1, 2, 3, 4, 5]),
      nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq: 5, pid: 77 }, u32(0)),
    );
    const msgs = parseMessages(buf);
    expect(msgs.map(({ payload, ...h }) => ({ ...h, payload: [...payload] }))).toEqual([
      { type: 0x1c, flags: NLM_F_MULTI, seq: 5, pid: 77, payload: [1, 2, 3, 4, 5] },
      { type: NLMSG_DONE, flags: NLM_F_MULTI, seq: 5, pid: 77, payload: [0, 0, 0, 0] },
    ]);
  });

  it('decodes from a view at an offset into a larger buffer', () => {
    const backing = new Uint8Array(100).fill(0xee);
    const msg = bytes(nlmsg({ type: 3, flags: 2, seq: 1, pid: 2 }, u32(0)));
    backing.set(msg, 13);
    const [m] = parseMessages(backing.subarray(13, 13 + msg.length));
    expect(m).toMatchObject({ type: 3, flags: 2, seq: 1, pid: 2 });
    expect([...m!.payload]).toEqual([0, 0, 0, 0]);
  });

  it('decodes an empty buffer to no messages and ignores a tail shorter than a header', () => {
    expect(parseMessages(new Uint8Array(0))).toEqual([]);
    const buf = bytes(nlmsg({ type: 3, flags: 0 }, u32(0)), [1, 2, 3]);
    expect(parseMessages(buf)).toHaveLength(1);
  });

  it('refuses a length below the header size or past the buffer with a decode error', () => {
    const tooShort = bytes(u32(15), u16(3), u16(0), u32(0), u32(0));
    const tooLong = bytes(u32(40), u16(3), u16(0), u32(0), u32(0), u32(0));
    for (const b of [tooShort, tooLong]) {
      let err: unknown;
      try {
        parseMessages(b);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IpvsError);
      expect(err).toMatchObject({ kind: 'decode', code: 'EDECODE', errno: 0 });
    }
    expect(() => parseMessages(tooLong)).toThrow(/length 40, past the 20-byte buffer/);
  });

  it('reads the headers of what the kernel sent ipvsadm (a capped ack)', () => {
    const f = loadFixture('service-add-tcp4');
    const request = parseMessages(sent(f)[0]!)[0]!;
    const [ack] = parseMessages(received(f)[0]!);
    expect(ack).toMatchObject({ type: NLMSG_ERROR, flags: NLM_F_CAPPED, seq: request.seq, pid: request.pid });
    expect(ack!.payload).toHaveLength(20); // s32 error + the request's 16-byte header
  });

  it('splits a kernel dump datagram holding several messages', () => {
    const f = loadFixture('list');
    const dgram = received(f).find((d) => parseMessages(d).length > 1)!;
    const msgs = parseMessages(dgram);
    expect(msgs.length).toBeGreaterThan(1);
    // Every message is NLM_F_MULTI and lengths add up to the datagram.
    let total = 0;
    for (const m of msgs) {
      expect(m.flags & NLM_F_MULTI).toBe(NLM_F_MULTI);
      total += (16 + m.payload.length + 3) & ~3;
    }
    expect(total).toBe(dgram.length);
  });
});
