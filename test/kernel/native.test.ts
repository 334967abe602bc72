/**
 * The addon's boundary: whatever JavaScript hands it, it throws a clean
 * error or works; it never crashes the process.
 */
import { describe, expect, it } from 'vitest';
import { RECEIVE_BUFFER_BYTES, loadNative, type NativeSocket } from '../../src/native.js';
import { createNetns } from '../helpers/netns.js';

const { NetlinkSocket } = loadNative();
const noop = () => undefined;
type Ctor = new (...args: unknown[]) => NativeSocket;
const Raw = NetlinkSocket as unknown as Ctor;

describe('native NetlinkSocket', () => {
  it('rejects bad constructor arguments with TypeError or RangeError', () => {
    const bad: unknown[][] = [
      [],
      [16],
      ['16', null, 0, 0, noop],
      [16, 5, 0, 0, noop],
      [16, null, 0, 0, 'not a function'],
      [16, null, -1, 0, noop],
      [99, null, 0, 0, noop],
      [16, '', 0, 0, noop],
      [16, 'a\0b', 0, 0, noop],
      [16, 'x'.repeat(5000), 0, 0, noop],
    ];
    for (const args of bad) expect(() => new Raw(...args), JSON.stringify(args)).toThrow(/TypeError|RangeError|NetlinkSocket|namespace|range/);
  });

  it('reports a missing namespace file as an errno error', () => {
    let err: unknown;
    try {
      new Raw(16, '/var/run/netns/definitely-missing', 0, 0, noop);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ errno: 2, syscall: 'open' });
  });

  it('rejects bad send arguments and works after them', () => {
    const s = new Raw(16, null, 1 << 20, 1 << 20, noop);
    expect(s.portId).toBeGreaterThan(0);
    const bad: unknown[] = [undefined, 'abc', 42, {}, new Uint16Array(8), new Uint8Array(0), new Uint8Array(15), Buffer.alloc(16 * 1024 * 1024 + 1)];
    for (const b of bad) expect(() => (s.send as (x: unknown) => number)(b)).toThrow();
    expect(() => (s.send as (...x: unknown[]) => number)(Buffer.alloc(16), Buffer.alloc(16))).toThrow(TypeError);
    expect(() => (s.send as (...x: unknown[]) => number)(Buffer.alloc(16), 16, 1)).toThrow(TypeError);
    // a length past the buffer, negative, fractional, not a number, or too short for a header
    for (const len of [17, -1, 16.5, NaN, Infinity, 15, 0]) expect(() => s.send(Buffer.alloc(16), len), String(len)).toThrow(RangeError);
    s.close();
    s.close(); // twice is fine
    expect(() => s.send(Buffer.alloc(16))).toThrow(/EBADF|Bad file/);
    s.ref();
    s.unref();
  });

  it('rejects a bad receive buffer and keeps working', () => {
    const s = new Raw(16, null, 0, 0, noop);
    const use = s.useReceiveBuffer as (...x: unknown[]) => number;
    const bad: unknown[][] = [[], ['x'], [new Uint8Array(RECEIVE_BUFFER_BYTES - 1)], [new Uint16Array(RECEIVE_BUFFER_BYTES)], [{}], [Buffer.alloc(RECEIVE_BUFFER_BYTES), 1]];
    for (const args of bad) expect(() => use.apply(s, args), String(args.length)).toThrow(TypeError);
    expect(use.call(s, Buffer.alloc(RECEIVE_BUFFER_BYTES))).toBe(RECEIVE_BUFFER_BYTES);
    s.close();
  });

  it('reads replies into the receive buffer it was given, passing their length', async () => {
    const recv = Buffer.alloc(RECEIVE_BUFFER_BYTES);
    const got = await new Promise<{ len: number; type: number; seq: number }>((resolve, reject) => {
      const s = new Raw(16, null, 0, 0, (err: unknown, data: unknown) => {
        s.close();
        if (err) reject(err);
        else if (typeof data !== 'number') reject(new Error(`expected a length, got ${typeof data}`));
        // (read now: the buffer is the socket's again once this returns)
        else resolve({ len: data, type: recv.readUInt16LE(4), seq: recv.readUInt32LE(8) });
      });
      s.useReceiveBuffer!(recv);
      s.ref();
      s.send(getFamily('nlctrl', 9));
    });
    expect(got.len).toBeGreaterThan(16);
    expect(got.type).toBe(0x10);
    expect(got.seq).toBe(9);
  });

  it('opens inside another namespace and answers a real request there', async () => {
    const ns = createNetns('native');
    try {
      const got = await new Promise<Buffer>((resolve, reject) => {
        const s = new Raw(16, `/var/run/netns/${ns.name}`, 0, 0, (err: unknown, data: Buffer | null) => {
          s.close();
          if (err) reject(err);
          else resolve(data!);
        });
        s.ref();
        // Only the first `length` bytes go: what follows would not parse.
        const msg = getFamily('nlctrl', 7);
        const padded = Buffer.concat([msg, Buffer.alloc(64, 0xff)]);
        expect(s.send(padded, msg.length)).toBe(msg.length);
      });
      // The family description, then the ack, both with our sequence number.
      expect(got.readUInt16LE(4)).toBe(0x10);
      expect(got.readUInt32LE(8)).toBe(7);
    } finally {
      ns.remove();
    }
  });
});

/** nlctrl GETFAMILY `family`, flags REQUEST|ACK. */
function getFamily(family: string, seq: number): Buffer {
  const name = Buffer.from(`${family}\0`);
  const attrLen = 4 + name.length;
  const msg = Buffer.alloc(16 + 4 + ((attrLen + 3) & ~3));
  msg.writeUInt32LE(msg.length, 0);
  msg.writeUInt16LE(0x10, 4);
  msg.writeUInt16LE(0x5, 6);
  msg.writeUInt32LE(seq, 8);
  msg[16] = 3;
  msg[17] = 1;
  msg.writeUInt16LE(attrLen, 20);
  msg.writeUInt16LE(2, 22);
  name.copy(msg, 24);
  return msg;
}
