/**
 * A netlink connection: sequence numbers, pipelining, and matching replies
 * to requests.
 *
 * Requests made together (before the current microtask checkpoint ends)
 * are copied into one reusable send buffer and sent together, many
 * messages to one system call; the native side reads every waiting reply in
 * bulk, and reads again at once when a request goes out while replies are
 * being handled (a chain of awaits costs a send and a read per request).
 *
 * Changes the kernel answers with nothing but an ack ("replyless" requests)
 * go without NLM_F_ACK when a later request of the same send asks for one:
 * the kernel runs one socket's messages in order and still answers a failed
 * one with NLMSG_ERROR, so any reply to a later request proves that every
 * earlier request without an error reply succeeded. A send of N changes thus
 * costs the kernel one ack instead of N, and us one small read.
 *
 * Feeds (batches) may write their messages straight into the send buffer;
 * such requests are tracked as spans of consecutive sequence numbers, with
 * no object per request, so a large batch gives the garbage collector
 * almost nothing to do.
 *
 * The kernel handles one dump at a time per socket, so a dump waits for the
 * previous one; requests keep their issue order. Work per turn is bounded
 * (bytes and messages per send, one send per call) so the event loop keeps
 * moving: the kernel runs every message of a send inside the system call.
 */
import { Errno, IpvsError } from '../errors.js';
import { type NativeBinding, type NativeError, type NativeSocket, RECEIVE_BUFFER_BYTES } from '../native.js';
import { ByteWriter } from './attributes.js';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  align,
} from './constants.js';
import { os } from './endian.js';
import { MAX_STAGED, StagedFeed, type StagedKind, Staging } from './staged.js';

export type { StagedKind };
import { type NetlinkMessage, type NetlinkStatus, parseDone, parseError } from './message.js';

export interface ConnectionOptions {
  /** Netlink protocol, e.g. NETLINK_GENERIC. */
  protocol: number;
  /** Path of a network namespace file to open the socket in. */
  netnsPath?: string;
  /** How long a request may wait for its reply, in ms. Default 30 000. */
  timeoutMs?: number;
  /**
   * Most requests awaiting replies at once. Default 2048, lowered when the
   * kernel grants a small receive buffer, so that even a send in which every
   * request fails cannot overrun it with error replies.
   */
  window?: number;
  /** Most bytes in one send. Default 128 KiB (a few milliseconds of kernel work at most). */
  maxSendBytes?: number;
  /** Most messages in one send. Default 1024. */
  maxSendMessages?: number;
  native: NativeBinding;
  debug?: (line: string) => void;
}

/** One request: a message (seq, and the ack flag of replyless ones, are set at send time) and what it is. */
export interface Request {
  /** The encoded message. */
  readonly message: Uint8Array;
  /**
   * Appends the same bytes as `message` to the send buffer (saves making a
   * buffer per message). Used instead of `message` when present.
   */
  encode?: (w: ByteWriter) => void;
  /** A dump: replies are multi-part and end with NLMSG_DONE (no NLM_F_ACK). */
  dump: boolean;
  /**
   * The kernel answers this request with an ack and nothing else (a change,
   * not a read). Such requests may be sent without NLM_F_ACK; see above.
   */
  replyless?: boolean;
  /**
   * The kernel may carry it out and send nothing back: a handler's -EINTR
   * makes netlink_rcv_skb skip the ack, even one asked for (IPVS's
   * DEL_DAEMON returns it when the sync thread it stopped had not started
   * yet). Such a request, replyless too, goes out without NLM_F_ACK and with
   * a probe right behind it in the same send: the kernel handles a send's
   * messages in order, so the probe's ack proves the request ran, and an
   * error of its own still comes back.
   */
  mayGoUnanswered?: boolean;
  /** Names the operation in errors, e.g. "addService". */
  operation: string;
  /** Turns a kernel refusal into the caller's error (to word it for people). */
  describe?: (status: NetlinkStatus, seq: number) => IpvsError;
  /**
   * For dumps: takes each data message as it arrives, instead of collecting
   * them as replies (the request then settles with none). The bytes are the
   * receive buffer's and are overwritten once this returns: decode, don't
   * keep. `start` is the payload (after the netlink header), `end` the end
   * of the message. A throw fails the request as a decode error.
   */
  onReply?: (data: Uint8Array, view: DataView, start: number, end: number) => void;
}

/** Receives the outcome of one request: an error, or its reply messages (none for a change). */
export type Settle = (error: IpvsError | null, replies: NetlinkMessage[]) => void;

/**
 * Hands out requests one at a time for `Connection.feed`: the connection
 * pulls the next one only when it has room to send it, so a large batch is
 * validated and encoded a chunk at a time instead of all at once. Requests
 * are numbered from 0 in the order they are handed out (by `write` or `next`).
 */
export interface RequestSource {
  /** The next request, or an input error to report for it, or undefined when done. */
  next(): Request | IpvsError | undefined;
  /** Receives the outcome of request `index` (each exactly once, in any order). */
  settle(index: number, error: IpvsError | null, replies: NetlinkMessage[]): void;
  /**
   * The fast lane, optional: appends the next request's message to `w` and
   * returns true, or returns false, writing nothing, when that request must
   * come from `next` instead (or there is none). Only replyless requests
   * may be written: a netlink header with NLM_F_REQUEST (no ack; seq is
   * filled in here), at most 512 bytes.
   */
  write?(w: ByteWriter): boolean;
  /** For written requests: the error for a kernel refusal. */
  describe?(index: number, status: NetlinkStatus, seq: number): IpvsError;
  /** For written requests: the operation's name, for errors. */
  operation?(index: number): string;
}

/** The most bytes a source may `write` for one request (staged changes are written the same way). */
export const MAX_WRITTEN = MAX_STAGED;

class Pending {
  seq = 0;
  /** For promises (see Connection.request): how to settle them. */
  resolve: ((v: unknown) => void) | null = null;
  reject: ((e: unknown) => void) | null = null;
  /** Resolve the promise with undefined instead of the replies. */
  void = false;
  /** Position in send order (never wraps, unlike seq). */
  index = 0;
  /** Where the message starts in the send buffer while a chunk is built. */
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

/** A RequestSource in the queue, with the request it handed out but could not yet send. */
class Feed {
  count = 0;
  peeked: Pending | null = null;
  ended = false;
  constructor(readonly source: RequestSource) {}
}

/**
 * Requests a feed wrote straight into one send: consecutive sequence
 * numbers, source numbers and send positions.
 */
class Span {
  count = 0;
  /** Send position of the first item (set when the chunk is numbered). */
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
}

const RCVBUF = 32 * 1024 * 1024;
/**
 * Sequence numbers run from 1 to this and wrap: the kernel echoes any u32,
 * but V8 keeps integers up to 2^31 - 1 unboxed, and a number that is not
 * would make the compiled send path start over.
 */
const MAX_SEQ = 0x7fffffff;
const SNDBUF = 4 * 1024 * 1024;
/** Room a reply may take in the receive buffer (an error with extended ack, with overhead). */
const REPLY_TRUESIZE = 1024;

export class Connection {
  private readonly socket: NativeSocket;
  private readonly timeoutMs: number;
  private readonly tickMs: number;
  private readonly window: number;
  private readonly maxSendBytes: number;
  private readonly maxSendMessages: number;
  private readonly debug: ((line: string) => void) | undefined;
  private queue: Array<Pending | Feed | undefined> = [];
  private head = 0;
  private readonly inflight = new Map<number, Pending>();
  /** Requests sent without an ack, in send order (from silentHead on). */
  private silent: Array<Pending | undefined> = [];
  private silentHead = 0;
  /** Spans in send order; `spanItems` of their items are not settled yet. */
  private spans: Span[] = [];
  private spanItems = 0;
  private readonly writer: ByteWriter;
  /** Where the addon reads replies into, when it can (no Buffer per read). */
  private recv: Buffer | null = null;
  private recvView: DataView | null = null;
  /** What the send being built holds, in buffer order. */
  private readonly order: Array<Pending | Span> = [];
  private dumpActive = false;
  /** The feed of staged changes that later ones may join (see requestStaged). */
  private staged: Feed | null = null;
  private flushScheduled = false;
  private kicked = false;
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private referenced = false;
  private seq = 1 + Math.floor(Math.random() * (MAX_SEQ - 1));
  private sendIndex = 0;
  private closed = false;

  constructor(opts: ConnectionOptions) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.tickMs = Math.max(5, Math.min(1000, Math.ceil(this.timeoutMs / 8)));
    // Every send and every turn of the event loop costs system calls (tens
    // of microseconds each where they are slow), so sends are large; the
    // kernel runs each change in a few microseconds, so even a full send
    // keeps the event loop waiting only a few milliseconds.
    this.maxSendBytes = opts.maxSendBytes ?? 128 * 1024;
    this.maxSendMessages = opts.maxSendMessages ?? 1024;
    this.writer = new ByteWriter(this.maxSendBytes + 2 * MAX_WRITTEN);
    this.debug = opts.debug;
    try {
      this.socket = new opts.native.NetlinkSocket(opts.protocol, opts.netnsPath ?? null, RCVBUF, SNDBUF, (err, data) =>
        this.onData(err, data),
      );
    } catch (e) {
      throw socketError(e, 'open');
    }
    if (this.socket.useReceiveBuffer) {
      const buf = Buffer.allocUnsafeSlow(RECEIVE_BUFFER_BYTES);
      this.socket.useReceiveBuffer(buf);
      this.recv = buf;
      this.recvView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const rcvbuf = this.socket.receiveBufferSize ?? 0;
    const fits = rcvbuf > 0 ? Math.max(16, Math.floor(rcvbuf / REPLY_TRUESIZE)) : Infinity;
    this.window = opts.window ?? Math.min(2048, fits);
  }

  /** The kernel-assigned port id of the socket. */
  get portId(): number {
    return this.socket.portId;
  }

  /** Queues a request; it is sent with the others of this event-loop turn. */
  request(req: Request): Promise<NetlinkMessage[]> {
    return this.promise(req, false) as Promise<NetlinkMessage[]>;
  }

  /** Like `request`, for changes: resolves with nothing (one promise, no wrapper). */
  requestVoid(req: Request): Promise<void> {
    return this.promise(req, true) as Promise<void>;
  }

  private promise(req: Request, asVoid: boolean): Promise<unknown> {
    if (this.closed) return Promise.reject(closedError(req.operation));
    const p = new Pending(req, null);
    p.void = asVoid;
    capturing = p;
    const promise = new Promise(capture);
    this.queue.push(p);
    this.kick();
    this.updateRef();
    return promise;
  }

  /** Where callers encode changes for `requestStaged`. */
  readonly staging = new Staging();

  /**
   * Queues the change the caller just encoded at the end of `staging.w`
   * (a netlink message with NLM_F_REQUEST and no ack, at most MAX_STAGED
   * bytes): like `requestVoid`, without a request or pending object per
   * change. Changes staged in a row share one feed, so thousands of
   * concurrent calls cost what a batch costs. `kind` words a refusal from
   * `a` and `b`.
   */
  requestStaged(kind: StagedKind, a: unknown, b: unknown): Promise<void> {
    if (this.closed) {
      this.staging.discard();
      return Promise.reject(closedError(kind.operation));
    }
    this.staging.commit();
    let f = this.staged;
    // Only the queue's last item may grow, or changes would overtake requests queued after them.
    if (!f || f.ended || this.queue[this.queue.length - 1] !== f) {
      f = new Feed(new StagedFeed(this.staging));
      this.staged = f;
      this.queue.push(f);
    }
    const promise = (f.source as StagedFeed).add(kind, a, b);
    this.kick();
    this.updateRef();
    return promise;
  }

  /** Like `request`, with a callback instead of a promise (called exactly once). */
  submit(req: Request, settle: Settle): void {
    if (this.closed) {
      settle(closedError(req.operation), NONE);
      return;
    }
    this.queue.push(new Pending(req, settle));
    this.kick();
    this.updateRef();
  }

  /**
   * Queues every request of `source`, pulled as room allows, in order; other
   * requests queued later wait behind them.
   */
  feed(source: RequestSource): void {
    if (this.closed) {
      drainClosed(source);
      return;
    }
    this.queue.push(new Feed(source));
    this.kick();
    this.updateRef();
  }

  /** Closes the socket; requests still waiting fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll((operation, seq) => new IpvsError('the IPVS handle was closed before the reply came', { kind: 'socket', errno: 9, operation, seq }));
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.socket.close();
  }

  /**
   * New work goes out at the end of the current microtask checkpoint: calls
   * made together (in one synchronous run, or in the continuations one
   * batch of replies resumes) still share sends, and a call made while
   * replies are being handled is sent before the socket is read again, so
   * the addon reads its answer in the same wake-up (sequential awaits cost
   * a send and a read each, no turn of the event loop).
   */
  private kick(): void {
    if (this.kicked) return;
    this.kicked = true;
    queueMicrotask(this.onKick);
  }

  private readonly onKick = (): void => {
    this.kicked = false;
    this.pump();
    this.updateRef();
  };

  /** More to send after a send: the next turn of the event loop, so it breathes between sends. */
  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.pump();
      this.updateRef();
    });
  }

  private nextSeq(): number {
    this.seq = this.seq >= MAX_SEQ ? 1 : this.seq + 1;
    return this.seq;
  }

  private get waiting(): number {
    return this.inflight.size + this.spanItems;
  }

  /** The next request to send (left in place), or undefined when the queue is empty. */
  private peek(): Pending | undefined {
    while (this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      if (item instanceof Pending) return item;
      if (item.peeked) return item.peeked;
      if (!item.ended) {
        const index = item.count;
        let r: Request | IpvsError | undefined;
        try {
          r = item.source.next();
        } catch (e) {
          r = e instanceof IpvsError ? e : new IpvsError(`request ${index}: ${(e as Error).message}`, { kind: 'input', errno: Errno.EINVAL, operation: 'batch', cause: e });
        }
        if (r !== undefined) {
          item.count++;
          if (r instanceof IpvsError) {
            item.source.settle(index, r, NONE);
            continue;
          }
          item.peeked = new Pending(r, null, item.source, index);
          return item.peeked;
        }
        item.ended = true;
      }
      this.queue[this.head++] = undefined;
    }
    return undefined;
  }

  /** Takes the request `peek` returned off the queue. */
  private take(): void {
    const item = this.queue[this.head]!;
    if (item instanceof Pending) this.queue[this.head++] = undefined;
    else item.peeked = null;
  }

  /** Sends one chunk, if the window allows, and plans the next. */
  private pump(): void {
    if (this.closed) return;
    if (this.waiting < this.window) this.sendChunk();
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    // More to send now? Next turn, so the event loop breathes between sends.
    // (Replies pump too, and a dump waiting for the one in progress is sent
    // when that one's NLMSG_DONE arrives.)
    if (this.waiting < this.window && this.sendable()) this.schedule();
    this.armTimer();
  }

  /** Whether the head of the queue could go out now. */
  private sendable(): boolean {
    const head = this.queue[this.head];
    if (head === undefined) return false;
    // (a feed that writes its own requests has no request to look at yet)
    if (head instanceof Feed && !head.peeked && !head.ended && head.source.write) return true;
    const p = this.peek();
    return p !== undefined && !(p.req.dump && this.dumpActive);
  }

  private sendChunk(): void {
    const w = this.writer;
    const order = this.order;
    w.length = 0;
    order.length = 0;
    let messages = 0;
    let dumpInChunk = false;
    // The last message that is not a dump (it will carry the ack), by offset.
    let proofAt = -1;
    let proofIsSpan = false;
    while (this.waiting + messages < this.window && messages < this.maxSendMessages) {
      const head = this.queue[this.head];
      if (head === undefined) break;
      // The fast lane: a feed writes its next requests itself.
      if (head instanceof Feed && !head.peeked && !head.ended && head.source.write) {
        const span = this.writeSpan(head, Math.min(this.window - this.waiting, this.maxSendMessages) - messages, messages === 0);
        if (span !== null) {
          order.push(span);
          messages += span.count;
          proofAt = span.lastAt;
          proofIsSpan = true;
          continue;
        }
        if (messages > 0 && w.length + MAX_WRITTEN > this.maxSendBytes) break;
      }
      const p = this.peek();
      if (!p) break;
      if (p.req.dump && (this.dumpActive || dumpInChunk)) break;
      if (!this.writePending(p, messages === 0)) {
        if (p.done) continue; // (it did not encode, and failed)
        break; // (no room left in this send)
      }
      order.push(p);
      messages++;
      if (p.req.dump) dumpInChunk = true;
      else {
        proofAt = p.offset;
        proofIsSpan = false;
      }
      if (p.req.mayGoUnanswered && p.req.replyless && !p.req.dump) {
        const probe = this.writeProbe(p.req.operation);
        order.push(probe);
        messages++;
        proofAt = probe.offset;
      }
    }
    if (messages === 0) return;
    // Leave the ack out of changes that a later request of this send vouches for.
    for (const e of order) {
      if (e instanceof Span || e.req.dump || !e.req.replyless) continue;
      const flags = w.view.getUint16(e.offset + 6, os);
      if (e.offset < proofAt) {
        w.view.setUint16(e.offset + 6, flags & ~NLM_F_ACK, os);
        e.silent = true;
      } else {
        w.view.setUint16(e.offset + 6, flags | NLM_F_ACK, os);
      }
    }
    if (proofIsSpan) w.view.setUint16(proofAt + 6, w.view.getUint16(proofAt + 6, os) | NLM_F_ACK, os);
    // Send positions follow buffer order, which `order` keeps.
    const silentBefore = this.silent.length;
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
        this.inflight.set(e.seq, e);
        if (e.silent) this.silent.push(e);
      }
    }
    if (dumpInChunk) this.dumpActive = true;
    const bytes = w.length;
    if (this.debug) this.debug(`send ${messages} message(s), ${bytes} bytes`);
    try {
      this.socket.send(w.buf, bytes);
    } catch (e) {
      this.silent.length = silentBefore;
      const err = (operation: string) => socketError(e, operation);
      for (const x of order) {
        if (x instanceof Span) {
          this.spans.splice(this.spans.indexOf(x), 1);
          this.spanItems -= x.count;
          for (let i = 0; i < x.count; i++) x.source.settle(x.firstIndex + i, err(x.operation(i)), NONE);
        } else {
          this.inflight.delete(x.seq);
          x.complete(err(x.req.operation), NONE);
        }
      }
      if (dumpInChunk) this.dumpActive = false;
    }
    order.length = 0;
  }

  /**
   * Lets a feed write up to `limit` requests straight into the send buffer,
   * numbered consecutively: one span, or null when it wrote none. Kept apart
   * from the general path so that this loop, which carries batches and
   * concurrent changes, stays small and compiled.
   */
  private writeSpan(feed: Feed, limit: number, first: boolean): Span | null {
    const w = this.writer;
    const source = feed.source;
    let span: Span | null = null;
    while (span === null ? limit > 0 : span.count < limit) {
      if (!(first && span === null) && w.length + MAX_WRITTEN > this.maxSendBytes) break;
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
      if (span === null) span = new Span(source, seq, feed.count);
      span.count++;
      span.lastAt = start;
      feed.count++;
      w.view.setUint32(start + 8, seq, os);
      w.reserve(align(w.length) - w.length);
    }
    return span;
  }

  /**
   * Appends a queued request to the send buffer, numbered, and takes it off
   * the queue. False when it does not fit in this send (it stays queued),
   * or when it does not encode (it is failed: `done`).
   */
  private writePending(p: Pending, first: boolean): boolean {
    const w = this.writer;
    const start = w.length;
    try {
      encodeInto(w, p.req);
    } catch (e) {
      w.length = start;
      this.take();
      p.complete(new IpvsError(`${p.req.operation}: the request did not encode: ${(e as Error).message}`, { kind: 'input', errno: Errno.EINVAL, operation: p.req.operation, cause: e }), NONE);
      return false;
    }
    if (!first && w.length > this.maxSendBytes) {
      w.length = start;
      return false;
    }
    this.take();
    p.offset = start;
    p.seq = this.nextSeq();
    w.view.setUint32(start + 8, p.seq, os);
    return true;
  }

  /**
   * Appends a probe (see Request.mayGoUnanswered): an NLMSG_NOOP asking for
   * an ack, which the kernel gives for any control message without calling
   * the family. The send buffer has room for it past maxSendBytes.
   */
  private writeProbe(operation: string): Pending {
    const w = this.writer;
    const start = w.reserve(NLMSG_HDRLEN);
    const probe = new Pending({ message: NO_BYTES, dump: false, operation }, ignoreOutcome);
    probe.offset = start;
    probe.seq = this.nextSeq();
    w.view.setUint32(start, NLMSG_HDRLEN, os);
    w.view.setUint16(start + 4, NLMSG_NOOP, os);
    w.view.setUint16(start + 6, NLM_F_REQUEST | NLM_F_ACK, os);
    w.view.setUint32(start + 8, probe.seq, os);
    w.view.setUint32(start + 12, 0, os);
    return probe;
  }

  private onData(err: NativeError | null, received: Buffer | number | null): void {
    if (err) {
      // ENOBUFS: the kernel dropped replies; which ones cannot be known.
      const text = err.errno === Errno.ENOBUFS ? 'the kernel dropped netlink replies (receive buffer overrun); the outcome of this request is unknown' : undefined;
      this.failAll((operation) => socketError(err, operation, text));
      this.updateRef();
      return;
    }
    if (received === null) return;
    // Bytes in the shared receive buffer are copied when kept past this call.
    const shared = typeof received === 'number';
    const data = shared ? this.recv! : received;
    const view = shared ? this.recvView! : new DataView(data.buffer, data.byteOffset, data.byteLength);
    const end = shared ? Math.min(received, data.length) : data.length;
    for (let off = 0; off + NLMSG_HDRLEN <= end; ) {
      const len = view.getUint32(off, os);
      if (len < NLMSG_HDRLEN || off + len > end) {
        const text = `a reply did not decode: netlink message at offset ${off} has length ${len}, past the ${end}-byte buffer`;
        this.failAll((operation) => new IpvsError(text, { kind: 'decode', errno: 0, operation }));
        break;
      }
      const type = view.getUint16(off + 4, os);
      const flags = view.getUint16(off + 6, os);
      const seq = view.getUint32(off + 8, os);
      const at = off;
      off += align(len);
      const p = this.inflight.get(seq);
      if (this.debug) this.debug(`recv type ${type} flags 0x${flags.toString(16)} seq ${seq} len ${len}`);
      if (!p) {
        if (this.spans.length > 0) this.spanReply(view, at, len, type, flags, seq, data);
        continue;
      }
      p.tick = this.tick;
      // The kernel ran every request sent before this one.
      this.settleBefore(p.index);
      if (type === NLMSG_NOOP || type === NLMSG_OVERRUN) continue;
      if ((type === NLMSG_ERROR || type === NLMSG_DONE) && !(flags & NLM_F_ACK_TLVS) && (len < NLMSG_HDRLEN + 4 ? type === NLMSG_DONE : view.getInt32(at + NLMSG_HDRLEN, os) === 0)) {
        this.finish(p, OK); // a plain ack, or the plain end of a dump
        continue;
      }
      try {
        if (type === NLMSG_ERROR || type === NLMSG_DONE) {
          const m: NetlinkMessage = { type, flags, seq, pid: view.getUint32(at + 12, os), payload: data.subarray(at + NLMSG_HDRLEN, at + len) };
          this.finish(p, type === NLMSG_ERROR ? parseError(m) : parseDone(m));
        } else {
          if (flags & NLM_F_DUMP_INTR) p.interrupted = true;
          if (p.req.onReply) p.req.onReply(data, view, at + NLMSG_HDRLEN, at + len);
          else {
            const payload = shared ? copyOf(data, at + NLMSG_HDRLEN, at + len) : data.subarray(at + NLMSG_HDRLEN, at + len);
            (p.replies ??= []).push({ type, flags, seq, pid: view.getUint32(at + 12, os), payload });
          }
        }
      } catch (e) {
        this.inflight.delete(p.seq);
        if (p.req.dump) this.dumpActive = false;
        p.complete(new IpvsError(`a reply did not decode: ${(e as Error).message}`, { kind: 'decode', errno: 0, operation: p.req.operation, seq: p.seq, cause: e }), NONE);
      }
    }
    this.pump();
    this.updateRef();
  }

  /** A reply to a request written by a feed: an ack or an error (they are all changes). */
  private spanReply(view: DataView, at: number, len: number, type: number, flags: number, seq: number, data: Buffer): void {
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
    if (len >= NLMSG_HDRLEN + 4 && view.getInt32(at + NLMSG_HDRLEN, os) === 0 && !(flags & NLM_F_ACK_TLVS)) status = OK;
    else {
      try {
        status = parseError({ type, flags, seq, pid: 0, payload: data.subarray(at + NLMSG_HDRLEN, at + len) });
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
    for (; i < silent.length && silent[i]!.index < index; i++) {
      const s = silent[i]!;
      silent[i] = undefined; // let it go now: chunks overlap, so the array may not empty soon
      if (s.done) continue;
      this.inflight.delete(s.seq);
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
    this.inflight.delete(p.seq);
    if (p.req.dump) this.dumpActive = false;
    if (status.errno !== 0) {
      p.complete(p.req.describe ? p.req.describe(status, p.seq) : kernelError(status, p.req.operation, p.seq), NONE);
    } else if (p.interrupted) {
      p.complete(new IpvsError(`${p.req.operation}: the dump was interrupted by a concurrent change; try again`, { kind: 'interrupted', errno: Errno.EINTR, operation: p.req.operation, seq: p.seq }), NONE);
    } else {
      p.complete(null, p.replies ?? NONE);
    }
  }

  /** Fails everything waiting for a reply (and, once closed, everything queued). */
  private failAll(make: (operation: string, seq: number | undefined) => IpvsError): void {
    const waiting = [...this.inflight.values()];
    const spans = this.spans;
    this.inflight.clear();
    this.silent = [];
    this.silentHead = 0;
    this.spans = [];
    this.spanItems = 0;
    this.dumpActive = false;
    for (const p of waiting) p.complete(make(p.req.operation, p.seq), NONE);
    for (const s of spans) failSpan(s, (i) => make(s.operation(i), (s.firstSeq + i) >>> 0));
    if (this.closed) {
      const queued = this.queue.slice(this.head);
      this.queue = [];
      this.head = 0;
      for (const item of queued) {
        if (item instanceof Pending) item.complete(make(item.req.operation, undefined), NONE);
        else if (item) {
          if (item.peeked) item.peeked.complete(make(item.peeked.req.operation, undefined), NONE);
          if (!item.ended) drainClosed(item.source, item.count);
        }
      }
    }
  }

  /** A coarse clock (no system call per request): every request remembers the tick it last heard of. */
  private armTimer(): void {
    if (this.timer || this.waiting === 0) return;
    this.timer = setInterval(() => this.expire(), this.tickMs);
    this.timer.unref();
  }

  private expire(): void {
    this.tick++;
    if (this.waiting === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    // A request is late once more than timeoutMs of whole ticks have passed.
    const limit = Math.ceil(this.timeoutMs / this.tickMs);
    const late = (operation: string, seq: number) =>
      new IpvsError(`${operation}: no reply from the kernel within ${this.timeoutMs} ms`, { kind: 'timeout', errno: Errno.ETIMEDOUT, operation, seq });
    for (const p of this.inflight.values()) {
      if (this.tick - p.tick <= limit) continue;
      this.inflight.delete(p.seq);
      if (p.req.dump) this.dumpActive = false;
      p.complete(late(p.req.operation, p.seq), NONE);
    }
    const spans = this.spans;
    if (spans.length > 0 && this.tick - spans[0]!.tick > limit) {
      const expired = spans.filter((s) => this.tick - s.tick > limit);
      this.spans = spans.filter((s) => this.tick - s.tick <= limit);
      for (const s of expired) this.spanItems -= failSpan(s, (i) => late(s.operation(i), (s.firstSeq + i) >>> 0));
    }
    this.pump();
    this.updateRef();
  }

  private updateRef(): void {
    const busy = this.waiting > 0 || this.head < this.queue.length;
    if (busy === this.referenced || this.closed) return;
    this.referenced = busy;
    if (busy) this.socket.ref();
    else this.socket.unref();
  }
}

const OK: NetlinkStatus = Object.freeze({ errno: 0 });

// One executor for every promise (saves a closure per request): it hands
// the resolving functions to the request being made.
let capturing: Pending | null = null;
function capture(resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
  capturing!.resolve = resolve;
  capturing!.reject = reject;
  capturing = null;
}
const NO_BYTES = new Uint8Array(0);
/** A probe's outcome: what it proves is read off the request before it. */
const ignoreOutcome: Settle = () => {};
/** The replies of a request that has none (shared, so frozen). */
const NONE: NetlinkMessage[] = Object.freeze([]) as unknown as NetlinkMessage[];

/** A copy of some bytes (small ones come out of Buffer's shared pool). */
function copyOf(data: Buffer, start: number, end: number): Buffer {
  const b = Buffer.allocUnsafe(end - start);
  data.copy(b, 0, start, end);
  return b;
}

/** Fails the unsettled items of a span; returns how many. */
function failSpan(s: Span, make: (offset: number) => IpvsError): number {
  let n = 0;
  while (s.settled < s.count) {
    const i = s.settled++;
    if (s.failed?.has(i)) continue;
    n++;
    s.source.settle(s.firstIndex + i, make(i), NONE);
  }
  return n;
}

/** Appends a request's message to the send buffer, padded to 4 bytes. */
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

function closedError(operation: string): IpvsError {
  return new IpvsError('the IPVS handle is closed', { kind: 'socket', errno: 9, operation });
}

/** Fails every request a source still has (the connection is closed). */
function drainClosed(source: RequestSource, from = 0): void {
  for (let i = from; ; i++) {
    let r: Request | IpvsError | undefined;
    try {
      r = source.next();
    } catch {
      r = undefined;
    }
    if (r === undefined) return;
    source.settle(i, r instanceof IpvsError ? r : closedError(r.operation), NONE);
  }
}

export function kernelError(status: NetlinkStatus, operation: string, seq?: number, text?: string): IpvsError {
  const base = text ?? `${operation} failed`;
  const extra = status.message ? `: ${status.message}` : '';
  return new IpvsError(`${base}${extra}`, {
    kind: 'kernel',
    errno: status.errno,
    operation,
    ...(status.message !== undefined ? { kernelMessage: status.message } : {}),
    ...(status.offset !== undefined ? { kernelOffset: status.offset } : {}),
    ...(seq !== undefined ? { seq } : {}),
  });
}

function socketError(e: unknown, operation: string, text?: string): IpvsError {
  const ne = e as Partial<NativeError>;
  const errno = typeof ne.errno === 'number' ? ne.errno : 0;
  return new IpvsError(text ?? `${operation}: ${ne.message ?? String(e)}`, {
    kind: 'socket',
    errno,
    operation,
    cause: e,
    ...(ne.syscall ? { syscall: ne.syscall } : {}),
  });
}
