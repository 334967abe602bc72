/**
 * A netlink connection: sequence numbers, pipelining, and matching replies
 * to requests. Requests issued in the same turn of the event loop are sent
 * together (many messages to one system call); the native side reads every
 * waiting reply in bulk. The kernel handles one dump at a time per socket,
 * so a dump waits for the previous one; requests keep their issue order.
 */
import { Errno, IpvsError } from '../errors.js';
import type { NativeBinding, NativeError, NativeSocket } from '../native.js';
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_DUMP_INTR } from './constants.js';
import { type NetlinkMessage, type NetlinkStatus, parseDone, parseError, parseMessages, setSeq } from './message.js';

export interface ConnectionOptions {
  /** Netlink protocol, e.g. NETLINK_GENERIC. */
  protocol: number;
  /** Path of a network namespace file to open the socket in. */
  netnsPath?: string;
  /** How long a request may wait for its reply, in ms. Default 30 000. */
  timeoutMs?: number;
  /** Most requests awaiting replies at once (bounds kernel buffer use). Default 1024. */
  window?: number;
  /** Most bytes in one send. Default 256 KiB. */
  maxSendBytes?: number;
  native: NativeBinding;
  debug?: (line: string) => void;
}

/** One request: an encoded message (seq is filled in here) and what it is. */
export interface Request {
  message: Uint8Array;
  /** A dump: replies are multi-part and end with NLMSG_DONE (no NLM_F_ACK). */
  dump: boolean;
  /** Names the operation in errors, e.g. "addService". */
  operation: string;
  /** Turns a kernel refusal into the caller's error (to word it for people). */
  describe?: (status: NetlinkStatus, seq: number) => IpvsError;
}

interface Pending extends Request {
  seq: number;
  replies: NetlinkMessage[];
  interrupted: boolean;
  lastActivity: number;
  resolve: (replies: NetlinkMessage[]) => void;
  reject: (error: IpvsError) => void;
}

const RCVBUF = 32 * 1024 * 1024;
const SNDBUF = 4 * 1024 * 1024;

export class Connection {
  private readonly socket: NativeSocket;
  private readonly timeoutMs: number;
  private readonly window: number;
  private readonly maxSendBytes: number;
  private readonly debug: ((line: string) => void) | undefined;
  private queue: Pending[] = [];
  private head = 0;
  private readonly inflight = new Map<number, Pending>();
  private dumpActive = false;
  private flushScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private referenced = false;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private closed = false;

  constructor(opts: ConnectionOptions) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.window = opts.window ?? 1024;
    this.maxSendBytes = opts.maxSendBytes ?? 256 * 1024;
    this.debug = opts.debug;
    try {
      this.socket = new opts.native.NetlinkSocket(opts.protocol, opts.netnsPath ?? null, RCVBUF, SNDBUF, (err, data) =>
        this.onData(err, data),
      );
    } catch (e) {
      throw socketError(e, 'open');
    }
  }

  /** The kernel-assigned port id of the socket. */
  get portId(): number {
    return this.socket.portId;
  }

  /** Queues a request; it is sent with the others of this event-loop turn. */
  request(req: Request): Promise<NetlinkMessage[]> {
    if (this.closed) {
      return Promise.reject(new IpvsError('the IPVS handle is closed', { kind: 'socket', errno: 9, operation: req.operation }));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ ...req, seq: 0, replies: [], interrupted: false, lastActivity: 0, resolve, reject });
      this.schedule();
      this.updateRef();
    });
  }

  /** Closes the socket; requests still waiting fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll((p) => new IpvsError('the IPVS handle was closed before the reply came', { kind: 'socket', errno: 9, operation: p.operation, seq: p.seq }));
    if (this.timer) clearTimeout(this.timer);
    this.socket.close();
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.pump();
    });
  }

  private nextSeq(): number {
    this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  /** Sends what the window allows, as few system calls as the limits allow. */
  private pump(): void {
    while (!this.closed && this.head < this.queue.length && this.inflight.size < this.window) {
      const chunk: Pending[] = [];
      let bytes = 0;
      let dumpInChunk = false;
      while (this.head < this.queue.length && this.inflight.size + chunk.length < this.window) {
        const p = this.queue[this.head]!;
        if (p.dump && (this.dumpActive || dumpInChunk)) break;
        if (chunk.length > 0 && bytes + p.message.length > this.maxSendBytes) break;
        this.queue[this.head] = undefined as unknown as Pending;
        this.head++;
        p.seq = this.nextSeq();
        setSeq(p.message, p.seq);
        chunk.push(p);
        bytes += p.message.length;
        if (p.dump) dumpInChunk = true;
      }
      if (chunk.length === 0) break;
      this.send(chunk, bytes);
      if (dumpInChunk) this.dumpActive = true;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.armTimer();
  }

  private send(chunk: Pending[], bytes: number): void {
    const buf = chunk.length === 1 ? chunk[0]!.message : Buffer.concat(chunk.map((p) => p.message), bytes);
    const now = Date.now();
    for (const p of chunk) {
      p.lastActivity = now;
      this.inflight.set(p.seq, p);
    }
    if (this.debug) this.debug(`send ${chunk.length} message(s), ${bytes} bytes, seq ${chunk[0]!.seq}..${chunk.at(-1)!.seq}`);
    try {
      this.socket.send(buf);
    } catch (e) {
      for (const p of chunk) {
        this.inflight.delete(p.seq);
        p.reject(socketError(e, p.operation));
      }
      if (chunk.some((p) => p.dump)) this.dumpActive = false;
    }
  }

  private onData(err: NativeError | null, data: Buffer | null): void {
    if (err) {
      // ENOBUFS: the kernel dropped replies; which ones cannot be known.
      this.failAll((p) => socketError(err, p.operation, err.errno === Errno.ENOBUFS
        ? 'the kernel dropped netlink replies (receive buffer overrun); the outcome of this request is unknown'
        : undefined));
      this.updateRef();
      return;
    }
    if (!data) return;
    let messages: NetlinkMessage[];
    try {
      messages = parseMessages(data);
    } catch (e) {
      this.failAll((p) => new IpvsError(`a reply did not decode: ${(e as Error).message}`, { kind: 'decode', errno: 0, operation: p.operation, cause: e }));
      return;
    }
    const now = Date.now();
    for (const m of messages) {
      const p = this.inflight.get(m.seq);
      if (this.debug) this.debug(`recv type ${m.type} flags 0x${m.flags.toString(16)} seq ${m.seq} len ${m.payload.length + 16}${p ? '' : ' (no request waits for it)'}`);
      if (!p) continue;
      p.lastActivity = now;
      try {
        if (m.type === NLMSG_ERROR) this.finish(p, parseError(m));
        else if (m.type === NLMSG_DONE) this.finish(p, parseDone(m));
        else if (m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) continue;
        else {
          if (m.flags & NLM_F_DUMP_INTR) p.interrupted = true;
          p.replies.push(m);
        }
      } catch (e) {
        this.inflight.delete(p.seq);
        if (p.dump) this.dumpActive = false;
        p.reject(new IpvsError(`a reply did not decode: ${(e as Error).message}`, { kind: 'decode', errno: 0, operation: p.operation, seq: p.seq, cause: e }));
      }
    }
    this.pump();
    this.updateRef();
  }

  private finish(p: Pending, status: NetlinkStatus): void {
    this.inflight.delete(p.seq);
    if (p.dump) this.dumpActive = false;
    if (status.errno !== 0) {
      p.reject(p.describe ? p.describe(status, p.seq) : kernelError(status, p.operation, p.seq));
    } else if (p.interrupted) {
      p.reject(new IpvsError(`${p.operation}: the dump was interrupted by a concurrent change; try again`, { kind: 'interrupted', errno: Errno.EINTR, operation: p.operation, seq: p.seq }));
    } else {
      p.resolve(p.replies);
    }
  }

  private failAll(make: (p: Pending) => IpvsError): void {
    const waiting = [...this.inflight.values()];
    this.inflight.clear();
    this.dumpActive = false;
    for (const p of waiting) p.reject(make(p));
    if (this.closed) {
      for (let i = this.head; i < this.queue.length; i++) this.queue[i]!.reject(make(this.queue[i]!));
      this.queue = [];
      this.head = 0;
    }
  }

  private armTimer(): void {
    if (this.timer || this.inflight.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.expire();
    }, Math.min(this.timeoutMs, 1000));
    this.timer.unref();
  }

  private expire(): void {
    const now = Date.now();
    for (const p of this.inflight.values()) {
      if (now - p.lastActivity < this.timeoutMs) continue;
      this.inflight.delete(p.seq);
      if (p.dump) this.dumpActive = false;
      p.reject(new IpvsError(`${p.operation}: no reply from the kernel within ${this.timeoutMs} ms`, { kind: 'timeout', errno: Errno.ETIMEDOUT, operation: p.operation, seq: p.seq }));
    }
    this.pump();
    this.updateRef();
  }

  private updateRef(): void {
    const busy = this.inflight.size > 0 || this.head < this.queue.length;
    if (busy === this.referenced || this.closed) return;
    this.referenced = busy;
    if (busy) this.socket.ref();
    else this.socket.unref();
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
