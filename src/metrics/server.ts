/**
 * The HTTP server behind `ipvs exporter` (and the agent's `--metrics`):
 * /metrics (Prometheus text), / (the status page), /status.json.
 *
 * Bounded: one listing at a time, which every request arriving meanwhile
 * shares; each request waits for it at most
 * `listingTimeoutMs`; at most `maxConnections` sockets; header, request and
 * keep-alive timeouts. /metrics is rendered as it is sent, in chunks of
 * 64 KiB that wait for the socket (see metricChunks, sendChunks): memory
 * stays bounded whatever the table's size, and gzip when the scraper asks
 * for it (as Prometheus does; the text of a large table shrinks ~17x).
 * A history timer lists every step for the sparklines.
 * close() stops the timer, the server and every socket.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants } from 'node:os';
import { IpvsError } from '../errors.js';
import type { Service } from '../ipvs/types.js';
import type { HealthSnapshot, HealthSource } from './health.js';
import { RateHistory, type HistoryOptions } from './history.js';
import { renderPage } from './page.js';
import { CHUNK_ROOM, metricChunks } from './prometheus.js';
import { sendChunks } from './send.js';
import { buildStatus } from './status.js';
import { ChunkPool } from './text.js';

/** What the server lists from: an `Ipvs` handle, or anything with its listServices. */
export interface ListingSource {
  listServices(opts: { withDestinations: true }): Promise<Service[]>;
}

export const DEFAULT_PORT = 9839;

export interface StatusServerOptions {
  ipvs: ListingSource;
  /** Address to listen on (only this one). Default 127.0.0.1. */
  host?: string;
  /** Default 9839; 0 picks a free port. */
  port?: number;
  /** Health of real servers and the agent's loop, when there is a checker. */
  health?: HealthSource;
  /** Rate history for the sparklines; false keeps none (and lists only when asked). */
  history?: HistoryOptions | false;
  /** How long a request waits for a listing. Default 10 000 ms. */
  listingTimeoutMs?: number;
  /** At most this many open sockets. Default 64. */
  maxConnections?: number;
  /** Page title. Default "IPVS". */
  title?: string;
  /** Seconds between page refreshes. Default 2. */
  refreshSeconds?: number;
  /** The kernel's rate estimates per real server on /metrics (see RenderOptions). Default true. */
  backendRates?: boolean;
  /** Compress /metrics when the request accepts gzip. Default true. */
  gzip?: boolean;
  /** Told of failures (a listing or health source that failed); default: nothing. */
  log?: (line: string) => void;
}

/** One listing and what was made of it, shared by the requests that waited for it. */
interface Snapshot {
  services: Service[];
  timeMs: number;
  seconds: number;
  health: HealthSnapshot | undefined;
  status?: string;
}

export class StatusServer {
  private readonly server: Server;
  private readonly history: RateHistory | undefined;
  private listing: Promise<Snapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private listingErrors = 0;
  private readonly timeoutMs: number;
  private readonly log: (line: string) => void;
  /** The buffers /metrics is written into, 64 KiB of text each, shared by all scrapes (see ChunkPool). */
  private readonly chunkPool = new ChunkPool((1 << 16) + CHUNK_ROOM);

  private constructor(private readonly opts: StatusServerOptions) {
    this.history = opts.history === false ? undefined : new RateHistory(opts.history);
    this.timeoutMs = opts.listingTimeoutMs ?? 10_000;
    this.log = opts.log ?? (() => {});
    this.server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => {
      this.handle(req, res).catch((e: unknown) => this.fail(res, e));
    });
    this.server.maxConnections = opts.maxConnections ?? 64;
  }

  /** Starts listening; resolves once it does (rejects with the listen error, e.g. EADDRINUSE). */
  static async start(opts: StatusServerOptions): Promise<StatusServer> {
    const s = new StatusServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? DEFAULT_PORT }, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    if (s.history) s.scheduleHistory(0);
    return s;
  }

  /** The address and port listened on. */
  get address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** The URL of the status page. */
  get url(): string {
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  }

  /** Stops listing and serving; open sockets are closed. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await done;
  }

  /** The current listing: joins the one in flight, else starts one. */
  private snapshot(): Promise<Snapshot> {
    if (!this.listing) {
      const t0 = performance.now();
      this.listing = this.opts.ipvs
        .listServices({ withDestinations: true })
        .then((services) => {
          const snap: Snapshot = { services, timeMs: Date.now(), seconds: (performance.now() - t0) / 1000, health: this.healthNow() };
          this.history?.record(services, snap.timeMs);
          return snap;
        })
        .catch((e: unknown) => {
          this.listingErrors++;
          throw e;
        })
        .finally(() => {
          this.listing = undefined;
        });
    }
    return withTimeout(this.listing, this.timeoutMs);
  }

  private healthNow(): HealthSnapshot | undefined {
    if (!this.opts.health) return undefined;
    try {
      return this.opts.health.health();
    } catch (e) {
      this.log(`health source failed: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Lists every history step (after the previous listing ended: never two at once). */
  private scheduleHistory(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.snapshot()
        .catch((e: unknown) => this.log(`listing failed: ${(e as Error).message}`))
        .finally(() => {
          const step = this.history!.stepMs;
          this.scheduleHistory(step - (Date.now() % step));
        });
    }, delayMs);
    this.timer.unref();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET and HEAD\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/' && path !== '/status.json') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /, /metrics or /status.json\n');
      return;
    }
    const snap = await this.snapshot();
    if (path === '/metrics') {
      const gzip = this.opts.gzip !== false && acceptsGzip(req.headers['accept-encoding']);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store', vary: 'accept-encoding', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const chunks = metricChunks(snap.services, snap.health, { listingSeconds: snap.seconds, listingErrors: this.listingErrors, backendRates: this.opts.backendRates }, this.chunkPool);
      sendChunks(chunks, res, this.chunkPool, gzip, (e) => {
        if (e && (e as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') this.log(`sending /metrics failed: ${e.message}`);
      });
      return;
    }
    snap.status ??= JSON.stringify(buildStatus({ services: snap.services, timeMs: snap.timeMs, health: snap.health, history: this.history, listingSeconds: snap.seconds }));
    if (path === '/status.json') send(res, 'application/json; charset=utf-8', snap.status);
    else send(res, 'text/html; charset=utf-8', renderPage(snap.status, { title: this.opts.title, refreshSeconds: this.opts.refreshSeconds }));
  }

  private fail(res: ServerResponse, e: unknown): void {
    const msg = e instanceof Error ? e.message : String(e);
    this.log(`request failed: ${msg}`);
    if (res.headersSent) res.destroy();
    else res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(`listing IPVS failed: ${msg}\n`);
  }
}

function send(res: ServerResponse, type: string, body: string | Buffer): void {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Whether an Accept-Encoding header lets us send gzip (listed, and not with q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== 'x-gzip') return false;
    const q = params.map((x) => /^\s*q\s*=\s*([\d.]+)\s*$/.exec(x)).find(Boolean);
    return !q || Number(q[1]) > 0;
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new IpvsError(`the listing took longer than ${ms} ms`, { kind: 'timeout', errno: constants.errno.ETIMEDOUT, operation: 'listServices' })), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
