/**
 * The bookkeeping of requests in flight: which are waiting for what, how a
 * reply settles them, and when they time out.
 *
 * Three kinds of entry, by how they were sent:
 * - a Pending asked for its own reply (reads, dumps, the last change of a send);
 * - a Pending sent without NLM_F_ACK ("silent"): any later reply proves it ran;
 * - a Span: requests a feed wrote straight into one send, consecutive
 *   sequence numbers with no object per request (bench row "batch()":
 *   a batch of 30,000 then hands the garbage collector nothing per change).
 */
import {
  Errno,
  IpvsError,
  interruptedError,
  kernelError,
  replyDecodeError,
  timeoutError,
} from '../errors.js';
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_DUMP_INTR } from './constants.js';
import { os } from './endian.js';
import { type NetlinkMessage, type NetlinkStatus, isPlainSuccess, statusAt } from './message.js';
import { NONE, type Request, type RequestSource, type Settle } from './request.js';

export class Pending {
  seq = 0;
  /** For promises (see Connection.request): how to settle them. */
  resolve: ((v: unknown) => void) | null = null;
  reject: ((e: unknown) => void) | null = null;
  /** Resolve the promise with undefined instead of the replies. */
  void = false;
  /** Position in send order (never wraps, unlike seq). */
  index = 0;
  /** Where the message starts in the send buffer while a send is built. */
  offset = 0;
  replies: NetlinkMessage[] | null = null;
  interrupted = false;
  /** Sent without NLM_F_ACK: settled by a later reply (or its own error). */
  silent = false;
  done = false;
  /** The timer tick of the last sign of life. */
  tick = 0;
  constructor(
    readonly req: Request,
    /** Who hears the outcome: a callback, or a feed's source with the request's number. */
    private readonly settle: Settle | null,
    private readonly source: RequestSource | null = null,
    private readonly number = 0,
  ) {}
  /** Delivers the outcome (once). */
  complete(error: IpvsError | null, replies: NetlinkMessage[]): void {
    this.done = true;
    if (this.resolve) {
      if (error) this.reject!(error);
      else this.resolve(this.void ? undefined : replies);
    } else if (this.source) this.source.settle(this.number, error, replies);
    else this.settle!(error, replies);
  }
}

/**
 * Requests a feed wrote straight into one send: consecutive sequence
 * numbers, source numbers and send positions.
 */
export class Span {
  count = 0;
  /** Send position of the first item (set when the send is numbered). */
  firstSend = 0;
  /** Items before this one are settled. */
  settled = 0;
  /** Where the last item starts in the send buffer (while the send is built). */
  lastAt = 0;
  /** Items that failed on their own (by offset), rarely any. */
  failed: Set<number> | null = null;
  tick = 0;
  constructor(
    readonly source: RequestSource,
    readonly firstSeq: number,
    readonly firstIndex: number,
  ) {}
  /** The offset of `seq` in this span, or -1. */
  offsetOf(seq: number): number {
    const d = (seq - this.firstSeq) >>> 0;
    return d < this.count ? d : -1;
  }
  operation(offset: number): string {
    return this.source.operation?.(this.firstIndex + offset) ?? 'request';
  }
  /** Fails the unsettled items; returns how many. */
  fail(make: (offset: number) => IpvsError): number {
    let n = 0;
    while (this.settled < this.count) {
      const i = this.settled++;
      if (this.failed?.has(i)) continue;
      n++;
      this.source.settle(this.firstIndex + i, make(i), NONE);
    }
    return n;
  }
}

const OK: NetlinkStatus = Object.freeze({ errno: 0 });

export class InFlight {
  private readonly bySeq = new Map<number, Pending>();
  /** Requests sent without an ack, in send order (from silentHead on). */
  private silent: Array<Pending | undefined> = [];
  private silentHead = 0;
  /** Spans in send order; `spanItems` of their items are not settled yet. */
  private spans: Span[] = [];
  private spanItems = 0;
  /** A dump is being answered (the kernel runs one at a time per socket). */
  dumpActive = false;
  /** Send positions handed out so far. */
  private sendIndex = 0;
  /** A coarse clock (no system call per request): every entry remembers the tick it last heard of. */
  private tick = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly tickMs: number;

  constructor(
    private readonly timeoutMs: number,
    /** Called after a tick expired requests (the connection sends more and updates its ref). */
    private readonly onExpired: () => void,
  ) {
    this.tickMs = Math.max(5, Math.min(1000, Math.ceil(timeoutMs / 8)));
  }

  /** Requests waiting for an outcome. */
  get waiting(): number {
    return this.bySeq.size + this.spanItems;
  }

  /** Records a send's entries, in buffer order: they now wait for replies. */
  sent(order: ReadonlyArray<Pending | Span>, dump: boolean): void {
    for (const e of order) {
      if (e instanceof Span) {
        e.firstSend = this.sendIndex + 1;
        this.sendIndex += e.count;
        e.tick = this.tick;
        this.spans.push(e);
        this.spanItems += e.count;
      } else {
        e.index = ++this.sendIndex;
        e.tick = this.tick;
        this.bySeq.set(e.seq, e);
        if (e.silent) this.silent.push(e);
      }
    }
    if (dump) this.dumpActive = true;
    this.armTimer();
  }

  /** Takes back a send that failed: its entries fail with `make`'s error. */
  unsend(order: ReadonlyArray<Pending | Span>, dump: boolean, make: (operation: string) => IpvsError): void {
    for (const x of order) {
      if (x instanceof Span) {
        this.spans.splice(this.spans.indexOf(x), 1);
        this.spanItems -= x.count;
        for (let i = 0; i < x.count; i++) x.source.settle(x.firstIndex + i, make(x.operation(i)), NONE);
      } else {
        this.bySeq.delete(x.seq);
        if (x.silent) {
          const at = this.silent.lastIndexOf(x);
          if (at >= this.silentHead) this.silent[at] = undefined;
        }
        x.complete(make(x.req.operation), NONE);
      }
    }
    if (dump) this.dumpActive = false;
  }

  /**
   * Handles one received message (`len` bytes at `at`; `shared`: the bytes
   * are the receive buffer's, copied when kept).
   */
  receive(data: Buffer, view: DataView, at: number, len: number, shared: boolean): void {
    const type = view.getUint16(at + 4, os);
    const flags = view.getUint16(at + 6, os);
    const seq = view.getUint32(at + 8, os);
    const p = this.bySeq.get(seq);
    if (!p) {
      if (this.spans.length > 0) this.spanReply(data, view, at, len, type, flags, seq);
      return;
    }
    p.tick = this.tick;
    // The kernel ran every request sent before this one.
    this.settleBefore(p.index);
    if (type === NLMSG_NOOP || type === NLMSG_OVERRUN) return;
    if (isPlainSuccess(view, at, len, type, flags)) {
      this.finish(p, OK); // a plain ack, or the plain end of a dump
      return;
    }
    try {
      if (type === NLMSG_ERROR || type === NLMSG_DONE) {
        this.finish(p, statusAt(data, view, at, len, type, flags));
      } else {
        if (flags & NLM_F_DUMP_INTR) p.interrupted = true;
        if (p.req.onReply) p.req.onReply(data, view, at + NLMSG_HDRLEN, at + len);
        else {
          const payload = shared ? copyOf(data, at + NLMSG_HDRLEN, at + len) : data.subarray(at + NLMSG_HDRLEN, at + len);
          (p.replies ??= []).push({ type, flags, seq, pid: view.getUint32(at + 12, os), payload });
        }
      }
    } catch (e) {
      this.bySeq.delete(p.seq);
      if (p.req.dump) this.dumpActive = false;
      p.complete(replyDecodeError((e as Error).message, p.req.operation, p.seq, e), NONE);
    }
  }

  /** A reply to a request written by a feed: an ack or an error (they are all changes). */
  private spanReply(data: Uint8Array, view: DataView, at: number, len: number, type: number, flags: number, seq: number): void {
    let span: Span | undefined;
    let offset = -1;
    for (const s of this.spans) {
      offset = s.offsetOf(seq);
      if (offset >= 0) {
        span = s;
        break;
      }
    }
    if (!span || offset < span.settled || span.failed?.has(offset)) return;
    const send = span.firstSend + offset;
    this.settleBefore(send);
    if (type !== NLMSG_ERROR) return;
    let status: NetlinkStatus;
    if (len >= NLMSG_HDRLEN + 4 && isPlainSuccess(view, at, len, type, flags)) status = OK;
    else {
      try {
        status = statusAt(data, view, at, len, type, flags);
      } catch (e) {
        status = { errno: Errno.EPROTO, message: `a reply did not decode: ${(e as Error).message}` };
      }
    }
    if (status.errno === 0) {
      this.settleBefore(send + 1);
      return;
    }
    (span.failed ??= new Set()).add(offset);
    this.spanItems--;
    const index = span.firstIndex + offset;
    const source = span.source;
    const error = source.describe ? source.describe(index, status, seq) : kernelError(status, span.operation(offset), seq);
    this.trimSpans();
    source.settle(index, error, NONE);
  }

  /** Settles, as successes, the requests sent without an ack before send position `index`. */
  private settleBefore(index: number): void {
    if (this.silentHead < this.silent.length) this.settleSilent(index);
    if (this.spans.length === 0) return;
    // (settling may run callbacks that queue more; work on what is here now)
    const spans = this.spans;
    for (let k = 0; k < spans.length; k++) {
      const s = spans[k]!;
      if (s.firstSend >= index) break;
      const upTo = Math.min(s.count, index - s.firstSend);
      while (s.settled < upTo) {
        const i = s.settled++;
        if (s.failed?.has(i)) continue;
        this.spanItems--;
        s.source.settle(s.firstIndex + i, null, NONE);
      }
    }
    this.trimSpans();
  }

  /** Drops spans whose every item is settled. */
  private trimSpans(): void {
    let k = 0;
    const spans = this.spans;
    while (k < spans.length && spans[k]!.settled >= spans[k]!.count) k++;
    if (k > 0) this.spans = spans.slice(k);
  }

  private settleSilent(index: number): void {
    const silent = this.silent;
    let i = this.silentHead;
    for (; i < silent.length && (silent[i]?.index ?? 0) < index; i++) {
      const s = silent[i];
      silent[i] = undefined; // let it go now: sends overlap, so the array may not empty soon
      if (!s || s.done) continue;
      this.bySeq.delete(s.seq);
      s.complete(null, NONE);
    }
    if (i === silent.length) {
      silent.length = 0;
      this.silentHead = 0;
    } else {
      this.silentHead = i;
      if (i > 1024 && i * 2 > silent.length) {
        this.silent = silent.slice(i);
        this.silentHead = 0;
      }
    }
  }

  private finish(p: Pending, status: NetlinkStatus): void {
    this.bySeq.delete(p.seq);
    if (p.req.dump) this.dumpActive = false;
    if (status.errno !== 0) {
      p.complete(p.req.describe ? p.req.describe(status, p.seq) : kernelError(status, p.req.operation, p.seq), NONE);
    } else if (p.interrupted) {
      p.complete(interruptedError(p.req.operation, p.seq), NONE);
    } else {
      p.complete(null, p.replies ?? NONE);
    }
  }

  /** Fails everything waiting for a reply. */
  failAll(make: (operation: string, seq: number | undefined) => IpvsError): void {
    const waiting = [...this.bySeq.values()];
    const spans = this.spans;
    this.bySeq.clear();
    this.silent = [];
    this.silentHead = 0;
    this.spans = [];
    this.spanItems = 0;
    this.dumpActive = false;
    for (const p of waiting) p.complete(make(p.req.operation, p.seq), NONE);
    for (const s of spans) s.fail((i) => make(s.operation(i), (s.firstSeq + i) >>> 0));
  }

  private armTimer(): void {
    if (this.timer || this.waiting === 0) return;
    this.timer = setInterval(() => this.expire(), this.tickMs);
    this.timer.unref();
  }

  /** Stops the clock (the connection closed). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private expire(): void {
    this.tick++;
    if (this.waiting === 0) {
      this.stop();
      return;
    }
    // A request is late once more than timeoutMs of whole ticks have passed.
    const limit = Math.ceil(this.timeoutMs / this.tickMs);
    for (const p of this.bySeq.values()) {
      if (this.tick - p.tick <= limit) continue;
      this.bySeq.delete(p.seq);
      if (p.req.dump) this.dumpActive = false;
      p.complete(timeoutError(p.req.operation, this.timeoutMs, p.seq), NONE);
    }
    const spans = this.spans;
    if (spans.length > 0 && this.tick - spans[0]!.tick > limit) {
      const expired = spans.filter((s) => this.tick - s.tick > limit);
      this.spans = spans.filter((s) => this.tick - s.tick <= limit);
      for (const s of expired) this.spanItems -= s.fail((i) => timeoutError(s.operation(i), this.timeoutMs, (s.firstSeq + i) >>> 0));
    }
    this.onExpired();
  }
}

/** A copy of some bytes (small ones come out of Buffer's shared pool). */
function copyOf(data: Buffer, start: number, end: number): Buffer {
  const b = Buffer.allocUnsafe(end - start);
  data.copy(b, 0, start, end);
  return b;
}
