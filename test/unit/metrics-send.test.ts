// /metrics as StatusServer sends a text of many chunks (sendChunks): the
// pooled chunk buffers never change under a write in flight (the text read
// equals renderMetrics'), gzip is one member every reader takes (raw inflate
// of its body, its CRC and size, curl --compressed), and a scraper that
// goes away mid-text costs nothing but that scrape.
import { execFile } from 'node:child_process';
import { get } from 'node:http';
import { Writable } from 'node:stream';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Service, Stats } from '../../src/ipvs/types.js';
import { ChunkPool, StatusServer, metricChunks, renderMetrics } from '../../src/metrics/index.js';
import { sendChunks } from '../../src/metrics/send.js';

const stats = (k: number): Stats => ({ connections: BigInt(k), packetsIn: BigInt(k) * 7n, packetsOut: 2n ** 60n + BigInt(k), bytesIn: BigInt(k) * 1000n, bytesOut: 5n, cps: 1n, packetsInPerSecond: 2n, packetsOutPerSecond: 3n, bytesInPerSecond: BigInt(k), bytesOutPerSecond: 4n });
// ~2,000 real servers: ~6 MB of text, ~90 chunks of 64 KiB.
const services: Service[] = Array.from({ length: 1000 }, (_, i) => ({
  family: 'inet', protocol: 'tcp', address: `10.0.${i >> 8}.${i & 255}`, port: 80, scheduler: 'wlc', schedulerFlags: [], netmask: '255.255.255.255', onePacket: false, flags: 2, timeout: 0, stats: stats(i),
  destinations: [0, 1].map((j) => ({ family: 'inet' as const, address: `172.16.${i >> 8}.${(i & 255) + j}`, port: 8080, forwarding: 'masq' as const, weight: j, upperThreshold: 0, lowerThreshold: 0, activeConnections: i, inactiveConnections: j, persistentConnections: 0, stats: stats(2 * i + j) })),
}));
// The listing-duration series differs between scrapes; the rest is the same text.
const strip = (t: string) => t.replace(/^ipvs_exporter_listing_duration_seconds .*$/m, '');

function fetchRaw(url: string, gzip: boolean): Promise<{ encoding: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(parts) }));
    }).on('error', reject);
  });
}

describe('sending /metrics', () => {
  it('sends the whole text plain and as one gzip member, again and again from the same buffers', async () => {
    const logged: string[] = [];
    const s = await StatusServer.start({ ipvs: { listServices: async () => services }, port: 0, history: false, log: (l) => logged.push(l) });
    try {
      const want = strip(renderMetrics(services, undefined, { listingSeconds: 0, listingErrors: 0 }));
      for (let round = 0; round < 3; round++) {
        const [plain, gz] = await Promise.all([fetchRaw(`${s.url}metrics`, false), fetchRaw(`${s.url}metrics`, true)]);
        expect(plain.encoding).toBeUndefined();
        expect(strip(plain.body.toString('utf8'))).toBe(want);
        expect(gz.encoding).toBe('gzip');
        const text = gunzipSync(gz.body);
        expect(strip(text.toString('utf8'))).toBe(want);
        // One member: the deflate stream between header and trailer holds it all, and the trailer is its CRC and size.
        expect(gz.body.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x8b, 8]));
        expect(inflateRawSync(gz.body.subarray(10, gz.body.length - 8)).equals(text)).toBe(true);
        expect([gz.body.readUInt32LE(gz.body.length - 8), gz.body.readUInt32LE(gz.body.length - 4)]).toEqual([crc32(text), text.length]);
      }
      // curl, a reader that is not node's zlib.
      const viaCurl = await new Promise<string>((resolve, reject) =>
        execFile('curl', ['-sS', '--compressed', `${s.url}metrics`], { maxBuffer: 1 << 26 }, (e, out) => (e ? reject(e) : resolve(out))),
      );
      expect(strip(viaCurl)).toBe(want);
      // A scraper that leaves mid-text: nothing logged, and the next scrape is whole.
      await new Promise<void>((resolve, reject) => {
        const req = get(`${s.url}metrics`, (res) => res.once('data', () => (req.destroy(), resolve())));
        req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
      });
      expect(strip((await fetchRaw(`${s.url}metrics`, false)).body.toString('utf8'))).toBe(want);
      expect(logged).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('ChunkPool', () => {
  it('hands back only its own size, once, and at most what it keeps', () => {
    const pool = new ChunkPool(8192, 2);
    const a = pool.get();
    const b = pool.get();
    pool.put(a.subarray(0, 10));
    pool.put(a.subarray(0, 20)); // the same buffer again: kept once
    pool.put(Buffer.allocUnsafe(10000)); // not its size
    pool.put(b.subarray(5)); // not a chunk's start
    expect(pool.get().buffer).toBe(a.buffer);
    expect(pool.get().buffer).not.toBe(a.buffer);
    expect(() => new ChunkPool(4096)).toThrow(RangeError);
  });

  it('gives metricChunks buffers back to write the next chunks into', () => {
    const pool = new ChunkPool((1 << 12) + 4097);
    const seen = new Set<ArrayBufferLike>();
    const parts: string[] = [];
    for (const c of metricChunks(services.slice(0, 50), undefined, {}, pool)) {
      parts.push(c.toString('latin1'));
      seen.add(c.buffer);
      pool.put(c);
    }
    expect(parts.join('')).toBe(renderMetrics(services.slice(0, 50)));
    expect(parts.length).toBeGreaterThan(10);
    expect(seen.size).toBeLessThanOrEqual(3);
  });
});

describe('sendChunks', () => {
  it('cuts the response and says why when the text cannot be made', async () => {
    const got: Buffer[] = [];
    const out = new Writable({ write: (c: Buffer, _e, cb) => (got.push(c), cb()) });
    out.on('error', () => {});
    function* failing(): Generator<Buffer, void, undefined> {
      yield Buffer.from('a 1\n');
      throw new Error('no text');
    }
    const err = await new Promise<Error | undefined>((resolve) => sendChunks(failing(), out, new ChunkPool(8192), false, resolve));
    expect(err?.message).toBe('no text');
    expect(out.destroyed).toBe(true);
    expect(Buffer.concat(got).toString()).toBe('a 1\n');
  });
});
