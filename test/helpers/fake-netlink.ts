/**
 * A stand-in for the native netlink socket, for unit tests of the
 * connection without a kernel. A script (`respond`) sees every message sent,
 * in order, and queues replies the way the kernel does: synchronously,
 * inside send. Replies reach the connection on a later turn, in one buffer,
 * and, like the native side, the fake reads again at once when the
 * connection sends from inside its callback (bounded rounds).
 */
import type { NativeBinding, NativeError, NativeSocket, OnData } from '../../src/native.js';

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_ACK = 0x04;
export const NLM_F_MULTI = 0x02;
export const NLM_F_DUMP = 0x300;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** One message as the fake kernel saw it. */
export interface SentMessage {
  type: number;
  flags: number;
  seq: number;
  /** The payload after the 16-byte header. */
  payload: Uint8Array;
  /** Which send it came in (0, 1, ...). */
  send: number;
}

export interface FakeOptions {
  /** Called for every message sent, in order; queue replies with `reply`. Default: ack what asks for it. */
  respond?: (m: SentMessage, fake: FakeSocket) => void;
  /** SO_RCVBUF to report; omit to report none. */
  receiveBufferSize?: number;
  /** Read rounds per wake when the connection sends from its callback. Default 32. */
  maxRounds?: number;
  /** Keep every message sent in `sent` (default true; off for benchmarks). */
  record?: boolean;
  /**
   * Deliver replies like the addon after useReceiveBuffer: into the one
   * buffer, passing only their length, and scribble over it once the
   * callback returns (so anything kept without a copy shows up corrupt).
   */
  shared?: boolean;
}

function header(len: number, type: number, flags: number, seq: number): Uint8Array {
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  return b;
}

/** An NLMSG_ERROR: errno 0 is an ack. `text` becomes an extended-ack message (NLMSGERR_ATTR_MSG). */
export function errorMessage(seq: number, errno: number, text?: string): Uint8Array {
  const tlv = text === undefined ? 0 : (4 + Buffer.byteLength(text) + 1 + 3) & ~3;
  const len = 16 + 4 + 16 + tlv;
  const b = header(len, NLMSG_ERROR, NLM_F_CAPPED | (text !== undefined ? NLM_F_ACK_TLVS : 0), seq);
  const v = new DataView(b.buffer);
  v.setInt32(16, -errno, true);
  // the request's header (capped: no payload)
  v.setUint32(20, 16, true);
  v.setUint32(28, seq, true);
  if (text !== undefined) {
    v.setUint16(36, 4 + Buffer.byteLength(text) + 1, true);
    v.setUint16(38, 1, true);
    b.set(Buffer.from(text), 40);
  }
  return b;
}

/** A data message (a dump part or a get reply) with the given payload. */
export function dataMessage(seq: number, type: number, payload: Uint8Array, flags = NLM_F_MULTI): Uint8Array {
  const len = 16 + payload.length;
  const b = header((len + 3) & ~3, type, flags, seq);
  new DataView(b.buffer).setUint32(0, len, true);
  b.set(payload, 16);
  return b;
}

/** NLMSG_DONE, with a negative errno when the dump failed. */
export function doneMessage(seq: number, errno = 0, flags = NLM_F_MULTI): Uint8Array {
  const b = header(20, NLMSG_DONE, flags, seq);
  new DataView(b.buffer).setInt32(16, -errno, true);
  return b;
}

export class FakeSocket implements NativeSocket {
  readonly portId = 4242;
  readonly receiveBufferSize: number | undefined;
  /** Every message sent so far. */
  readonly sent: SentMessage[] = [];
  /** Byte length of every send. */
  readonly sends: number[] = [];
  refed = false;
  closed = false;
  /** Rounds of the last wake (how many times onData ran before going back to the loop). */
  lastRounds = 0;
  /** Make the next send throw this errno. */
  failNextSend: number | undefined;
  private queue: Uint8Array[] = [];
  private recv: Uint8Array | undefined;
  private wakeScheduled = false;
  private sentInCallback = false;

  constructor(
    private readonly onData: OnData,
    private readonly opts: FakeOptions,
  ) {
    this.receiveBufferSize = opts.receiveBufferSize;
    if (opts.shared) {
      this.useReceiveBuffer = (buffer) => {
        this.recv = buffer;
        return buffer.length;
      };
    }
  }

  send(whole: Uint8Array, length = whole.length): number {
    const buffer = whole.subarray(0, length);
    if (this.closed) throw Object.assign(new Error('sendto: Bad file descriptor'), { errno: 9, syscall: 'sendto' });
    if (this.failNextSend !== undefined) {
      const errno = this.failNextSend;
      this.failNextSend = undefined;
      throw Object.assign(new Error(`sendto: errno ${errno}`), { errno, syscall: 'sendto' });
    }
    const copy = new Uint8Array(buffer);
    const v = new DataView(copy.buffer);
    const sendNo = this.sends.length;
    this.sends.push(copy.length);
    for (let off = 0; off + 16 <= copy.length; ) {
      const len = v.getUint32(off, true);
      if (len < 16 || off + len > copy.length) throw new Error(`fake: bad message length ${len} at ${off}`);
      const m: SentMessage = { type: v.getUint16(off + 4, true), flags: v.getUint16(off + 6, true), seq: v.getUint32(off + 8, true), payload: copy.subarray(off + 16, off + len), send: sendNo };
      if (this.opts.record !== false) this.sent.push(m);
      (this.opts.respond ?? defaultRespond)(m, this);
      off += (len + 3) & ~3;
    }
    this.sentInCallback = true;
    this.wake();
    return buffer.length;
  }

  /** Queues raw reply bytes (one or more messages) for the connection to read. */
  reply(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.wake();
  }

  /** Delivers an error as the native side would (e.g. ENOBUFS). */
  fail(errno: number, syscall = 'recvmmsg'): void {
    const e = Object.assign(new Error(`${syscall}: errno ${errno}`), { errno, syscall }) as NativeError;
    setImmediate(() => this.onData(e, null));
  }

  useReceiveBuffer?: (buffer: Uint8Array) => number;

  ref(): void {
    this.refed = true;
  }
  unref(): void {
    this.refed = false;
  }
  close(): void {
    this.closed = true;
  }

  private wake(): void {
    if (this.wakeScheduled || this.closed) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      const maxRounds = this.opts.maxRounds ?? 32;
      let rounds = 0;
      while (this.queue.length > 0 && rounds < maxRounds && !this.closed) {
        const parts = this.queue;
        this.queue = [];
        const total = parts.reduce((n, p) => n + ((p.length + 3) & ~3), 0);
        const buf = Buffer.alloc(total);
        let at = 0;
        for (const p of parts) {
          buf.set(p, at);
          at += (p.length + 3) & ~3;
        }
        this.sentInCallback = false;
        rounds++;
        if (this.recv) {
          if (total > this.recv.length) throw new Error('fake: replies overflow the receive buffer');
          this.recv.set(buf);
          this.onData(null, total);
          this.recv.fill(0xaa, 0, total);
        } else this.onData(null, buf);
        if (!this.sentInCallback) break;
      }
      this.lastRounds = rounds;
      if (this.queue.length > 0) this.wake();
    });
  }
}

/** Acks whatever asks for an ack; answers dumps with an empty NLMSG_DONE. */
export function defaultRespond(m: SentMessage, fake: FakeSocket): void {
  if ((m.flags & NLM_F_DUMP) === NLM_F_DUMP) fake.reply(doneMessage(m.seq));
  else if (m.flags & NLM_F_ACK) fake.reply(errorMessage(m.seq, 0));
}

/** A NativeBinding whose sockets are fakes; `sockets` holds every one made. */
export function fakeNative(opts: FakeOptions = {}): NativeBinding & { sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = [];
  const NetlinkSocket = function (this: unknown, _protocol: number, _ns: string | null, _r: number, _s: number, onData: OnData) {
    const s = new FakeSocket(onData, opts);
    sockets.push(s);
    return s;
  } as unknown as NativeBinding['NetlinkSocket'];
  return { NetlinkSocket, sockets };
}
