/**
 * IPVS_DEBUG=1: one line per message sent or received, decoded (command,
 * attributes by name, addresses and ports as people write them). The
 * client hands this to the connection, which knows no family itself.
 * Debug output only: a message that does not decode is shown as far as it
 * goes, never an error.
 */
import { errnoName } from '../errors.js';
import { CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, GENL_HDRLEN, GENL_ID_CTRL } from '../genetlink/genl.js';
import { AttributeDecoder } from '../netlink/attributes.js';
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_NOOP, NLM_F_ACK, NLM_F_DUMP, NLM_F_MULTI, NLM_F_REQUEST } from '../netlink/constants.js';
import { os } from '../netlink/endian.js';
import { parseDone, parseError } from '../netlink/message.js';
import { formatAddress } from './address.js';
import { AF_INET6, Cmd, CmdAttr, DaemonAttr, DestAttr, InfoAttr, SvcAttr } from './constants.js';
import { familyName } from './names.js';

const names = (table: Record<string, number>): Map<number, string> => new Map(Object.entries(table).map(([k, v]) => [v, k]));
const CMD = names(Cmd);
const TOP = names(CmdAttr);
const NESTS: Record<number, Map<number, string>> = { [CmdAttr.SERVICE]: names(SvcAttr), [CmdAttr.DEST]: names(DestAttr), [CmdAttr.DAEMON]: names(DaemonAttr) };
const INFO = names(InfoAttr);
/** Attributes in network byte order, by nest. */
const BIG_ENDIAN: Record<number, Set<number>> = { [CmdAttr.SERVICE]: new Set([SvcAttr.PORT, SvcAttr.NETMASK]), [CmdAttr.DEST]: new Set([DestAttr.PORT, DestAttr.TUN_PORT]) };
const STRINGS = new Set([`${CmdAttr.SERVICE}.${SvcAttr.SCHED_NAME}`, `${CmdAttr.SERVICE}.${SvcAttr.PE_NAME}`, `${CmdAttr.DAEMON}.${DaemonAttr.MCAST_IFN}`]);

function flagsText(flags: number): string {
  const f: string[] = [];
  if (flags & NLM_F_REQUEST) f.push('request');
  if (flags & NLM_F_MULTI) f.push('multi');
  if (flags & NLM_F_ACK) f.push('ack');
  if ((flags & NLM_F_DUMP) === NLM_F_DUMP) f.push('dump');
  return f.join('|') || '0';
}

/** One attribute's value, by its size (and what it is, where that matters). */
function value(nest: number, type: number, b: Uint8Array, af: number): string {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (STRINGS.has(`${nest}.${type}`)) return JSON.stringify(Buffer.from(b).toString('utf8').replace(/\0.*$/s, ''));
  if ((nest === CmdAttr.SERVICE && type === SvcAttr.ADDR) || (nest === CmdAttr.DEST && type === DestAttr.ADDR)) {
    const fam = familyName(af) ?? (b.length === 4 ? 'inet' : 'inet6');
    if (b.length >= (fam === 'inet' ? 4 : 16)) return formatAddress(fam, b);
  }
  const big = BIG_ENDIAN[nest]?.has(type) ?? false;
  if (b.length === 1) return String(b[0]);
  if (b.length === 2) return String(v.getUint16(0, !big && os));
  if (b.length === 4) return nest === CmdAttr.SERVICE && type === SvcAttr.NETMASK && af !== AF_INET6 ? formatAddress('inet', b) : String(v.getUint32(0, !big && os));
  if (b.length === 8 && nest === CmdAttr.SERVICE && type === SvcAttr.FLAGS) return `0x${v.getUint32(0, os).toString(16)}/0x${v.getUint32(4, os).toString(16)}`;
  return `<${b.length} bytes>`;
}

function attrs(d: AttributeDecoder, nest: number): string {
  const all = d.all();
  const names = nest === 0 ? TOP : NESTS[nest];
  const afRaw = all.find(([t]) => (nest === CmdAttr.SERVICE && t === SvcAttr.AF) || (nest === CmdAttr.DEST && t === DestAttr.ADDR_FAMILY))?.[1];
  const af = afRaw && afRaw.length === 2 ? new DataView(afRaw.buffer, afRaw.byteOffset).getUint16(0, os) : 0;
  return all
    .map(([type, b]) => {
      const name = names?.get(type) ?? String(type);
      if (nest === 0 && NESTS[type]) return `${name} { ${attrs(new AttributeDecoder(b, name), type)} }`;
      if (name.startsWith('STATS')) return `${name} {...}`;
      return `${name}=${value(nest, type, b, af)}`;
    })
    .join(' ');
}

/** Words one netlink message of the IPVS family `family` (or nlctrl, or a control message). */
export function describeMessage(family: number, bytes: Uint8Array): string {
  if (bytes.length < NLMSG_HDRLEN) return `${bytes.length} bytes`;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = v.getUint16(4, os);
  const flags = v.getUint16(6, os);
  const seq = v.getUint32(8, os);
  const payload = bytes.subarray(NLMSG_HDRLEN);
  const head = `seq ${seq} [${flagsText(flags)}]`;
  try {
    const m = { type, flags, seq, pid: v.getUint32(12, os), payload };
    if (type === NLMSG_ERROR) {
      const s = parseError(m);
      return `${head} ${s.errno === 0 ? 'ack' : `error ${errnoName(s.errno)}`}${s.message ? ` "${s.message}"` : ''}`;
    }
    if (type === NLMSG_DONE) {
      const s = parseDone(m);
      return `${head} done${s.errno ? ` ${errnoName(s.errno)}` : ''}`;
    }
    if (type === NLMSG_NOOP) return `${head} noop`;
    if (payload.length < GENL_HDRLEN) return `${head} type ${type}, ${payload.length} bytes`;
    const top = new AttributeDecoder(payload, 'debug', undefined, GENL_HDRLEN);
    if (type === GENL_ID_CTRL) {
      const name = top.has(CTRL_ATTR_FAMILY_NAME) ? ` name=${top.string(CTRL_ATTR_FAMILY_NAME)}` : '';
      const id = top.has(CTRL_ATTR_FAMILY_ID) ? ` id=${top.raw(CTRL_ATTR_FAMILY_ID)!.length === 2 ? top.u16(CTRL_ATTR_FAMILY_ID) : '?'}` : '';
      return `${head} nlctrl cmd ${payload[0]}${name}${id}`;
    }
    if (type !== family) return `${head} type ${type}, ${payload.length} bytes`;
    const cmd = payload[0]!;
    const body = cmd === Cmd.GET_INFO || cmd === Cmd.SET_INFO ? top.all().map(([t, b]) => `${INFO.get(t) ?? t}=${value(-1, t, b, 0)}`).join(' ') : attrs(top, 0);
    return `${head} IPVS ${CMD.get(cmd) ?? `cmd ${cmd}`}${body ? ` ${body}` : ''}`;
  } catch (e) {
    return `${head} type ${type}, ${payload.length} bytes (${(e as Error).message})`;
  }
}
