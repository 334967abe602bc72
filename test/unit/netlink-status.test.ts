// NLMSG_ERROR and NLMSG_DONE decoding with extended acks
// (src/netlink/message.ts parseError/parseDone): golden bytes written by
// hand, and what real kernels sent to ipvsadm, iproute2 and the library.
import { describe, expect, it } from 'vitest';
import { IpvsError } from '../../src/errors.js';
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR } from '../../src/netlink/constants.js';
import { type NetlinkMessage, parseDone, parseError, parseMessages } from '../../src/netlink/message.js';
import { loadFixture, received, sent } from './support/fixtures.js';
import { type Bytes, hex, nla, nlmsg, s32, str, u16, u32 } from './support/wire.js';

const one = (b: Bytes | Uint8Array): NetlinkMessage => {
  const msgs = parseMessages(Uint8Array.from(b));
  expect(msgs).toHaveLength(1);
  return msgs[0]!;
};

/** The 16-byte header of a request as the kernel echoes it. */
const reqHeader = (len: number, seq = 9): Bytes => [...u32(len), ...u16(0x1c), ...u16(5), ...u32(seq), ...u32(0)];

describe('NLMSG_ERROR', () => {
  it('decodes a capped ack: error 0 and the request header only', () => {
    const golden = hex(`
      24 00 00 00   # nlmsg_len 36
      02 00         # NLMSG_ERROR
      00 01         # NLM_F_CAPPED
      09 00 00 00   # seq 9
      00 00 00 00   # pid
      00 00 00 00   # error 0: an ack
      68 00 00 00 1c 00 05 00 09 00 00 00 00 00 00 00  # the request's header`);
    expect(golden).toEqual(nlmsg({ type: NLMSG_ERROR, flags: NLM_F_CAPPED, seq: 9 }, [...s32(0), ...reqHeader(104)]));
    expect(parseError(one(golden))).toEqual({ errno: 0 });
  });

  it('decodes an uncapped error: the echoed request is skipped by its own length', () => {
    const request = [...reqHeader(21), 1, 2, 3, 4, 5]; // 21 bytes, padded to 24 in the echo
    const golden = nlmsg({ type: NLMSG_ERROR, flags: 0, seq: 9 }, [...s32(-17), ...request, 0, 0, 0]);
    expect(parseError(one(golden))).toEqual({ errno: 17 });
  });

  it('decodes extended-ack TLVs after an uncapped request', () => {
    const request = [...reqHeader(21), 1, 2, 3, 4, 5, 0, 0, 0];
    const golden = nlmsg({ type: NLMSG_ERROR, flags: NLM_F_ACK_TLVS, seq: 9 }, [
      ...s32(-22),
      ...request,
      ...nla(1, str('bad thing')), // NLMSGERR_ATTR_MSG
      ...nla(2, u32(20)), // NLMSGERR_ATTR_OFFS
    ]);
    expect(parseError(one(golden))).toEqual({ errno: 22, message: 'bad thing', offset: 20 });
  });

  it('decodes extended-ack TLVs after a capped request header', () => {
    const golden = hex(`
      38 00 00 00   # nlmsg_len 56
      02 00         # NLMSG_ERROR
      00 03         # NLM_F_CAPPED | NLM_F_ACK_TLVS
      09 00 00 00 00 00 00 00
      fe ff ff ff   # error -2 (ENOENT)
      28 00 00 00 1c 00 05 00 09 00 00 00 00 00 00 00  # request header (nlmsg_len 40, payload not echoed)
      09 00 01 00   # NLMSGERR_ATTR_MSG, nla_len 9
        6e 6f 70 65 00 00 00 00  # "nope\\0" + padding
      08 00 02 00   # NLMSGERR_ATTR_OFFS
        18 00 00 00 # offset 24`);
    expect(golden).toEqual(
      nlmsg({ type: NLMSG_ERROR, flags: NLM_F_CAPPED | NLM_F_ACK_TLVS, seq: 9 }, [
        ...s32(-2),
        ...reqHeader(40),
        ...nla(1, str('nope')),
        ...nla(2, u32(24)),
      ]),
    );
    expect(parseError(one(golden))).toEqual({ errno: 2, message: 'nope', offset: 24 });
  });

  it('ignores TLVs it does not know (cookie, policy) and bytes without NLM_F_ACK_TLVS', () => {
    const tlvs = [...nla(3, [1, 2, 3, 4, 5, 6, 7, 8]), ...nla(4, nla(1, u32(4)), 0x8000), ...nla(1, str('m'))];
    const withFlag = nlmsg({ type: NLMSG_ERROR, flags: NLM_F_CAPPED | NLM_F_ACK_TLVS }, [...s32(-1), ...reqHeader(20), ...tlvs]);
    expect(parseError(one(withFlag))).toEqual({ errno: 1, message: 'm' });
    const withoutFlag = nlmsg({ type: NLMSG_ERROR, flags: NLM_F_CAPPED }, [...s32(-1), ...reqHeader(20), ...tlvs]);
    expect(parseError(one(withoutFlag))).toEqual({ errno: 1 });
  });

  it('refuses a payload too short for struct nlmsgerr', () => {
    const short = nlmsg({ type: NLMSG_ERROR, flags: 0 }, [...s32(-1), 0, 0, 0, 0]);
    expect(() => parseError(one(short))).toThrow(IpvsError);
    expect(() => parseError(one(short))).toThrow(/NLMSG_ERROR payload too short: 8 bytes/);
  });

  it('refuses malformed TLVs with a decode error', () => {
    const bad = nlmsg({ type: NLMSG_ERROR, flags: NLM_F_CAPPED | NLM_F_ACK_TLVS }, [...s32(-1), ...reqHeader(20), ...hex('40 00 01 00 00 00 00 00')]);
    let err: unknown;
    try {
      parseError(one(bad));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ kind: 'decode', code: 'EDECODE' });
  });

  it('takes no TLVs from an uncapped error whose echoed length runs past the message', () => {
    // A kernel never sends this; the errno still stands, and nothing is read
    // from outside the payload.
    const golden = nlmsg({ type: NLMSG_ERROR, flags: NLM_F_ACK_TLVS }, [...s32(-5), ...reqHeader(0x80000000), ...nla(1, str('x'))]);
    expect(parseError(one(golden))).toEqual({ errno: 5 });
  });
});

describe('NLMSG_DONE', () => {
  it('decodes the end of a dump: error 0', () => {
    const golden = hex('14 00 00 00  03 00  02 00  05 00 00 00  00 00 00 00  00 00 00 00');
    expect(golden).toEqual(nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq: 5 }, s32(0)));
    expect(parseDone(one(golden))).toEqual({ errno: 0 });
  });

  it('decodes a failed dump: negative errno and extended-ack TLVs', () => {
    const golden = nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI | NLM_F_ACK_TLVS }, [
      ...s32(-4),
      ...nla(1, str('dump interrupted')),
    ]);
    expect(parseDone(one(golden))).toEqual({ errno: 4, message: 'dump interrupted' });
  });

  it('treats an empty DONE payload (old kernels) as success', () => {
    expect(parseDone(one(nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI }, [])))).toEqual({ errno: 0 });
  });
});

describe('status messages the kernel really sent', () => {
  const statusOf = (bytesIn: Uint8Array) => {
    const m = parseMessages(bytesIn).find((x) => x.type === NLMSG_ERROR || x.type === NLMSG_DONE)!;
    return m.type === NLMSG_ERROR ? parseError(m) : parseDone(m);
  };

  it('ipvsadm socket: a capped ack for a success', () => {
    expect(statusOf(received(loadFixture('service-add-tcp4'))[0]!)).toEqual({ errno: 0 });
  });

  it('ipvsadm socket: uncapped errors echoing the whole request, no TLVs', () => {
    const cases: Array<[string, number]> = [
      ['error-service-exists', 17], // EEXIST
      ['error-service-missing', 3], // ESRCH
      ['error-scheduler-unknown', 2], // ENOENT
      ['error-dest-missing', 2], // ENOENT
      ['error-daemon-missing', 3], // ESRCH
    ];
    for (const [name, errno] of cases) {
      const f = loadFixture(name);
      const reply = received(f).at(-1)!;
      const [m] = parseMessages(reply);
      expect(m!.flags & NLM_F_CAPPED, name).toBe(0);
      // The echo is the request, byte for byte.
      const request = sent(f).at(-1)!;
      expect([...m!.payload.subarray(4, 4 + request.length)], name).toEqual([...request]);
      expect(statusOf(reply), name).toEqual({ errno });
    }
  });

  it('iproute2 socket: an uncapped error with a message after the echoed request', () => {
    const f = loadFixture('ext-ack-uncapped');
    const reply = received(f).at(-1)!;
    const [m] = parseMessages(reply);
    expect(m!.flags).toBe(NLM_F_ACK_TLVS);
    expect(statusOf(reply)).toEqual({ errno: 22, message: 'mtu greater than device maximum' });
  });

  it('iproute2 socket: a dump that fails, errno and message in NLMSG_DONE', () => {
    const f = loadFixture('ext-ack-done');
    const reply = received(f).at(-1)!;
    expect(parseMessages(reply)[0]).toMatchObject({ type: NLMSG_DONE });
    expect(statusOf(reply)).toEqual({ errno: 2, message: 'ipv4: FIB table does not exist' });
  });

  it("library socket: a capped policy error whose offset points at the bad attribute", () => {
    const f = loadFixture('library-policy-error');
    const reply = received(f)[0]!;
    const [m] = parseMessages(reply);
    expect(m!.flags).toBe(NLM_F_CAPPED | NLM_F_ACK_TLVS);
    const s = statusOf(reply);
    expect(s).toEqual({ errno: 34, message: 'Attribute failed policy validation', offset: 20 });
    // Offset 20 of the request: the 2-byte IPVS_CMD_ATTR_TIMEOUT_TCP (type 4).
    const request = sent(f)[0]!;
    expect([...request.subarray(s.offset!, s.offset! + 4)]).toEqual(hex('06 00 04 00'));
  });

  it('library socket: capped errors without a message', () => {
    expect(statusOf(received(loadFixture('library-getfamily-missing'))[0]!)).toEqual({ errno: 2 });
    expect(statusOf(received(loadFixture('library-new-service-empty'))[0]!)).toEqual({ errno: 22 });
  });

  it('library socket: a reply then a capped ack, as the addon delivers them together', () => {
    const f = loadFixture('library-get-info');
    const [delivery] = received(f);
    const msgs = parseMessages(delivery!);
    expect(msgs.map((m) => m.type)).toEqual([sent(f)[0]![4], NLMSG_ERROR]); // the IPVS family id, then the ack
    expect(parseError(msgs[1]!)).toEqual({ errno: 0 });
    expect(msgs[1]!.payload).toHaveLength(20);
  });
});
