/**
 * The contract between the connection and whoever sends through it: a
 * request (one message and what it is), the callback that hears its
 * outcome, and a source of many requests (a feed) pulled as room allows.
 */
import type { IpvsError } from '../errors.js';
import type { ByteWriter } from './attributes.js';
import type { NetlinkMessage, NetlinkStatus } from './message.js';

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
   * not a read). Such requests may be sent without NLM_F_ACK: see send.ts.
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
   * filled in here), at most MAX_WRITTEN bytes.
   */
  write?(w: ByteWriter): boolean;
  /** For written requests: the error for a kernel refusal. */
  describe?(index: number, status: NetlinkStatus, seq: number): IpvsError;
  /** For written requests: the operation's name, for errors. */
  operation?(index: number): string;
}

/** The most bytes a source may `write` for one request. */
export const MAX_WRITTEN = 512;

/** The replies of a request that has none (shared, so frozen). */
export const NONE: NetlinkMessage[] = Object.freeze([]) as unknown as NetlinkMessage[];
