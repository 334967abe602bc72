/**
 * The exporter's rendering and sending on this machine, no kernel needed
 * (`npm run bench:render [-- --n 10000 --reps 7]`): a synthetic listing of
 * N services x 2 real servers (bench/workload.ts's addresses, counters of
 * many digits) rendered
 *   - whole, into one buffer sized for the text (renderMetrics' way),
 *   - in 64 KiB chunks (metricChunks), each a fresh buffer,
 *   - in chunks handed back to a ChunkPool (what StatusServer does),
 *   - in chunks without the per-real-server rate gauges,
 *   - sent by sendChunks to a stream that drops them, plain and gzip (one
 *     chunk per turn, as StatusServer sends them), and through zlib's gzip
 *     stream for comparison (the way before sendChunks),
 * and served by StatusServer to curl (a process of its own), plain and gzip.
 * "cpu ms" is this process's CPU time (process.cpuUsage, user + system, all
 * its threads: zlib's pool and the collector's too) over one repetition: for
 * the curl rows, the server's CPU without curl's.
 * For a host that is not the test kernel: fresh memory, system calls and the
 * loopback cost what they cost here, not what they cost in user-mode Linux.
 */
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import type { Service, Stats } from '../src/ipvs/types.js';
import { ByteWriter, CHUNK_ROOM, ChunkPool, StatusServer, estimateBytes, metricChunks, writeMetrics } from '../src/metrics/index.js';
import { sendChunks } from '../src/metrics/send.js';
import { CommandShell, median } from './env.js';
import { rip, vip } from './workload.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '10000' }, reps: { type: 'string', default: '7' } } });
const n = Number(values.n);
const reps = Number(values.reps);
/** curl's shell, started before anything is timed. */
const sh = new CommandShell();

const stats = (k: number): Stats => {
  const b = BigInt(k) * 1_000_003n;
  return { connections: b, packetsIn: b * 101n, packetsOut: b * 97n, bytesIn: b * 123_457n, bytesOut: b * 654_321n, cps: BigInt(k % 7), packetsInPerSecond: BigInt(k % 100), packetsOutPerSecond: BigInt(k % 90), bytesInPerSecond: BigInt(k % 10_000), bytesOutPerSecond: BigInt(k % 20_000) };
};
const services: Service[] = [];
for (let i = 0; i < n; i++) {
  services.push({
    family: 'inet', protocol: 'tcp', address: vip(i), port: 80, scheduler: 'wlc', schedulerFlags: [], netmask: '255.255.255.255', onePacket: false, flags: 2, timeout: 0, stats: stats(i),
    destinations: [0, 1].map((j) => ({ family: 'inet' as const, address: rip(i, j), port: 80, forwarding: 'masq' as const, weight: 1, upperThreshold: 0, lowerThreshold: 0, activeConnections: i % 5, inactiveConnections: i % 3, persistentConnections: 0, stats: stats(2 * i + j) })),
  });
}

async function row(way: string, once: () => Promise<number> | number): Promise<void> {
  await once(); // warm-up
  const ms: number[] = [];
  const cpu: number[] = [];
  let bytes = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    bytes = await once();
    const c = process.cpuUsage(c0);
    ms.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
  }
  process.stdout.write(`| ${way} | ${median(ms).toFixed(0)} | ${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)} | ${median(cpu).toFixed(0)} | ${(bytes / 1e6).toFixed(1)} |\n`);
}

/** curl's GET (bytes received), run by `sh`: the serving process never forks (bench/env.ts). */
async function curl(url: string, gzip: boolean): Promise<number> {
  const r = await sh.curl(url, gzip);
  if (r.code !== 200) throw new Error(`curl: status ${r.code}`);
  return r.bytes;
}

process.stdout.write(`${n.toLocaleString('en-US')} services x 2 real servers, medians of ${reps}\n\n| way | ms | range | cpu ms | MB |\n|---|---:|---:|---:|---:|\n`);
await row('whole, one buffer (renderMetrics)', () => {
  const w = new ByteWriter(estimateBytes(services));
  writeMetrics(w, services);
  return w.length;
});
const pool = new ChunkPool((1 << 16) + CHUNK_ROOM);
const chunked = (opts = {}, back = true) => {
  let b = 0;
  for (const c of metricChunks(services, undefined, opts, back ? pool : 1 << 16)) {
    b += c.length;
    if (back) pool.put(c);
  }
  return b;
};
await row('64 KiB chunks, fresh buffers (metricChunks)', () => chunked({}, false));
await row('64 KiB chunks, handed back (ChunkPool)', () => chunked());
await row('64 KiB chunks, handed back, no per-real-server rates', () => chunked({ backendRates: false }));
const send = (gzip: boolean) =>
  new Promise<number>((resolve, reject) => {
    let b = 0;
    const sink = new Writable({ write: (c: Buffer, _e, cb) => ((b += c.length), cb()) });
    sendChunks(metricChunks(services, undefined, {}, pool), sink, pool, gzip, (e) => (e ? reject(e) : resolve(b)));
  });
await row('sendChunks to a stream, plain (a chunk per turn)', () => send(false));
await row('sendChunks to a stream, gzip level 1 (deflateRawSync per chunk)', () => send(true));
await row("64 KiB chunks through zlib's gzip stream, level 1 (before sendChunks)", async () => {
  const gz = createGzip({ level: 1 });
  let b = 0;
  gz.on('data', (d: Buffer) => (b += d.length));
  const done = new Promise((r) => gz.once('end', r));
  for (const c of metricChunks(services)) if (!gz.write(c)) await new Promise((r) => gz.once('drain', r));
  gz.end();
  await done;
  return b;
});
for (const backendRates of [true, false]) {
  const server = await StatusServer.start({ ipvs: { listServices: async () => services }, port: 0, history: false, backendRates });
  try {
    for (const gzip of [false, true]) await row(`StatusServer to curl${gzip ? ', gzip' : ''}${backendRates ? '' : ', no per-real-server rates'}`, () => curl(`${server.url}metrics`, gzip));
  } finally {
    await server.close();
  }
}
sh.close();
