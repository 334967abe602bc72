/**
 * Staged changes, the client's lane for concurrent calls (bench row
 * "conc"): encoded by the fast writers when called, queued as bytes, and
 * written into sends by the connection as one feed. Thousands of
 * concurrent calls then cost what a batch costs, with no request or
 * pending object per call. Its naive twin is the general path: unit tests
 * (staged.test.ts, batch-fast.test.ts) hold the outcomes and bytes equal.
 *
 * What each call keeps until its outcome is known is small: three
 * references, and a promise that shares its settling with the other calls
 * of its turn (see Group).
 */
import { closedError, type IpvsError } from './errors.js';
import { ByteWriter } from './netlink/attributes.js';
import type { Connection } from './netlink/connection.js';
import { NLMSG_HDRLEN, align } from './netlink/constants.js';
import { os } from './netlink/endian.js';
import type { NetlinkStatus } from './netlink/message.js';
import { MAX_WRITTEN, type Request, type RequestSource } from './netlink/request.js';

/** The most bytes one staged change may take (what a feed may write for one request). */
export const MAX_STAGED = MAX_WRITTEN;

/** What a staged change is: its operation, and how to word a refusal of it. */
export interface StagedKind {
  /** Names the operation in errors, e.g. "addService". */
  readonly operation: string;
  /** The error for a kernel refusal, worded from the caller's arguments `a` and `b`. */
  explain(status: NetlinkStatus, seq: number, a: unknown, b: unknown): IpvsError;
}

/**
 * The staged changes of one connection: where callers encode them, and the
 * feed that carries them. Changes staged in a row share one feed, so
 * thousands of concurrent calls cost what a batch costs.
 */
export class StagedChanges {
  private readonly staging = new Staging();
  private feed: StagedFeed | null = null;
  constructor(private readonly conn: Connection) {}

  /** Where to encode the next change: a netlink message with NLM_F_REQUEST and no ack, at most MAX_STAGED bytes. */
  writer(): ByteWriter {
    return this.staging.writer();
  }

  /** Drops what was written since the last change (the writer declined). */
  discard(): void {
    this.staging.discard();
  }

  /** Changes staged and not yet written into a send. */
  get unwritten(): number {
    return this.staging.unwritten;
  }

  /**
   * Queues the change just encoded at the end of `writer()`: settles with
   * its outcome. `kind` words a refusal from `a` and `b`.
   */
  queue(kind: StagedKind, a: unknown, b: unknown): Promise<void> {
    if (this.conn.isClosed) {
      this.staging.discard();
      return Promise.reject(closedError(kind.operation));
    }
    this.staging.commit();
    let f = this.feed;
    // Only the queue's last item may grow, or changes would overtake requests queued after them.
    const fresh = f === null || !this.conn.growable(f);
    if (fresh) f = this.feed = new StagedFeed(this.staging);
    const promise = f!.add(kind, a, b);
    if (fresh) this.conn.feed(f!);
    else this.conn.wake();
    return promise;
  }
}

/** Bytes per staging segment (room for a few hundred changes). */
const SEGMENT = 64 * 1024;
/** Emptied segments kept for the next burst (the rest are let go). */
const SPARE = 4;

/**
 * Where callers encode staged changes, one netlink message after another,
 * in segments of fixed size (bench row "library, concurrent calls": peak
 * RSS and time): a burst of calls fills as many as it needs and nothing is
 * ever copied to grow. Segments are emptied as their changes are copied
 * into sends, and a few are kept for the next burst. Naive twin: the
 * general path (staged.test.ts holds outcomes equal to requestVoid's).
 */
export class Staging {
  /** Segments holding changes not yet copied into a send, oldest first; the last one is written. */
  private segments: ByteWriter[] = [new ByteWriter(SEGMENT)];
  private readonly spare: ByteWriter[] = [];
  /** The segment being written (the last). */
  private w: ByteWriter = this.segments[0]!;
  /** Where the last staged change ends in `w` (what lies beyond is being written). */
  private end = 0;
  /** The segment, and offset in it, of the next change to be copied into a send. */
  private readIndex = 0;
  private readAt = 0;
  /** Changes staged and not yet copied into a send. */
  unwritten = 0;

  /** Where to write the next change: a segment with room for MAX_STAGED bytes. */
  writer(): ByteWriter {
    if (this.w.length + MAX_STAGED > SEGMENT) {
      this.w = this.spare.pop() ?? new ByteWriter(SEGMENT);
      this.w.length = 0;
      this.segments.push(this.w);
      this.end = 0;
    }
    return this.w;
  }

  /**
   * Takes the bytes written since the last change as one more change;
   * throws unless they are one netlink message of at most MAX_STAGED bytes.
   */
  commit(): void {
    const { w, end } = this;
    const len = w.length - end;
    if (len < NLMSG_HDRLEN || len > MAX_STAGED || w.length > SEGMENT || w.view.getUint32(end, os) !== len) {
      w.length = end;
      throw new RangeError(`a staged change must be one netlink message of at most ${MAX_STAGED} bytes (got ${len})`);
    }
    w.reserve(align(len) - len);
    this.end = w.length;
    this.unwritten++;
  }

  /** Drops bytes written after the last change (a change that was not staged after all). */
  discard(): void {
    this.w.length = this.end;
  }

  /** The segment holding the next change to copy; its offset is `at()`. */
  source(): ByteWriter {
    const seg = this.segments[this.readIndex]!;
    if (this.readAt < seg.length || seg === this.w) return seg;
    // That segment is used up: let it go, keeping a few for later.
    this.readIndex++;
    if (this.spare.length < SPARE) this.spare.push(seg);
    if (this.readIndex >= 64) {
      this.segments = this.segments.slice(this.readIndex);
      this.readIndex = 0;
    }
    this.readAt = 0;
    return this.segments[this.readIndex]!;
  }

  /** Offset of the next change to copy in `source()`. */
  at(): number {
    return this.readAt;
  }

  /** Moves past the next change (copied into a send, or failed). */
  take(): void {
    const seg = this.source();
    this.readAt += align(seg.view.getUint32(this.readAt, os));
    if (--this.unwritten > 0) return;
    // All copied: start over in the segment being written.
    for (let i = this.readIndex; i < this.segments.length - 1; i++) if (this.spare.length < SPARE) this.spare.push(this.segments[i]!);
    this.segments = [this.w];
    this.readIndex = this.readAt = this.end = this.w.length = 0;
  }
}

/**
 * The promises of the calls staged in one turn of the event loop (at most
 * GROUP of them); bench row "library, concurrent calls" (its ratio to
 * "3N promises and Promise.all alone"). Each call's promise is `group.promise.then(outcome)`: a
 * promise and a reaction, about half of what a promise with its own
 * resolving functions costs. The group settles once every member has its
 * outcome, and the reactions then run in the order they were registered
 * (the order of the calls: ECMAScript runs one promise's reactions in
 * registration order), so `outcome` hands each call its own result by
 * counting.
 */
class Group {
  /** Members so far, and members whose outcome is not known yet. */
  size = 0;
  left = 0;
  /** Outcomes handed out by `outcome` so far. */
  handed = 0;
  /** Failures by member number (rare: most groups have none). */
  errors: Map<number, IpvsError> | null = null;
  resolve: (g: Group) => void = noop;
  readonly promise: Promise<Group>;
  constructor(
    /** The feed index of the first member. */
    readonly first: number,
  ) {
    this.promise = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }
}

/** Members per group at most (a group settles when its last member does). */
const GROUP = 256;

function noop(): void {}

/** The reaction of every member's promise: the next member's outcome. */
function outcome(g: Group): undefined {
  const error = g.errors?.get(g.handed++);
  if (error) throw error;
  return undefined;
}

/** The slots of one staged change in its block. */
const KIND = 0;
const A = 1;
const B = 2;
const GRP = 3;
const STRIDE = 4;
/** Changes per block of a StagedFeed (1 << SHIFT). */
const SHIFT = 6;
const BLOCK = 1 << SHIFT;

/**
 * Changes their callers already encoded, flat (no object per change), in
 * blocks of fixed size (one growing array would be copied whole at every
 * doubling): concurrent calls take the batch's fast lane through this feed.
 */
export class StagedFeed implements RequestSource {
  private readonly blocks: unknown[][] = [];
  private written = 0;
  private count = 0;
  /** The group that calls made now join (none once the feed began writing them). */
  private group: Group | null = null;
  constructor(private readonly staging: Staging) {}

  /** Adds the change just committed to the staging buffer; the promise settles with its outcome. */
  add(kind: StagedKind, a: unknown, b: unknown): Promise<void> {
    const i = this.count++;
    let g = this.group;
    if (g === null || g.size === GROUP) this.group = g = new Group(i);
    g.size++;
    g.left++;
    // (the first block grows as it fills: a call awaited on its own makes a feed of one change;
    // all blocks are made by new Array, so they share one elements kind)
    if ((i & (BLOCK - 1)) === 0) this.blocks.push(new Array(i === 0 ? 0 : BLOCK * STRIDE));
    const items = this.blocks[i >> SHIFT]!;
    const k = (i & (BLOCK - 1)) * STRIDE;
    items[k + KIND] = kind;
    items[k + A] = a;
    items[k + B] = b;
    items[k + GRP] = g;
    return g.promise.then(outcome) as Promise<unknown> as Promise<void>;
  }

  /** The block holding change `i`; its slots start at `(i & (BLOCK - 1)) * STRIDE`. */
  private block(i: number): unknown[] {
    return this.blocks[i >> SHIFT]!;
  }

  write(w: ByteWriter): boolean {
    if (this.written >= this.count) return false;
    this.written++;
    // Calls made from now on are a later turn's: they form a group of their own.
    this.group = null;
    const s = this.staging;
    const seg = s.source();
    const at = s.at();
    const src = seg.buf;
    const len = seg.view.getUint32(at, os);
    const to = w.reserve(len);
    const dst = w.buf;
    // (a loop beats subarray + set for messages this small)
    for (let i = 0; i < len; i++) dst[to + i] = src[at + i]!;
    s.take();
    return true;
  }

  /** Only when the connection closes with changes unwritten: hands them out to be failed. */
  next(): Request | undefined {
    if (this.written >= this.count) return undefined;
    const n = this.written++;
    this.group = null;
    const s = this.staging;
    const seg = s.source();
    const at = s.at();
    const message = Buffer.from(seg.buf.subarray(at, at + seg.view.getUint32(at, os)));
    s.take();
    const kind = this.block(n)[(n & (BLOCK - 1)) * STRIDE + KIND] as StagedKind;
    return { message, dump: false, replyless: true, operation: kind.operation };
  }

  settle(index: number, error: IpvsError | null): void {
    const k = (index & (BLOCK - 1)) * STRIDE;
    const items = this.block(index);
    const g = items[k + GRP] as Group;
    // Let the input go now (blocks live as long as the feed).
    items[k + KIND] = items[k + A] = items[k + B] = items[k + GRP] = undefined;
    if (error) (g.errors ??= new Map()).set(index - g.first, error);
    if (--g.left > 0) return;
    if (this.group === g) this.group = null;
    g.resolve(g);
  }

  describe(index: number, status: NetlinkStatus, seq: number): IpvsError {
    const k = (index & (BLOCK - 1)) * STRIDE;
    const i = this.block(index);
    return (i[k + KIND] as StagedKind).explain(status, seq, i[k + A], i[k + B]);
  }

  operation(index: number): string {
    return (this.block(index)[(index & (BLOCK - 1)) * STRIDE + KIND] as StagedKind | undefined)?.operation ?? 'request';
  }
}
