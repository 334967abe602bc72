/**
 * Builds one send: requests copied into one reusable buffer, numbered, and
 * their ack flags settled.
 *
 * Ack elision (bench rows "seq", "conc", "batch()": one ack per send
 * instead of one per change, and one small read): changes the kernel
 * answers with nothing but an ack ("replyless" requests) go without
 * NLM_F_ACK when a later request of the same send asks for one. The kernel
 * runs one socket's messages in order and still answers a failed one with
 * NLMSG_ERROR, so any reply to a later request proves that every earlier
 * request without an error reply succeeded. Unit tests (connection.test.ts)
 * hold a send's outcomes equal to those of the same requests sent one by one.
 *
 * The probe: a request that may go unanswered (Request.mayGoUnanswered) is
 * followed by an NLMSG_NOOP asking for an ack, whose reply proves it ran.
 */
import { encodeError, type IpvsError } from '../errors.js';
import { ByteWriter } from './attributes.js';
import { NLMSG_HDRLEN, NLMSG_NOOP, NLM_F_ACK, NLM_F_REQUEST, align } from './constants.js';
import { os } from './endian.js';
import { Pending, Span } from './inflight.js';
import { writeHeader } from './message.js';
import { MAX_WRITTEN, type Request, type RequestSource, type Settle } from './request.js';

/**
 * Sequence numbers run from 1 to this and wrap: the kernel echoes any u32,
 * but V8 keeps integers up to 2^31 - 1 unboxed, and a number that is not
 * would make the compiled send path start over.
 */
export const MAX_SEQ = 0x7fffffff;

const NO_BYTES = new Uint8Array(0);
/** A probe's outcome: what it proves is read off the request before it. */
const ignoreOutcome: Settle = () => {};

export class SendBuilder {
  readonly w: ByteWriter;
  /** What the send holds, in buffer order. */
  readonly order: Array<Pending | Span> = [];
  /** Messages in the send. */
  messages = 0;
  /** Whether a dump is in the send. */
  dump = false;
  /** The last message that is not a dump (it will carry the ack), by offset. */
  private proofAt = -1;
  private proofIsSpan = false;
  /** The last sequence number handed out. */
  seq = 1 + Math.floor(Math.random() * (MAX_SEQ - 1));

  constructor(private readonly maxBytes: number) {
    // Room past maxBytes for one more written request and a probe.
    this.w = new ByteWriter(maxBytes + 2 * MAX_WRITTEN);
  }

  /** Starts a new send. */
  begin(): void {
    this.w.length = 0;
    this.order.length = 0;
    this.messages = 0;
    this.dump = false;
    this.proofAt = -1;
    this.proofIsSpan = false;
  }

  /** Whether a written request (at most MAX_WRITTEN bytes) still fits. */
  get roomForWritten(): boolean {
    return this.w.length + MAX_WRITTEN <= this.maxBytes;
  }

  private nextSeq(): number {
    this.seq = this.seq >= MAX_SEQ ? 1 : this.seq + 1;
    return this.seq;
  }

  /**
   * Lets a feed write up to `limit` requests straight into the buffer,
   * numbered consecutively from its request `firstIndex`: one span, or null
   * when it wrote none. Kept apart from the general path so that this loop,
   * which carries batches and concurrent changes, stays small and compiled.
   */
  writeSpan(source: RequestSource, firstIndex: number, limit: number): Span | null {
    const w = this.w;
    const first = this.messages === 0;
    let span: Span | null = null;
    while (span === null ? limit > 0 : span.count < limit) {
      if (!(first && span === null) && !this.roomForWritten) break;
      // Sequence numbers of a span are consecutive: stop where they wrap.
      if (span !== null && this.seq === MAX_SEQ) break;
      const start = w.length;
      let wrote = false;
      try {
        wrote = source.write!(w);
      } catch {
        wrote = false; // (next() will report it)
      }
      if (!wrote) {
        w.length = start;
        break;
      }
      const seq = this.nextSeq();
      if (span === null) span = new Span(source, seq, firstIndex);
      span.count++;
      span.lastAt = start;
      w.view.setUint32(start + 8, seq, os);
      w.reserve(align(w.length) - w.length);
    }
    if (span !== null) {
      this.order.push(span);
      this.messages += span.count;
      this.proofAt = span.lastAt;
      this.proofIsSpan = true;
    }
    return span;
  }

  /**
   * Appends a request, numbered: true when it is in the send, false when it
   * does not fit (the first request of a send always does), or the error
   * when it does not encode.
   */
  write(p: Pending): boolean | IpvsError {
    const w = this.w;
    const start = w.length;
    try {
      encodeInto(w, p.req);
    } catch (e) {
      w.length = start;
      return encodeError(p.req.operation, e);
    }
    if (this.messages > 0 && w.length > this.maxBytes) {
      w.length = start;
      return false;
    }
    p.offset = start;
    p.seq = this.nextSeq();
    w.view.setUint32(start + 8, p.seq, os);
    this.order.push(p);
    this.messages++;
    if (p.req.dump) this.dump = true;
    else {
      this.proofAt = start;
      this.proofIsSpan = false;
    }
    if (p.req.mayGoUnanswered && p.req.replyless && !p.req.dump) this.writeProbe(p.req.operation);
    return true;
  }

  /**
   * Appends a probe: an NLMSG_NOOP asking for an ack, which the kernel gives
   * for any control message without calling the family. The buffer has
   * room for it past maxBytes.
   */
  private writeProbe(operation: string): void {
    const w = this.w;
    const start = w.reserve(NLMSG_HDRLEN);
    const probe = new Pending({ message: NO_BYTES, dump: false, operation }, ignoreOutcome);
    probe.offset = start;
    probe.seq = this.nextSeq();
    writeHeader(w.view, start, NLMSG_HDRLEN, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, probe.seq);
    this.order.push(probe);
    this.messages++;
    this.proofAt = start;
  }

  /** Leaves the ack out of changes that a later request of this send vouches for. */
  seal(): void {
    const v = this.w.view;
    const proofAt = this.proofAt;
    for (const e of this.order) {
      if (e instanceof Span || e.req.dump || !e.req.replyless) continue;
      const flags = v.getUint16(e.offset + 6, os);
      if (e.offset < proofAt) {
        v.setUint16(e.offset + 6, flags & ~NLM_F_ACK, os);
        e.silent = true;
      } else {
        v.setUint16(e.offset + 6, flags | NLM_F_ACK, os);
      }
    }
    if (this.proofIsSpan) v.setUint16(proofAt + 6, v.getUint16(proofAt + 6, os) | NLM_F_ACK, os);
  }
}

/** Appends a request's message to the buffer, padded to 4 bytes. */
function encodeInto(w: ByteWriter, req: Request): void {
  const start = w.length;
  if (req.encode) {
    req.encode(w);
  } else {
    const m = req.message;
    const at = w.reserve(m.length);
    w.buf.set(m, at);
  }
  const len = w.length - start;
  if (len < NLMSG_HDRLEN || w.view.getUint32(start, os) > len) throw new RangeError(`message of ${len} bytes is not netlink`);
  w.reserve(align(w.length) - w.length);
}
