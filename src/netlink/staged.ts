/**
 * Staged changes: encoded by their callers when called (the fast lane),
 * queued as bytes and written into sends by the connection as one feed.
 * Thousands of concurrent calls then cost what a batch costs, with no
 * request or pending object per call (see Connection.requestStaged).
 */
import type { IpvsError } from '../errors.js';
import { ByteWriter } from './attributes.js';
import type { Request, RequestSource } from './connection.js';
import type { NetlinkStatus } from './message.js';

/** Words a kernel refusal of a staged change (see Connection.requestStaged); a, b, c are the caller's. */
export type Explain = (operation: string, status: NetlinkStatus, seq: number, a: unknown, b: unknown, c: unknown) => IpvsError;

/**
 * Where callers encode staged changes: one buffer, emptied whenever every
 * change in it has been copied into a send, so a burst of calls reuses the
 * same memory every time (fresh memory is what costs most in the test kernel).
 */
export class Staging {
  readonly w = new ByteWriter(64 * 1024);
  /** Changes staged and not yet copied into a send. */
  unwritten = 0;
  /** Called when a change left the buffer. */
  taken(): void {
    if (--this.unwritten === 0) this.w.length = 0;
  }
}

/** The slots of one staged change in its block: where its bytes lie in the staging buffer, then what settling and wording a refusal need. */
const AT = 0;
const LEN = 1;
const OP = 2;
const EXPLAIN = 3;
const A = 4;
const B = 5;
const C = 6;
const RESOLVE = 7;
const REJECT = 8;
const STRIDE = 9;
/** Changes per block of a StagedFeed (1 << SHIFT). */
const SHIFT = 9;
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
  constructor(private readonly staging: Staging) {}

  /** Adds a change; its promise settles with the change's outcome. */
  add(at: number, len: number, operation: string, explain: Explain, a: unknown, b: unknown, c: unknown): Promise<void> {
    const promise = new Promise<void>(captureOnly);
    const i = this.count++;
    if ((i & (BLOCK - 1)) === 0) this.blocks.push(new Array(BLOCK * STRIDE));
    const items = this.blocks[i >> SHIFT]!;
    const k = (i & (BLOCK - 1)) * STRIDE;
    items[k + AT] = at;
    items[k + LEN] = len;
    items[k + OP] = operation;
    items[k + EXPLAIN] = explain;
    items[k + A] = a;
    items[k + B] = b;
    items[k + C] = c;
    items[k + RESOLVE] = captured.resolve;
    items[k + REJECT] = captured.reject;
    return promise;
  }
  /** The block holding change `i`; its slots start at `(i & (BLOCK - 1)) * STRIDE`. */
  private block(i: number): unknown[] {
    return this.blocks[i >> SHIFT]!;
  }
  write(w: ByteWriter): boolean {
    if (this.written >= this.count) return false;
    const i = this.written++;
    const k = (i & (BLOCK - 1)) * STRIDE;
    const items = this.block(i);
    const src = this.staging.w.buf;
    const at = items[k + AT] as number;
    const len = items[k + LEN] as number;
    const to = w.reserve(len);
    const dst = w.buf;
    // (a loop beats subarray + set for messages this small)
    for (let i = 0; i < len; i++) dst[to + i] = src[at + i]!;
    this.staging.taken();
    return true;
  }
  /** Only when the connection closes with changes unwritten: hands them out to be failed. */
  next(): Request | undefined {
    if (this.written >= this.count) return undefined;
    const n = this.written++;
    const k = (n & (BLOCK - 1)) * STRIDE;
    const i = this.block(n);
    const at = i[k + AT] as number;
    const message = Buffer.from(this.staging.w.buf.subarray(at, at + (i[k + LEN] as number)));
    this.staging.taken();
    return { message, dump: false, replyless: true, operation: i[k + OP] as string };
  }
  settle(index: number, error: IpvsError | null): void {
    const k = (index & (BLOCK - 1)) * STRIDE;
    const items = this.block(index);
    const done = (error ? items[k + REJECT] : items[k + RESOLVE]) as (v: unknown) => void;
    // Let the input and the bytes go now (blocks live as long as the feed).
    for (let j = 0; j < STRIDE; j++) items[k + j] = undefined;
    done(error ?? undefined);
  }
  describe(index: number, status: NetlinkStatus, seq: number): IpvsError {
    const k = (index & (BLOCK - 1)) * STRIDE;
    const i = this.block(index);
    return (i[k + EXPLAIN] as Explain)(i[k + OP] as string, status, seq, i[k + A], i[k + B], i[k + C]);
  }
  operation(index: number): string {
    return (this.block(index)[(index & (BLOCK - 1)) * STRIDE + OP] as string | undefined) ?? 'request';
  }
}

// One executor for every staged change's promise (saves a closure per
// call): it leaves the resolving functions here for `add` to keep.
const captured: { resolve: (v: never) => void; reject: (e: unknown) => void } = { resolve: () => {}, reject: () => {} };
function captureOnly(resolve: (v: never) => void, reject: (e: unknown) => void): void {
  captured.resolve = resolve;
  captured.reject = reject;
}
