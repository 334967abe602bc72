/**
 * An append-only byte buffer for large texts made of many small pieces.
 * A scrape of 10,000 services is ~400,000 lines. Joined as JavaScript
 * strings they made ropes of millions of nodes that outlived collections
 * (the collector took longer than the writing), and Buffer#write costs more
 * per call than the copy it does. So each line is put together from bytes:
 * label sets are encoded once per scrape and copied in, numbers are written
 * digit by digit. take() hands the bytes so far over (no copy) and starts a
 * fresh buffer, so a text can go out in chunks while it is written.
 */
export class ByteWriter {
  private buf: Buffer;
  private pos = 0;
  /** Whether every byte so far is ASCII (then the text decodes as latin1, much faster). */
  private ascii = true;

  /** `initial`: a size, or a buffer to write into (its bytes are the writer's until it grows). */
  constructor(
    initial: number | Buffer = 1 << 16,
    private readonly pool?: ChunkPool,
  ) {
    if (typeof initial !== 'number') this.buf = initial;
    else this.buf = this.fresh(initial);
  }

  /** The memory written into now (to give back to a ChunkPool once nothing reads what was written). */
  get memory(): ArrayBufferLike {
    return this.buf.buffer;
  }

  /**
   * The bytes written so far (the writer lets go of them: no copy), and a
   * fresh buffer of `nextBytes` for what comes next.
   */
  take(nextBytes = this.buf.length): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = this.fresh(nextBytes);
    this.pos = 0;
    return out;
  }

  /** A buffer for `bytes`: the pool's when it is of the pool's size. */
  private fresh(bytes: number): Buffer {
    return this.pool && bytes === this.pool.bytes ? this.pool.get() : Buffer.allocUnsafe(Math.max(bytes, 256));
  }

  /** Appends bytes made by piece(). */
  bytes(b: Uint8Array): void {
    const n = b.length;
    if (this.pos + n > this.buf.length) this.grow(n);
    this.buf.set(b, this.pos);
    this.pos += n;
  }

  /** Appends a string (UTF-8). */
  text(s: string): void {
    if (s.length < 24) {
      // Short strings: a loop beats Buffer#write's set-up.
      if (this.pos + s.length > this.buf.length) this.grow(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) {
          this.bytes(this.piece(s.slice(i)));
          return;
        }
        this.buf[this.pos++] = c;
      }
      return;
    }
    this.bytes(this.piece(s));
  }

  /** One ASCII byte. */
  byte(c: number): void {
    if (this.pos >= this.buf.length) this.grow(1);
    this.buf[this.pos++] = c;
  }

  /** A whole number >= 0 in decimal, exact for any bigint. */
  uint(v: number | bigint): void {
    if (typeof v === 'bigint') {
      if (v > 9007199254740991n) return this.text(v.toString());
      v = Number(v);
    }
    if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v)) return this.text(String(v));
    if (this.pos + 16 > this.buf.length) this.grow(16);
    const buf = this.buf;
    // Digits counted, then written from the last one: below 2^32 with 32-bit
    // integer division, ~4x faster than Math.floor on doubles
    // (bench:render, "64 KiB chunks (metricChunks)").
    let end = this.pos + 1;
    for (let p = 10; p <= v; p *= 10) end++;
    this.pos = end;
    let x = v;
    while (x >= 4294967296) {
      const q = Math.floor(x / 10);
      buf[--end] = 48 + (x - q * 10);
      x = q;
    }
    let y = x >>> 0;
    while (y >= 10) {
      const q = (y / 10) >>> 0;
      buf[--end] = 48 + (y - q * 10);
      y = q;
    }
    buf[--end] = 48 + y;
  }

  /** Copies bytes this writer already holds (from `start` to `end`) to its end. */
  again(start: number, end: number): void {
    const n = end - start;
    if (this.pos + n > this.buf.length) this.grow(n);
    this.buf.copyWithin(this.pos, start, end);
    this.pos += n;
  }

  /** A view of bytes written (from `start` to `end`), valid while nothing more is written. */
  slice(start: number, end: number): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, end - start);
  }

  /** Told that bytes of another writer will be copied in with bytes() (for toString's decoding). */
  copiesFrom(other: ByteWriter): void {
    if (!other.ascii) this.ascii = false;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** The bytes written, UTF-8 (a view: valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** The text written. */
  toString(): string {
    return this.buf.toString(this.ascii ? 'latin1' : 'utf8', 0, this.pos);
  }

  private grow(need: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** UTF-8 bytes of a string, to write many times with bytes() (label sets, metric names). */
  piece(s: string): Uint8Array {
    const b = encoder.encode(s);
    if (b.length !== s.length) this.ascii = false;
    return b;
  }
}

const encoder = new TextEncoder();

/**
 * Buffers of one size for a ByteWriter's chunks, handed back by whoever sent
 * a chunk once nothing reads it any more (its write's callback), so that a
 * scrape's 60 MB go through the same few buffers. Each fresh buffer is
 * memory outside the heap, and V8 answers 60 MB of it per scrape with a
 * collection every ~15 MB ("external memory pressure", ~20 ms of ~60 per
 * scrape on the host: bench:render, "64 KiB chunks, handed back"). A chunk
 * never handed back is simply collected: put() is an offer, not a duty.
 */
export class ChunkPool {
  private readonly free: ArrayBuffer[] = [];
  private readonly spare: ArrayBuffer[] = [];

  /** `bytes`: each buffer's size, over 4 KiB (a buffer of its own, never Buffer's shared slab). */
  constructor(
    readonly bytes: number,
    private readonly keep = 8,
  ) {
    if (!(bytes > 4096)) throw new RangeError(`a ChunkPool's buffers are over 4096 bytes (asked for ${bytes})`);
  }

  get(): Buffer {
    const b = this.free.pop();
    return b ? Buffer.from(b) : Buffer.allocUnsafe(this.bytes);
  }

  /**
   * Memory of at least `bytes` for one rendering's own use (its label sets
   * and value columns, ~7 MB for 10,000 services x 2), to give back once
   * the rendering is done: fresh, each scrape's first touch of it cost
   * ~1,600 page faults (bench:render, "64 KiB chunks, handed back").
   */
  borrow(bytes: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.spare.length; i++) if (this.spare[i]!.byteLength >= bytes && (best < 0 || this.spare[i]!.byteLength < this.spare[best]!.byteLength)) best = i;
    return best >= 0 ? this.spare.splice(best, 1)[0]! : new ArrayBuffer(bytes);
  }

  /** Memory from borrow() (or grown from it), which nothing reads any more; at most four are kept. */
  giveBack(memory: ArrayBufferLike): void {
    if (this.spare.length < 4 && !this.spare.includes(memory as ArrayBuffer)) this.spare.push(memory as ArrayBuffer);
  }

  /** A chunk taken from a writer of this pool, which nothing reads any more; other buffers are ignored. */
  put(chunk: Uint8Array): void {
    const b = chunk.buffer;
    if (chunk.byteOffset !== 0 || b.byteLength !== this.bytes || this.free.length >= this.keep || this.free.includes(b as ArrayBuffer)) return;
    this.free.push(b as ArrayBuffer);
  }
}
