// The status server's wiring over a listing source of our own (kernel
// behaviour is test/kernel/obs-exporter.test.ts's): one listing shared by
// concurrent requests, timeouts, status codes, the page and its data, the
// rate history's bounds.
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { RateHistory, StatusServer, buildStatus, renderPage, type HealthSource, type ListingSource } from '../../src/metrics/index.js';
import type { Service, Stats } from '../../src/ipvs/types.js';

const stats = (n: number): Stats => ({
  connections: BigInt(n),
  packetsIn: 2n,
  packetsOut: 3n,
  bytesIn: 2n ** 64n - 1n,
  bytesOut: 5n,
  cps: BigInt(n),
  packetsInPerSecond: 0n,
  packetsOutPerSecond: 0n,
  bytesInPerSecond: BigInt(n * 100),
  bytesOutPerSecond: BigInt(n * 1000),
});
const listing = (n = 1): Service[] => [
  {
    family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr', schedulerFlags: [], netmask: '255.255.255.255', onePacket: false, flags: 2, timeout: 0, stats: stats(n),
    destinations: [{ family: 'inet', address: '10.1.0.2', port: 80, forwarding: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0, activeConnections: 1, inactiveConnections: 0, persistentConnections: 0, stats: stats(n) }],
  },
];

/** A source that answers when told to, counting listings. */
function gatedSource() {
  const waiting: Array<() => void> = [];
  const src = {
    calls: 0,
    listServices: async () => {
      src.calls++;
      await new Promise<void>((r) => waiting.push(r));
      return listing();
    },
    release: () => waiting.splice(0).forEach((r) => r()),
  };
  return src;
}

async function withServer(opts: { ipvs: ListingSource; health?: HealthSource; listingTimeoutMs?: number }, fn: (base: string) => Promise<void>) {
  const s = await StatusServer.start({ ...opts, port: 0, history: false });
  try {
    expect(s.address.host).toBe('127.0.0.1');
    await fn(s.url);
  } finally {
    await s.close();
  }
}

describe('StatusServer', () => {
  it('lets concurrent requests share one listing', async () => {
    const src = gatedSource();
    await withServer({ ipvs: src }, async (base) => {
      const replies = Promise.all([...Array(8)].map((_, i) => fetch(`${base}${['metrics', 'status.json', ''][i % 3]}`)));
      // Held until all eight have surely arrived (this machine may be busy).
      await expect.poll(() => src.calls).toBe(1);
      await new Promise((r) => setTimeout(r, 1000));
      src.release();
      const res = await replies;
      expect(res.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(src.calls).toBe(1);
      const bodies = await Promise.all(res.map((r) => r.text()));
      expect(new Set([bodies[0], bodies[3], bodies[6]]).size).toBe(1);
      expect(bodies[0]).toContain('node_ipvs_service_incoming_bytes_total{local_address="10.0.0.1",local_port="80",proto="TCP",scheduler="rr"} 18446744073709551615\n');
      // The next request lists again.
      const next = fetch(`${base}metrics`);
      await expect.poll(() => src.calls).toBe(2);
      src.release();
      expect((await next).status).toBe(200);
    });
  }, 20_000);

  it('answers 503 when the listing takes too long, and never runs two at once', async () => {
    const src = gatedSource();
    await withServer({ ipvs: src, listingTimeoutMs: 100 }, async (base) => {
      const r = await fetch(`${base}metrics`);
      expect(r.status).toBe(503);
      expect(await r.text()).toMatch(/longer than 100 ms/);
      // Still in flight: a second request joins it instead of starting another.
      expect((await fetch(`${base}status.json`)).status).toBe(503);
      expect(src.calls).toBe(1);
      src.release();
    });
  });

  it('answers 503 with the error when the listing fails, 404 and 405 otherwise', async () => {
    const ipvs = { listServices: () => Promise.reject(new Error('no IPVS here')) };
    await withServer({ ipvs }, async (base) => {
      const r = await fetch(`${base}metrics`);
      expect([r.status, await r.text()]).toEqual([503, 'listing IPVS failed: no IPVS here\n']);
      expect((await fetch(`${base}x`)).status).toBe(404);
      expect((await fetch(`${base}metrics`, { method: 'DELETE' })).status).toBe(405);
    });
  });

  it('serves the page with its data inside, and status.json with health', async () => {
    const health: HealthSource = { health: () => ({ destinations: new Map([['tcp/10.0.0.1:80>10.1.0.2:80', { state: 'down', message: 'connect ECONNREFUSED' }]]) }) };
    await withServer({ ipvs: { listServices: async () => listing() }, health }, async (base) => {
      const doc = (await (await fetch(`${base}status.json`)).json()) as { services: Array<{ destinations: unknown[] }> };
      expect(doc.services[0]!.destinations[0]).toMatchObject({ id: 'tcp/10.0.0.1:80>10.1.0.2:80', health: { state: 'down', message: 'connect ECONNREFUSED' }, stats: { bytesIn: '18446744073709551615' } });
      const page = await fetch(base);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await page.text();
      expect(html).toContain('"bytesIn":"18446744073709551615"');
      // Self-contained: nothing fetched but status.json (the SVG namespace is a name, not a fetch).
      expect(html.replace(/'http:\/\/www\.w3\.org\/2000\/svg'/g, '')).not.toMatch(/<(link|img|iframe)\b|\bsrc=|url\(|@import|https?:\/\//);
    });
  });
});

describe('StatusServer /metrics', () => {
  it('sends gzip only to who asks for it, the same text either way; HEAD gets no body', async () => {
    const s = await StatusServer.start({ ipvs: { listServices: async () => listing() }, port: 0, history: false });
    try {
      const raw = (enc?: string, method = 'GET') =>
        new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
          const req = request(`${s.url}metrics`, { method, headers: enc ? { 'accept-encoding': enc } : {} }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (d: Buffer) => parts.push(d));
            res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
          });
          req.on('error', reject).end();
        });
      const plain = await raw();
      const gz = await raw('gzip, deflate');
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(gz.headers['content-encoding']).toBe('gzip');
      const text = plain.body.toString('utf8');
      expect(text).toContain('node_ipvs_backend_connections_per_second{');
      // The listing-duration series differs between scrapes; the rest is the same text.
      const strip = (t: string) => t.replace(/^ipvs_exporter_listing_duration_seconds .*$/m, '');
      expect(strip(gunzipSync(gz.body).toString('utf8'))).toBe(strip(text));
      const head = await raw(undefined, 'HEAD');
      expect([head.headers['content-type'], head.body.length]).toEqual(['text/plain; version=0.0.4; charset=utf-8', 0]);
    } finally {
      await s.close();
    }
    const norates = await StatusServer.start({ ipvs: { listServices: async () => listing() }, port: 0, history: false, backendRates: false, gzip: false });
    try {
      const res = await fetch(`${norates.url}metrics`, { headers: { 'accept-encoding': 'gzip' } });
      expect(res.headers.get('content-encoding')).toBeNull();
      const text = await res.text();
      expect(text).not.toContain('node_ipvs_backend_connections_per_second{');
      expect(text).toContain('node_ipvs_service_connections_per_second{');
    } finally {
      await norates.close();
    }
  });
});

describe('renderPage', () => {
  it('keeps data from closing its script element', () => {
    const services = listing();
    services[0]!.scheduler = '</script><script>alert(1)</script>';
    const html = renderPage(buildStatus({ services, timeMs: 0 }), { title: '<b>x</b>' });
    expect(html).not.toContain('</script><script>alert(1)');
    expect(html).toContain('\\u003c/script>');
    expect(html).toContain('<title>&#60;b&#62;x&#60;/b&#62; status</title>');
  });
});

describe('RateHistory', () => {
  it('keeps one point per step, a bounded number, gaps as NaN, and forgets vanished series', () => {
    const h = new RateHistory({ stepSeconds: 1, points: 4 });
    h.record(listing(1), 10_000);
    h.record(listing(9), 10_500); // same step: ignored
    h.record(listing(2), 11_000);
    h.record(listing(4), 13_000); // 12 s missed: a gap
    expect(h.get('tcp/10.0.0.1:80')!.cps).toEqual([1, 2, NaN, 4]);
    h.record(listing(5), 14_000);
    expect(h.get('tcp/10.0.0.1:80')).toEqual({ cps: [2, NaN, 4, 5], bytesIn: [200, NaN, 400, 500], bytesOut: [2000, NaN, 4000, 5000] });
    expect(h.get('tcp/10.0.0.1:80>10.1.0.2:80')!.cps).toEqual([2, NaN, 4, 5]);
    h.record([], 15_000);
    expect(h.size).toBe(0);
    // After a long silence every old point is gone.
    h.record(listing(7), 16_000);
    h.record(listing(8), 100_000);
    expect(h.get('tcp/10.0.0.1:80')!.cps).toEqual([NaN, NaN, NaN, 8]);
  });
});
