/**
 * A netlink connection: a queue of requests, when they go out, and which
 * reply is whose. It knows netlink, not what the messages mean.
 *
 * Requests made together (before the current microtask checkpoint ends)
 * are copied into one reusable send buffer and sent together, many
 * messages to one system call (send.ts builds the send, ack elision
 * included); the native side reads every waiting reply in bulk, and reads
 * again at once when a request goes out while replies are being handled (a
 * chain of awaits costs a send and a read per request). inflight.ts keeps
 * what was sent until its reply (or its timeout) comes.
 *
 * Feeds (batches, the client's staged changes) may write their messages
 * straight into the send buffer; such requests are tracked as spans of
 * consecutive sequence numbers, with no object per request.
 *
 * The kernel handles one dump at a time per socket, so a dump waits for the
 * previous one; requests keep their issue order. Work per turn is bounded
 * (bytes and messages per send, one send per call) so the event loop keeps
 * moving: the kernel runs every message of a send inside the system call.
 */
import {
  Errno,
  type IpvsError,
  OVERRUN_TEXT,
  closedError,
  closedWaitingError,
  replyDecodeError,
  socketError,
} from '../errors.js';
import { type NativeBinding, type NativeError, type NativeSocket, RECEIVE_BUFFER_BYTES } from '../native.js';
import { NLMSG_HDRLEN, align } from './constants.js';
import { os } from './endian.js';
import { InFlight, Pending } from './inflight.js';
import { type NetlinkMessage, describeHeader, frameLength } from './message.js';
import { Feed, RequestQueue, drainClosed } from './queue.js';
import { NONE, type Request, type RequestSource, type Settle } from './request.js';
import { SendBuilder } from './send.js';

export type { Request, RequestSource, Settle } from './request.js';
export { MAX_WRITTEN } from './request.js';

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
  /** Receives a line per message sent and received (off when absent). */
  debug?: (line: string) => void;
  /**
   * Words one message for `debug` (`bytes` holds exactly it). The transport
   * knows no family: the layer above says what the messages mean.
   */
  describe?: (bytes: Uint8Array) => string;
}

const RCVBUF = 32 * 1024 * 1024;
const SNDBUF = 4 * 1024 * 1024;
/** Room a reply may take in the receive buffer (an error with extended ack, with overhead). */
const REPLY_TRUESIZE = 1024;

export class Connection {
  private readonly socket: NativeSocket;
  private readonly window: number;
  private readonly maxSendMessages: number;
  private readonly debug: ((line: string) => void) | undefined;
  private readonly describe: (bytes: Uint8Array) => string;
  private readonly queue = new RequestQueue();
  private readonly inflight: InFlight;
  private readonly send: SendBuilder;
  /** Where the addon reads replies into, when it can (no Buffer per read). */
  private recv: Buffer | null = null;
  private recvView: DataView | null = null;
  private flushScheduled = false;
  private kicked = false;
  private referenced = false;
  private closed = false;

  constructor(opts: ConnectionOptions) {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    this.inflight = new InFlight(timeoutMs, () => {
      this.pump();
      this.updateRef();
    });
    // Every send and every turn of the event loop costs system calls (tens
    // of microseconds each where they are slow), so sends are large; the
    // kernel runs each change in a few microseconds, so even a full send
    // keeps the event loop waiting only a few milliseconds.
    this.send = new SendBuilder(opts.maxSendBytes ?? 128 * 1024);
    this.maxSendMessages = opts.maxSendMessages ?? 1024;
    this.debug = opts.debug;
    this.describe = opts.describe ?? describeHeader;
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

  /** Whether `close` was called. */
  get isClosed(): boolean {
    return this.closed;
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
    const promise = new Promise((resolve, reject) => {
      p.resolve = resolve;
      p.reject = reject;
    });
    this.enqueue(p);
    return promise;
  }

  /** Like `request`, with a callback instead of a promise (called exactly once). */
  submit(req: Request, settle: Settle): void {
    if (this.closed) {
      settle(closedError(req.operation), NONE);
      return;
    }
    this.enqueue(new Pending(req, settle));
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
    this.enqueue(new Feed(source));
  }

  /**
   * Whether `source`, fed earlier, may still hand out more requests: it is
   * the queue's last item (so they cannot overtake anything queued after
   * them) and has not ended. Call `wake` after giving it more.
   */
  growable(source: RequestSource): boolean {
    return this.queue.growable(source);
  }

  /** Plans a send: a growable feed has more. */
  wake(): void {
    this.kick();
    this.updateRef();
  }

  private enqueue(item: Pending | Feed): void {
    this.queue.push(item);
    this.kick();
    this.updateRef();
  }

  /** Closes the socket; requests still waiting fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll(closedWaitingError);
    this.inflight.stop();
    this.socket.close();
  }

  /**
   * New work goes out at the end of the current microtask checkpoint: calls
   * made together (in one synchronous run, or in the continuations one
   * batch of replies resumes) still share sends, and a call made while
   * replies are being handled is sent before the socket is read again, so
   * the addon reads its answer in the same wake-up (bench row "seq": a send
   * and a read per call, no turn of the event loop).
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

  /** Sends one chunk, if the window allows, and plans the next. */
  private pump(): void {
    if (this.closed) return;
    if (this.inflight.waiting < this.window) this.sendChunk();
    this.queue.compact();
    // More to send now? Next turn, so the event loop breathes between sends.
    // (Replies pump too, and a dump waiting for the one in progress is sent
    // when that one's NLMSG_DONE arrives.)
    if (this.inflight.waiting < this.window && this.sendable()) this.schedule();
  }

  /** Whether the head of the queue could go out now. */
  private sendable(): boolean {
    if (this.queue.empty) return false;
    // (a feed that writes its own requests has no request to look at yet)
    if (this.queue.writer()) return true;
    const p = this.queue.peek();
    return p !== undefined && !(p.req.dump && this.inflight.dumpActive);
  }

  private sendChunk(): void {
    const b = this.send;
    const inflight = this.inflight;
    b.begin();
    while (inflight.waiting + b.messages < this.window && b.messages < this.maxSendMessages) {
      if (this.queue.empty) break;
      const feed = this.queue.writer();
      if (feed) {
        const span = b.writeSpan(feed.source, feed.count, Math.min(this.window - inflight.waiting, this.maxSendMessages) - b.messages);
        if (span !== null) {
          feed.count += span.count;
          continue;
        }
        if (b.messages > 0 && !b.roomForWritten) break;
      }
      const p = this.queue.peek();
      if (!p) break;
      if (p.req.dump && (inflight.dumpActive || b.dump)) break;
      const wrote = b.write(p);
      if (wrote === false) break; // (no room left in this send)
      this.queue.take();
      if (wrote !== true) p.complete(wrote, NONE); // (it did not encode)
    }
    if (b.messages === 0) return;
    b.seal();
    const order = b.order;
    inflight.sent(order, b.dump);
    const w = b.w;
    if (this.debug) this.debugMessages('send', w.buf, w.view, w.length);
    try {
      this.socket.send(w.buf, w.length);
    } catch (e) {
      inflight.unsend(order, b.dump, (operation) => socketError(e, operation));
    }
    order.length = 0;
  }

  private onData(err: NativeError | null, received: Buffer | number | null): void {
    if (err) {
      this.failAll((operation) => socketError(err, operation, err.errno === Errno.ENOBUFS ? OVERRUN_TEXT : undefined));
      this.updateRef();
      return;
    }
    if (received === null) return;
    // Bytes in the shared receive buffer are copied when kept past this call.
    const shared = typeof received === 'number';
    const data = shared ? this.recv! : received;
    const view = shared ? this.recvView! : new DataView(data.buffer, data.byteOffset, data.byteLength);
    const end = shared ? Math.min(received, data.length) : data.length;
    if (this.debug) this.debugMessages('recv', data, view, end);
    for (let off = 0; off + NLMSG_HDRLEN <= end; ) {
      let len: number;
      try {
        len = frameLength(view, off, end);
      } catch (e) {
        this.failAll((operation) => replyDecodeError((e as Error).message, operation));
        break;
      }
      this.inflight.receive(data, view, off, len, shared);
      off += align(len);
    }
    this.pump();
    this.updateRef();
  }

  /** One debug line per message of a buffer. */
  private debugMessages(what: string, data: Uint8Array, view: DataView, end: number): void {
    for (let off = 0; off + NLMSG_HDRLEN <= end; ) {
      const len = view.getUint32(off, os);
      if (len < NLMSG_HDRLEN || off + len > end) break;
      this.debug!(`${what} ${this.describe(data.subarray(off, off + len))}`);
      off += align(len);
    }
  }

  /** Fails everything waiting for a reply (and, once closed, everything queued). */
  private failAll(make: (operation: string, seq: number | undefined) => IpvsError): void {
    this.inflight.failAll(make);
    if (this.closed) this.queue.failAll(make);
  }

  private updateRef(): void {
    const busy = this.inflight.waiting > 0 || !this.queue.empty;
    if (busy === this.referenced || this.closed) return;
    this.referenced = busy;
    if (busy) this.socket.ref();
    else this.socket.unref();
  }
}
