/**
 * Reads the annotated hex fixtures in test/fixtures/kernel/ (written by
 * test/fixtures/capture/capture.sh in the test kernel): "> send" / "< recv"
 * start a datagram, hex bytes follow, "#" starts a comment.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Datagram {
  dir: 'send' | 'recv';
  bytes: Uint8Array;
}

export interface Fixture {
  name: string;
  /** The first line: name and command. */
  title: string;
  datagrams: Datagram[];
  /** What the program printed, from the header comments. */
  printed: string[];
}

const dir = fileURLToPath(new URL('../../fixtures/kernel/', import.meta.url));

export function loadFixture(name: string): Fixture {
  const text = readFileSync(`${dir}${name}.txt`, 'utf8');
  const datagrams: Datagram[] = [];
  const printed: string[] = [];
  let title = '';
  let cur: { dir: 'send' | 'recv'; size: number; bytes: number[] } | undefined;
  const finish = () => {
    if (!cur) return;
    if (cur.bytes.length !== cur.size) throw new Error(`${name}: datagram says ${cur.size} bytes, holds ${cur.bytes.length}`);
    datagrams.push({ dir: cur.dir, bytes: Uint8Array.from(cur.bytes) });
  };
  for (const line of text.split('\n')) {
    if (!title && line.startsWith('# ')) title = line.slice(2);
    const out = /^# {3}\| ?(.*)$/.exec(line);
    if (out) printed.push(out[1]!);
    const start = /^([<>]) (send|recv) (\d+) bytes$/.exec(line);
    if (start) {
      finish();
      cur = { dir: start[2] as 'send' | 'recv', size: Number(start[3]), bytes: [] };
      continue;
    }
    const data = line.replace(/#.*$/, '').trim();
    if (!data) continue;
    if (!cur) throw new Error(`${name}: bytes before the first datagram: ${line}`);
    for (const tok of data.split(/\s+/)) {
      if (!/^[0-9a-f]{2}$/.test(tok)) throw new Error(`${name}: not a hex byte: ${tok}`);
      cur.bytes.push(parseInt(tok, 16));
    }
  }
  finish();
  return { name, title, datagrams, printed };
}

export const sent = (f: Fixture): Uint8Array[] => f.datagrams.filter((d) => d.dir === 'send').map((d) => d.bytes);
export const received = (f: Fixture): Uint8Array[] => f.datagrams.filter((d) => d.dir === 'recv').map((d) => d.bytes);

/** The IPVS family id in the captures (it differs between kernels). */
export function ipvsFamilyId(f: Fixture): number {
  const b = sent(f)[0]!;
  return b[4]! | (b[5]! << 8);
}

/** A copy of a message with nlmsg_seq and nlmsg_pid zeroed (they differ per run). */
export function withoutSeqPid(msg: Uint8Array): Uint8Array {
  const out = Uint8Array.from(msg);
  out.fill(0, 8, 16);
  return out;
}
