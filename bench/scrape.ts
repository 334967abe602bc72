/**
 * The exporter's cost per scrape, next to the listing it is built on:
 *   render:  listServices + the Prometheus text as the server makes it
 *            (metricChunks, 64 KiB at a time into pooled buffers), each chunk
 *            handed back as it comes
 *   scrape*: a GET /metrics from StatusServer over loopback, read by curl
 *            (`-o /dev/null`) in a process of its own, as a Prometheus server
 *            would; timed by curl's own clock (connect to last byte, no process
 *            start-up). `-gzip`: the request accepts gzip, as Prometheus's
 *            does (curl keeps the bytes compressed); `-norates`: the server
 *            leaves out the per-real-server rate gauges.
 * An earlier version fetched with undici in the benchmark's own process, which
 * then spent as long reading and keeping 60 MB as the server did making it.
 * Each GET is timed next to a bare listing in the same process (which goes
 * first alternates), and the target is read on those pairs: listings in
 * other processes, at other moments, varied by more than the gap measured.
 * Each way's text is checked once, untimed: one connections counter per real
 * server, rate gauges per real server only when asked for.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { get } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Ipvs } from '../src/index.js';
import { CHUNK_ROOM, ChunkPool, StatusServer, metricChunks } from '../src/metrics/index.js';
import { CommandShell, settle } from './env.js';
import type { RepResult } from './library.js';

export const SCRAPE_WAYS = ['render', 'scrape', 'scrape-gzip', 'scrape-norates', 'scrape-norates-gzip'] as const;
export type ScrapeWay = (typeof SCRAPE_WAYS)[number];

/** Occurrences of `needle` in `hay`. */
function count(hay: Buffer, needle: string): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** A GET whose body is left as sent (node:http decodes nothing). */
function getRaw(url: string, gzip: boolean): Promise<{ encoding: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(parts) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Checks one text of `way` (untimed). */
function check(way: ScrapeWay, text: Buffer, n: number): void {
  const series = count(text, 'node_ipvs_backend_connections_total{');
  if (series !== 2 * n) throw new Error(`${way}: ${series} real servers in the text, expected ${2 * n}`);
  const rates = count(text, 'node_ipvs_backend_connections_per_second{');
  if (rates !== (way.includes('norates') ? 0 : 2 * n)) throw new Error(`${way}: ${rates} real server rate gauges`);
}

export async function scrapeReps(way: ScrapeWay, n: number, reps: number, netns: string): Promise<RepResult[]> {
  const ipvs = await Ipvs.open({ netns });
  const server = way === 'render' ? undefined : await StatusServer.start({ ipvs, port: 0, history: false, listingTimeoutMs: 600_000, backendRates: !way.includes('norates') });
  const gzip = way.endsWith('-gzip');
  // (curl runs from a shell started before anything is timed: the serving process never forks, bench/env.ts)
  const sh = server ? new CommandShell() : undefined;
  // As StatusServer does: chunks written into pooled buffers, each handed back once sent.
  const pool = new ChunkPool((1 << 16) + CHUNK_ROOM);
  const render = async (keep: boolean): Promise<Buffer> => {
    const services = await ipvs.listServices({ withDestinations: true });
    const kept: Buffer[] = [];
    for (const chunk of metricChunks(services, undefined, {}, pool)) {
      if (keep) kept.push(Buffer.from(chunk));
      pool.put(chunk);
    }
    return Buffer.concat(kept);
  };
  // The server's CPU time of the GET in flight (one at a time).
  let cpuStart: NodeJS.CpuUsage | undefined;
  let cpuUs: number | undefined;
  const started = () => (cpuStart = process.cpuUsage());
  const finished = () => {
    const c = process.cpuUsage(cpuStart);
    cpuUs = c.user + c.system;
  };
  subscribe('http.server.request.start', started);
  subscribe('http.server.response.finish', finished);
  const once = async (): Promise<RepResult> => {
    if (!server) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await render(false);
      const us = Number(process.hrtime.bigint() - t0) / 1e3;
      const c = process.cpuUsage(c0);
      return { us, cpuUs: c.user + c.system };
    }
    cpuUs = undefined;
    const r = await sh!.curl(`${server.url}metrics`, gzip);
    if (r.code !== 200 || r.bytes === 0) throw new Error(`${way}: GET /metrics answered ${r.code} with ${r.bytes} bytes`);
    if (cpuUs === undefined) throw new Error(`${way}: the server never saw the response finish`);
    return { us: r.seconds * 1e6, cpuUs };
  };
  // A bare listing's CPU time in this process, as the GET's baseline.
  const listing = async (): Promise<number> => {
    const c0 = process.cpuUsage();
    await ipvs.listServices({ withDestinations: true });
    const c = process.cpuUsage(c0);
    return c.user + c.system;
  };
  try {
    if (server) {
      const { encoding, body } = await getRaw(`${server.url}metrics`, gzip);
      if (encoding !== (gzip ? 'gzip' : undefined)) throw new Error(`${way}: content-encoding ${encoding}`);
      check(way, gzip ? gunzipSync(body) : body, n);
    } else check(way, await render(true), n);
    for (let r = 0; r < 2; r++) await once(); // warm-up
    const out: RepResult[] = [];
    for (let r = 0; r < reps; r++) {
      if (!server) {
        await settle();
        out.push(await once());
        continue;
      }
      // Each GET next to a bare listing, which of the two goes first alternating.
      let got: RepResult | undefined;
      let listingCpuUs = 0;
      for (const first of r % 2 ? [false, true] : [true, false]) {
        await settle();
        if (first) got = await once();
        else listingCpuUs = await listing();
      }
      out.push({ ...got!, listingCpuUs });
    }
    return out;
  } finally {
    unsubscribe('http.server.request.start', started);
    unsubscribe('http.server.response.finish', finished);
    sh?.close();
    await server?.close();
    ipvs.close();
  }
}
