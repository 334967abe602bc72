/**
 * Generic netlink: the 4-byte genl header (u8 cmd, u8 version, u16 reserved)
 * after the netlink header, and family lookup through the nlctrl family.
 */
import { DecodeError, Errno, IpvsError } from '../errors.js';
import { AttributeDecoder, AttributeEncoder, ByteWriter } from '../netlink/attributes.js';
import { NLMSG_HDRLEN, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, align } from '../netlink/constants.js';
import { os } from '../netlink/endian.js';
import type { Connection, Request } from '../netlink/connection.js';
import { type NetlinkMessage, type NetlinkStatus, writeHeader } from '../netlink/message.js';

export const GENL_HDRLEN = 4;
/** include/uapi/linux/genetlink.h */
export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const CTRL_ATTR_VERSION = 3;
export const CTRL_ATTR_MAXATTR = 5;

export interface GenlMessage {
  cmd: number;
  version: number;
  /** The attributes after the genl header. */
  attrs: AttributeDecoder;
}

/** Writes struct genlmsghdr (u8 cmd, u8 version, u16 reserved) at `at`. */
export function writeGenlHeader(buf: Uint8Array, at: number, cmd: number, version: number): void {
  buf[at] = cmd;
  buf[at + 1] = version;
  buf[at + 2] = 0;
  buf[at + 3] = 0;
}

/** Encodes one generic netlink request; `attrs` writes its attributes. */
export function encodeGenl(
  family: number,
  cmd: number,
  version: number,
  dump: boolean,
  attrs?: (e: AttributeEncoder) => void,
): Uint8Array {
  const w = new ByteWriter(128);
  writeGenl(w, family, cmd, version, dump, attrs);
  return w.bytes();
}

/** Like encodeGenl, but appends the message to `w` (the connection's send buffer). */
export function writeGenl(
  w: ByteWriter,
  family: number,
  cmd: number,
  version: number,
  dump: boolean,
  attrs?: (e: AttributeEncoder) => void,
): void {
  const at = w.reserve(NLMSG_HDRLEN + GENL_HDRLEN);
  writeHeader(w.view, at, NLMSG_HDRLEN + GENL_HDRLEN, family, NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK), 0);
  writeGenlHeader(w.buf, at + NLMSG_HDRLEN, cmd, version);
  if (attrs) attrs(w.encoder());
  // (the writer's view may have grown)
  w.view.setUint32(at, w.length - at, os);
  w.reserve(align(w.length) - w.length);
}

/** Decodes the genl header and attributes of a reply. */
export function decodeGenl(m: NetlinkMessage, where: string): GenlMessage {
  if (m.payload.length < GENL_HDRLEN) throw new DecodeError(`${where}: generic netlink payload of ${m.payload.length} bytes`);
  return { cmd: m.payload[0]!, version: m.payload[1]!, attrs: new AttributeDecoder(m.payload, where, undefined, GENL_HDRLEN) };
}

export interface Family {
  id: number;
  version: number;
  maxAttr: number;
}

/**
 * Looks a family up by name. ENOENT means the kernel has no such family
 * (for IPVS: the ip_vs module is not loaded and could not be).
 */
export async function resolveFamily(conn: Connection, name: string): Promise<Family> {
  const req: Request = {
    message: encodeGenl(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, false, (e) => e.string(CTRL_ATTR_FAMILY_NAME, name)),
    dump: false,
    operation: 'resolveFamily',
    describe: (s: NetlinkStatus, seq) =>
      new IpvsError(`generic netlink family ${name} not found${s.message ? `: ${s.message}` : ''}`, {
        kind: 'kernel',
        errno: s.errno,
        operation: 'resolveFamily',
        seq,
      }),
  };
  const replies = await conn.request(req);
  const m = replies[0];
  if (!m) throw new IpvsError(`no reply describing family ${name}`, { kind: 'decode', errno: Errno.EPROTO, operation: 'resolveFamily' });
  const { attrs } = decodeGenl(m, 'nlctrl family');
  return {
    id: attrs.need(attrs.u16(CTRL_ATTR_FAMILY_ID), CTRL_ATTR_FAMILY_ID),
    version: attrs.u32(CTRL_ATTR_VERSION) ?? 0,
    maxAttr: attrs.u32(CTRL_ATTR_MAXATTR) ?? 0,
  };
}
