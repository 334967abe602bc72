/**
 * The exporter's cost per scrape, next to the listing it is built on:
 *   render: listServices + the Prometheus rendering (what a scrape computes)
 *   scrape: a GET /metrics from StatusServer over loopback, body read whole
 *           (the same, plus HTTP and moving the text)
 * Each repetition checks the text holds one connections counter per real server.
 */
import { Ipvs } from '../src/index.js';
import { ByteWriter, StatusServer, estimateBytes, writeMetrics } from '../src/metrics/index.js';
import { settle } from './env.js';

export type ScrapeWay = 'render' | 'scrape';

/** Occurrences of `needle` in `hay`. */
function count(hay: Buffer, needle: string): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

export async function scrapeReps(way: ScrapeWay, n: number, reps: number, netns: string): Promise<number[]> {
  const ipvs = await Ipvs.open({ netns });
  const server = way === 'scrape' ? await StatusServer.start({ ipvs, port: 0, history: false, listingTimeoutMs: 600_000 }) : undefined;
  const once = async (): Promise<Buffer> => {
    if (server) {
      const res = await fetch(`${server.url}metrics`);
      if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${await res.text()}`);
      return Buffer.from(await res.arrayBuffer());
    }
    const services = await ipvs.listServices({ withDestinations: true });
    const w = new ByteWriter(estimateBytes(services));
    writeMetrics(w, services);
    return w.view();
  };
  try {
    for (let r = 0; r < 2; r++) await once(); // warm-up
    const out: number[] = [];
    for (let r = 0; r < reps; r++) {
      await settle();
      const t0 = process.hrtime.bigint();
      const text = await once();
      out.push(Number(process.hrtime.bigint() - t0) / 1e3);
      const series = count(text, 'node_ipvs_backend_connections_total{');
      if (series !== 2 * n) throw new Error(`${way}: ${series} real servers in the text, expected ${2 * n}`);
    }
    return out;
  } finally {
    await server?.close();
    ipvs.close();
  }
}
