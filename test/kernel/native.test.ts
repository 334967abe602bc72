/**
 * The addon's boundary: whatever JavaScript hands it, it throws a clean
 * error or works; it never crashes the process.
 */
import { describe, expect, it } from 'vitest';
import { loadNative, type NativeSocket } from '../../src/native.js';
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
    s.close();
    s.close(); // twice is fine
    expect(() => s.send(Buffer.alloc(16))).toThrow(/EBADF|Bad file/);
    s.ref();
    s.unref();
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
        // nlctrl GETFAMILY "nlctrl", flags REQUEST|ACK, seq 7
        const name = Buffer.from('nlctrl\0');
        const attrLen = 4 + name.length;
        const msg = Buffer.alloc(16 + 4 + ((attrLen + 3) & ~3));
        msg.writeUInt32LE(msg.length, 0);
        msg.writeUInt16LE(0x10, 4);
        msg.writeUInt16LE(0x5, 6);
        msg.writeUInt32LE(7, 8);
        msg[16] = 3;
        msg[17] = 1;
        msg.writeUInt16LE(attrLen, 20);
        msg.writeUInt16LE(2, 22);
        name.copy(msg, 24);
        expect(s.send(msg)).toBe(msg.length);
      });
      // The family description, then the ack, both with our sequence number.
      expect(got.readUInt16LE(4)).toBe(0x10);
      expect(got.readUInt32LE(8)).toBe(7);
    } finally {
      ns.remove();
    }
  });
});
