/**
 * A small IPVS in TypeScript, behind the native binding's interface: a
 * stand-in kernel for unit tests of what the CLIENT decides (a missing
 * service read as undefined, a tunnel confirmed or undone, real servers
 * paired with their services in a listing), passed to
 * `IpvsClient.open({ nativeBinding })`. It keeps services and real servers,
 * answers the family lookup, GET_INFO, changes, gets and dumps the way the
 * kernel does (a destination dump of a missing service is an empty list),
 * and can play an old kernel (no tunnel settings) or refuse everything
 * (no IPVS, no privilege). It never replaces the real-kernel suite
 * (test/kernel/), which is where the kernel's behaviour is asserted.
 */
import { AttributeDecoder, AttributeEncoder, ByteWriter } from '../../src/netlink/attributes.js';
import { Cmd, CmdAttr, DestAttr, InfoAttr, SvcAttr } from '../../src/ipvs/constants.js';
import type { NativeBinding } from '../../src/native.js';
import { type FakeSocket, type SentMessage, NLM_F_ACK, NLM_F_DUMP, dataMessage, doneMessage, errorMessage, fakeNative } from './fake-netlink.js';

const GENL_ID_CTRL = 0x10;
const CTRL_ATTR_FAMILY_ID = 1;
const ENOENT = 2;
const EPERM = 1;
const ESRCH = 3;
const EEXIST = 17;

export interface FakeKernelOptions {
  /** The IPVS family id it answers with. Default 0x1c. */
  family?: number;
  /** No IPVS at all: the family lookup fails with ENOENT. */
  noIpvs?: boolean;
  /** Every IPVS command fails with EPERM (no CAP_NET_ADMIN). */
  unprivileged?: boolean;
  /** A kernel before 5.2: tunnel settings of real servers are ignored. */
  noTunnels?: boolean;
}

/** Attributes of one nest, by type (as sent). */
type Attrs = Map<number, Uint8Array>;

interface Svc {
  attrs: Attrs;
  dests: Map<string, Attrs>;
}

export interface FakeKernel extends NativeBinding {
  readonly sockets: FakeSocket[];
  /** Services by key, each with its real servers. */
  readonly services: Map<string, Svc>;
  /** IPVS commands received, in order. */
  readonly commands: number[];
}

function attrsOf(d: AttributeDecoder | undefined): Attrs {
  const out: Attrs = new Map();
  if (d) for (const [type, bytes] of d.all()) out.set(type, Uint8Array.from(bytes));
  return out;
}

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : '-');
const serviceKey = (a: Attrs) =>
  a.has(SvcAttr.FWMARK) ? `af${hex(a.get(SvcAttr.AF))} fwm${hex(a.get(SvcAttr.FWMARK))}` : `af${hex(a.get(SvcAttr.AF))} p${hex(a.get(SvcAttr.PROTOCOL))} ${hex(a.get(SvcAttr.ADDR))}:${hex(a.get(SvcAttr.PORT))}`;
const destKey = (a: Attrs) => `${hex(a.get(DestAttr.ADDR))}:${hex(a.get(DestAttr.PORT))}`;

/** A genl message of the IPVS family: cmd, version 1, then `attrs`. */
function genl(cmd: number, attrs: (e: AttributeEncoder) => void): Uint8Array {
  const w = new ByteWriter(256);
  const at = w.reserve(4);
  w.buf[at] = cmd;
  w.buf[at + 1] = 1;
  attrs(new AttributeEncoder(w));
  return w.bytes();
}

function nest(e: AttributeEncoder, type: number, attrs: Attrs): void {
  e.nested(type, (n) => {
    for (const [t, b] of attrs) n.bytes(t, b);
  });
}

export function fakeKernel(opts: FakeKernelOptions = {}): FakeKernel {
  const family = opts.family ?? 0x1c;
  const services = new Map<string, Svc>();
  const commands: number[] = [];

  const respond = (m: SentMessage, f: FakeSocket): void => {
    const ack = (errno = 0) => {
      if (errno !== 0 || m.flags & NLM_F_ACK) f.reply(errorMessage(m.seq, errno));
    };
    if (m.type === GENL_ID_CTRL) {
      if (opts.noIpvs) return ack(ENOENT);
      f.reply(dataMessage(m.seq, GENL_ID_CTRL, genl(1, (e) => e.u16(CTRL_ATTR_FAMILY_ID, family)), 0));
      return ack();
    }
    if (m.type !== family) return ack(ENOENT);
    if (opts.unprivileged) return ack(EPERM);
    const cmd = m.payload[0]!;
    commands.push(cmd);
    const top = new AttributeDecoder(m.payload.subarray(4), 'request');
    const svcAttrs = attrsOf(top.nested(CmdAttr.SERVICE));
    const destAttrs = attrsOf(top.nested(CmdAttr.DEST));
    const svc = services.get(serviceKey(svcAttrs));
    const reply = (c: number, attrs: (e: AttributeEncoder) => void, multi: boolean) => f.reply(dataMessage(m.seq, family, genl(c, attrs), multi ? 2 : 0));
    const dump = (m.flags & NLM_F_DUMP) === NLM_F_DUMP;
    switch (cmd) {
      case Cmd.GET_INFO:
        reply(cmd, (e) => e.u32(InfoAttr.VERSION, 0x010201).u32(InfoAttr.CONN_TAB_SIZE, 4096), false);
        return ack();
      case Cmd.NEW_SERVICE:
        if (svc) return ack(EEXIST);
        services.set(serviceKey(svcAttrs), { attrs: svcAttrs, dests: new Map() });
        return ack();
      case Cmd.SET_SERVICE:
        if (!svc) return ack(ESRCH);
        for (const [t, b] of svcAttrs) svc.attrs.set(t, b);
        return ack();
      case Cmd.DEL_SERVICE:
        if (!svc) return ack(ESRCH);
        services.delete(serviceKey(svcAttrs));
        return ack();
      case Cmd.GET_SERVICE:
        if (dump) {
          for (const s of services.values()) reply(cmd, (e) => nest(e, CmdAttr.SERVICE, s.attrs), true);
          return f.reply(doneMessage(m.seq));
        }
        if (!svc) return ack(ESRCH);
        reply(cmd, (e) => nest(e, CmdAttr.SERVICE, svc.attrs), false);
        return ack();
      case Cmd.NEW_DEST:
      case Cmd.SET_DEST: {
        if (!svc) return ack(ESRCH);
        const exists = svc.dests.has(destKey(destAttrs));
        if (cmd === Cmd.NEW_DEST && exists) return ack(EEXIST);
        if (cmd === Cmd.SET_DEST && !exists) return ack(ENOENT);
        const kept = new Map(destAttrs);
        if (opts.noTunnels) for (const t of [DestAttr.TUN_TYPE, DestAttr.TUN_PORT, DestAttr.TUN_FLAGS]) kept.delete(t);
        svc.dests.set(destKey(destAttrs), kept);
        return ack();
      }
      case Cmd.DEL_DEST:
        if (!svc) return ack(ESRCH);
        if (!svc.dests.delete(destKey(destAttrs))) return ack(ENOENT);
        return ack();
      case Cmd.GET_DEST:
        // (the kernel answers a dump of a missing service with no real servers)
        for (const d of svc?.dests.values() ?? []) reply(cmd, (e) => nest(e, CmdAttr.DEST, d), true);
        return f.reply(doneMessage(m.seq));
      case Cmd.FLUSH:
        services.clear();
        return ack();
      default:
        return ack();
    }
  };

  const native = fakeNative({ respond });
  return Object.assign(native, { services, commands });
}
