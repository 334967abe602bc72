// Generic netlink (src/genetlink/genl.ts): the genl header, the nlctrl
// GETFAMILY request ipvsadm sends too, and decoding the kernel's answer.
import { describe, expect, it } from 'vitest';
import { IpvsError } from '../../src/errors.js';
import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_ATTR_MAXATTR,
  CTRL_ATTR_VERSION,
  CTRL_CMD_GETFAMILY,
  GENL_ID_CTRL,
  decodeGenl,
  encodeGenl,
  resolveFamily,
} from '../../src/genetlink/genl.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from '../../src/netlink/constants.js';
import type { Connection, Request } from '../../src/netlink/connection.js';
import { type NetlinkMessage, parseMessages } from '../../src/netlink/message.js';
import { loadFixture, received, sent, withoutSeqPid } from './support/fixtures.js';
import { genlmsg, hex, nla, str, u16, u32 } from './support/wire.js';

/** A stand-in for the socket: answers every request with `replies`. */
function fakeConnection(replies: NetlinkMessage[]): { conn: Connection; requests: Request[] } {
  const requests: Request[] = [];
  const conn = {
    request: async (r: Request) => {
      requests.push(r);
      return replies;
    },
  } as unknown as Connection;
  return { conn, requests };
}

describe('generic netlink header', () => {
  it('encodes nlctrl GETFAMILY "IPVS" field by field', () => {
    const golden = hex(`
      20 00 00 00   # nlmsg_len 32
      10 00         # nlmsg_type GENL_ID_CTRL
      05 00         # NLM_F_REQUEST | NLM_F_ACK
      00 00 00 00   # seq (the connection fills it in)
      00 00 00 00   # pid 0: the kernel fills in the port id
      03            # genl cmd CTRL_CMD_GETFAMILY
      01            # genl version 1
      00 00         # reserved
      09 00 02 00   # nla_len 9, CTRL_ATTR_FAMILY_NAME
        49 50 56 53 00  # "IPVS\\0"
        00 00 00        # padding`);
    const got = encodeGenl(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, false, (e) => e.string(CTRL_ATTR_FAMILY_NAME, 'IPVS'));
    expect([...got]).toEqual(golden);
    expect(golden).toEqual(genlmsg({ type: 0x10, flags: NLM_F_REQUEST | NLM_F_ACK }, 3, 1, nla(2, str('IPVS'))));
  });

  it('is the request ipvsadm sends, but for seq and pid', () => {
    const f = loadFixture('nlctrl-getfamily');
    const ipvsadm = sent(f)[0]!;
    const ours = encodeGenl(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, false, (e) => e.string(CTRL_ATTR_FAMILY_NAME, 'IPVS'));
    expect([...ours]).toEqual([...withoutSeqPid(ipvsadm)]);
  });

  it('asks for a dump without NLM_F_ACK (NLMSG_DONE ends it)', () => {
    const got = encodeGenl(0x1c, 4, 1, true);
    expect([...got]).toEqual(hex('14 00 00 00  1c 00  01 03  00 00 00 00  00 00 00 00  04 01 00 00'));
    expect(got[6]! | (got[7]! << 8)).toBe(NLM_F_REQUEST | NLM_F_DUMP);
  });

  it('decodes the genl header and hands over the attributes', () => {
    const msg = parseMessages(Uint8Array.from(genlmsg({ type: 0x1c, flags: 0 }, 14, 1, nla(1, u32(0x010201)), nla(2, u32(4096)))))[0]!;
    const g = decodeGenl(msg, 'info');
    expect(g.cmd).toBe(14);
    expect(g.version).toBe(1);
    expect(g.attrs.where).toBe('info');
    expect(g.attrs.u32(1)).toBe(0x010201);
    expect(g.attrs.u32(2)).toBe(4096);
  });

  it('refuses a payload shorter than the genl header', () => {
    const msg = parseMessages(Uint8Array.from([...u32(19), ...u16(0x1c), ...u16(0), ...u32(0), ...u32(0), 1, 1, 0, 0]))[0]!;
    expect(() => decodeGenl(msg, 'x')).toThrow(IpvsError);
    expect(() => decodeGenl(msg, 'x')).toThrow('x: generic netlink payload of 3 bytes');
  });
});

describe('family lookup', () => {
  it("decodes the kernel's nlctrl answer: id, version, max attribute", async () => {
    const f = loadFixture('nlctrl-getfamily');
    const reply = parseMessages(received(f)[0]!)[0]!;
    expect(reply.type).toBe(GENL_ID_CTRL);
    const g = decodeGenl(reply, 'nlctrl');
    expect(g.cmd).toBe(1); // CTRL_CMD_NEWFAMILY
    expect(g.attrs.string(CTRL_ATTR_FAMILY_NAME)).toBe('IPVS');
    // The id the kernel gave IPVS is the nlmsg_type of every later IPVS request.
    const ipvsRequest = sent(f).find((b) => b[4] !== 0x10)!;
    expect(g.attrs.u16(CTRL_ATTR_FAMILY_ID)).toBe(ipvsRequest[4]! | (ipvsRequest[5]! << 8));

    const { conn, requests } = fakeConnection([reply]);
    const family = await resolveFamily(conn, 'IPVS');
    expect(family).toEqual({ id: ipvsRequest[4]!, version: 1, maxAttr: 6 }); // IPVS_CMD_ATTR_MAX is 6
    expect(requests).toHaveLength(1);
    expect(requests[0]!.dump).toBe(false);
    expect([...requests[0]!.message]).toEqual([...withoutSeqPid(sent(f)[0]!)]);
  });

  it('words a refusal as "family not found", keeping the kernel errno', async () => {
    const { conn, requests } = fakeConnection([]);
    await expect(resolveFamily(conn, 'IPVS')).rejects.toMatchObject({ kind: 'decode', code: 'EPROTO' });
    const err = requests[0]!.describe!({ errno: 2 }, 17);
    expect(err).toBeInstanceOf(IpvsError);
    expect(err).toMatchObject({ kind: 'kernel', code: 'ENOENT', errno: 2, operation: 'resolveFamily', seq: 17 });
    expect(err.message).toBe('generic netlink family IPVS not found');
    expect(requests[0]!.describe!({ errno: 1, message: 'why' }, 1).message).toBe('generic netlink family IPVS not found: why');
  });

  it('needs the family id; version and max attribute default to 0', async () => {
    const noId = parseMessages(Uint8Array.from(genlmsg({ type: 0x10, flags: 0 }, 1, 2, nla(2, str('IPVS')))))[0]!;
    await expect(resolveFamily(fakeConnection([noId]).conn, 'IPVS')).rejects.toThrow(`nlctrl family: attribute ${CTRL_ATTR_FAMILY_ID} is missing`);
    const idOnly = parseMessages(Uint8Array.from(genlmsg({ type: 0x10, flags: 0 }, 1, 2, nla(1, u16(0x21)))))[0]!;
    await expect(resolveFamily(fakeConnection([idOnly]).conn, 'X')).resolves.toEqual({ id: 0x21, version: 0, maxAttr: 0 });
    const full = parseMessages(
      Uint8Array.from(genlmsg({ type: 0x10, flags: 0 }, 1, 2, nla(1, u16(0x22)), nla(CTRL_ATTR_VERSION, u32(3)), nla(CTRL_ATTR_MAXATTR, u32(9)))),
    )[0]!;
    await expect(resolveFamily(fakeConnection([full]).conn, 'X')).resolves.toEqual({ id: 0x22, version: 3, maxAttr: 9 });
  });
});
