/**
 * Encoded messages packed into large shared chunks. A request encodes its
 * message here once, when it is made, and keeps only where it lies: the
 * validated input it was built from can then be collected at once, and
 * thousands of requests waiting to be sent cost the garbage collector one
 * buffer instead of thousands of small objects.
 */
import { ByteWriter } from './attributes.js';

const CHUNK = 256 * 1024;

/** Where an encoded message lies. */
export interface Packed {
  readonly buf: Uint8Array;
  readonly at: number;
  readonly len: number;
}

export class Arena {
  private readonly w = new ByteWriter(CHUNK);

  /**
   * Encodes one message with `write` (which appends it to the writer) and
   * returns where it lies. A chunk is never written again once full, so
   * what was returned stays valid while referenced.
   */
  pack(write: (w: ByteWriter) => void): Packed {
    const w = this.w;
    if (w.length > CHUNK - 4096) {
      w.buf = Buffer.allocUnsafe(CHUNK);
      w.view = new DataView(w.buf.buffer, w.buf.byteOffset, w.buf.byteLength);
      w.length = 0;
    }
    const at = w.length;
    try {
      write(w);
    } catch (e) {
      w.length = at;
      throw e;
    }
    // (read buf after writing: a large message may have moved it)
    return { buf: w.buf, at, len: w.length - at };
  }
}

/** Appends a packed message to a writer. */
export function copyPacked(w: ByteWriter, p: Packed): void {
  // Every byte is overwritten: no need for reserve's zeroing.
  if (w.length + p.len > w.buf.length) w.reserve(p.len);
  else w.length += p.len;
  const at = w.length - p.len;
  const src = p.buf;
  const dst = w.buf;
  const end = p.at + p.len;
  // (a loop beats subarray + set for messages this small)
  for (let i = p.at, j = at; i < end; i++, j++) dst[j] = src[i]!;
}
