/**
 * Sends the chunks of a /metrics text (metricChunks) to an HTTP response,
 * plain or as gzip: one chunk per turn of the event loop, and no chunk
 * before the response has taken the last (its 'drain'), so a scrape of any
 * size holds a few chunks at a time and other work runs between them.
 *
 * Each chunk goes back to its ChunkPool once written: plain, when the
 * socket's write of it is done (the write's callback); gzip, as soon as it
 * is compressed. bench:render, "StatusServer to curl" rows; in the test
 * kernel (a synthetic listing of 10,000 services, one boot) a scrape's
 * text took ~1.8 s in fresh buffers and ~0.9 s in pooled ones.
 *
 * gzip is one gzip member (RFC 1952) whose deflate stream is made chunk by
 * chunk with deflateRawSync, each piece ended by a sync flush (byte-aligned,
 * not final) and the whole by an empty final block: every reader of gzip
 * (browsers and curl, not only Go's, which Prometheus uses) reads it,
 * unlike a member per chunk. Compressing in this thread rather than
 * zlib's stream, which hands each chunk to the thread pool and back:
 * ~1.4 s against ~1.05 s per scrape in the test kernel (one CPU), and less
 * CPU on the host too. Each piece starts without the previous one's
 * window: the text comes out ~3% larger. Where node has no zlib.crc32
 * (before 20.15), the zlib stream is used.
 */
import { Readable, pipeline, type Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import type { ChunkPool } from './text.js';

/** Level 1: on this text already ~17x smaller, and much cheaper than the default level. */
const LEVEL = 1;
/**
 * zlib's output buffer per deflate call (its default: 16 KiB). A 64 KiB chunk
 * deflates to ~4 KiB, and the piece kept until the gathered pieces are
 * written is a view of the whole buffer. With 1 KiB buffers a scrape served
 * to curl takes about half the page faults under the deflate calls and less
 * CPU: bench:render "StatusServer to curl, gzip" (test kernel 1.65-1.93 s ->
 * 1.12-1.33 s CPU; host 289-383 -> 270-324 ms) and the scrape rows of
 * `npm run bench -- --only-list` (gzip over plain +38 -> +13 us per service).
 * Both measured while the benches still forked curl from the serving process
 * (README: most of those faults were that fork's copy-on-write); the gain
 * without the fork is not measured yet.
 */
const OUT_CHUNK = 1024;
// ID1 ID2, deflate, no flags, no time, XFL 4 (fastest), OS 255 (unknown).
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255]);

/**
 * Writes `chunks` to `out` and ends it; `done` once all is sent (undefined)
 * or the response closed (code ERR_STREAM_PREMATURE_CLOSE) or failed first.
 */
export function sendChunks(chunks: Iterator<Buffer>, out: Writable, pool: ChunkPool, gzip: boolean, done: (e: Error | undefined) => void): void {
  const crc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  if (gzip && !crc32) {
    pipeline(Readable.from({ [Symbol.iterator]: () => chunks }, { objectMode: false }), zlib.createGzip({ level: LEVEL }), out, (e) => done(e ?? undefined));
    return;
  }
  let over = false;
  let crc = 0;
  let size = 0;
  const finish = (e: Error | undefined) => {
    if (over) return;
    over = true;
    out.off('close', closed);
    out.off('error', finish);
    chunks.return?.();
    done(e);
  };
  // Named as stream.pipeline names it: the scraper went away (nothing to log).
  const closed = () => finish(out.writableFinished ? undefined : Object.assign(new Error('the response closed before the end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  out.on('close', closed);
  out.on('error', finish);
  // gzip: compressed pieces (~4 KiB per 64 KiB chunk) gathered up to 64 KiB per write, each write being a system call.
  let held: Buffer[] = [HEADER];
  let heldBytes = HEADER.length;
  const flush = () => {
    const all = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
    held = [];
    heldBytes = 0;
    return out.write(all);
  };
  const step = () => {
    try {
      write();
    } catch (e) {
      // A rendering that failed (the listing was not what it should be): the response is cut, never left hanging.
      out.destroy(e as Error);
      finish(e as Error);
    }
  };
  const write = () => {
    if (over || out.destroyed) return;
    const next = chunks.next();
    if (next.done) {
      if (gzip) {
        held.push(zlib.deflateRawSync(Buffer.alloc(0), { level: LEVEL }));
        const trailer = Buffer.alloc(8);
        trailer.writeUInt32LE(crc >>> 0, 0);
        trailer.writeUInt32LE(size % 2 ** 32, 4);
        held.push(trailer);
        heldBytes += 8 + held.at(-2)!.length;
        flush();
      }
      out.end(() => finish(undefined));
      return;
    }
    const chunk = next.value;
    let more = true;
    if (gzip) {
      crc = crc32!(chunk, crc);
      size += chunk.length;
      const piece = zlib.deflateRawSync(chunk, { level: LEVEL, finishFlush: zlib.constants.Z_SYNC_FLUSH, chunkSize: OUT_CHUNK });
      pool.put(chunk);
      held.push(piece);
      heldBytes += piece.length;
      if (heldBytes >= 1 << 16) more = flush();
    } else
      more = out.write(chunk, (e) => {
        if (!e) pool.put(chunk);
      });
    if (more) setImmediate(step);
    else out.once('drain', step);
  };
  step();
}
