/**
 * A deliberately naive netlink byte builder for the golden tests: plain
 * arrays of numbers, every field written out by hand. It shares no code with
 * the library's encoder, so a test comparing the two compares two separate
 * readings of the wire format.
 *
 * Integers are little-endian: netlink uses host order, and the library is
 * only ever run on little-endian machines (x86, arm64); `be*` are network
 * order, as IPVS ports and IPv4 netmasks are.
 */

export type Bytes = number[];

export const u8 = (v: number): Bytes => [v & 0xff];
export const u16 = (v: number): Bytes => [v & 0xff, (v >>> 8) & 0xff];
export const u32 = (v: number): Bytes => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
export const s32 = (v: number): Bytes => u32(v >>> 0);
export const u64 = (v: bigint): Bytes => {
  const out: Bytes = [];
  for (let i = 0n; i < 8n; i++) out.push(Number((v >> (8n * i)) & 0xffn));
  return out;
};
export const be16 = (v: number): Bytes => [(v >>> 8) & 0xff, v & 0xff];
export const be32 = (v: number): Bytes => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
/** A C string: UTF-8 bytes and the NUL. */
export const str = (s: string): Bytes => [...Buffer.from(s, 'utf8'), 0];
/** "0a 00 00 01  # comment" -> bytes; whitespace and "#" comments are ignored. */
export const hex = (s: string): Bytes =>
  (s.replace(/#[^\n]*/g, '').replace(/\s+/g, '').match(/../g) ?? []).map((h) => parseInt(h, 16));
/** An IPv4 address in the 16-byte union nf_inet_addr, as IPVS wants it. */
export const in4 = (a: number, b: number, c: number, d: number): Bytes => [a, b, c, d, ...Array(12).fill(0)];
export const zeros = (n: number): Bytes => Array(n).fill(0);

const pad4 = (b: Bytes): Bytes => [...b, ...zeros((4 - (b.length % 4)) % 4)];

export const NESTED = 0x8000;

/** struct nlattr: u16 length (header + payload, unpadded), u16 type, payload, padding to 4. */
export function nla(type: number, payload: Bytes, flags = 0): Bytes {
  return pad4([...u16(4 + payload.length), ...u16(type | flags), ...payload]);
}

/** A nested attribute with NLA_F_NESTED, as the library (and libnl) send them. */
export const nest = (type: number, ...children: Bytes[]): Bytes => nla(type, children.flat(), NESTED);

/** A nested attribute without the flag, as the kernel sends them in replies. */
export const knest = (type: number, ...children: Bytes[]): Bytes => nla(type, children.flat());

export interface Header {
  type: number;
  flags: number;
  seq?: number;
  pid?: number;
}

/** struct nlmsghdr + payload; nlmsg_len counts the unpadded payload, the bytes are padded. */
export function nlmsg(h: Header, payload: Bytes): Bytes {
  return pad4([...u32(16 + payload.length), ...u16(h.type), ...u16(h.flags), ...u32(h.seq ?? 0), ...u32(h.pid ?? 0), ...payload]);
}

/** struct genlmsghdr (cmd, version, reserved) + attributes. */
export const genlhdr = (cmd: number, version: number): Bytes => [cmd, version, 0, 0];

export function genlmsg(h: Header, cmd: number, version: number, ...attrs: Bytes[]): Bytes {
  return nlmsg(h, [...genlhdr(cmd, version), ...attrs.flat()]);
}

export const bytes = (...parts: Bytes[]): Uint8Array => Uint8Array.from(parts.flat());

/** One attribute of a parsed tree (see `tree`). */
export interface Node {
  type: number;
  nested: boolean;
  /** The payload, for leaves. */
  payload?: number[];
  children?: Node[];
}

/**
 * Parses attributes into a tree, the naive way: an attribute with
 * NLA_F_NESTED set, or whose type is listed in `nests`, is descended into.
 * Used to compare two requests attribute by attribute.
 */
export function tree(b: Uint8Array | Bytes, nests: (path: number[]) => boolean = () => false, path: number[] = []): Node[] {
  const a = Array.from(b);
  const out: Node[] = [];
  let off = 0;
  while (off + 4 <= a.length) {
    const len = a[off]! | (a[off + 1]! << 8);
    const rawType = a[off + 2]! | (a[off + 3]! << 8);
    if (len < 4 || off + len > a.length) throw new Error(`bad attribute at ${off}`);
    const type = rawType & 0x3fff;
    const payload = a.slice(off + 4, off + len);
    const nested = (rawType & NESTED) !== 0;
    if (nested || nests([...path, type])) out.push({ type, nested, children: tree(payload, nests, [...path, type]) });
    else out.push({ type, nested, payload });
    off += (len + 3) & ~3;
  }
  return out;
}

/** Sorts a tree by type (attribute order carries no meaning in IPVS). */
export function sorted(nodes: Node[]): Node[] {
  return [...nodes]
    .map((n) => (n.children ? { ...n, children: sorted(n.children) } : n))
    .sort((x, y) => x.type - y.type);
}
