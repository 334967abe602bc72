/**
 * `ipvs exporter [--listen ADDR:PORT] [--netns NS]`: serves /metrics,
 * the status page (/) and /status.json for a host whose IPVS something else
 * programs. Runs until SIGTERM or SIGINT, then closes the server and the
 * netlink socket and exits 0.
 */
import { parseArgs } from 'node:util';
import { Ipvs } from '../index.js';
import { DEFAULT_PORT, StatusServer } from '../metrics/index.js';

const USAGE = `usage: ipvs exporter [--listen ADDR:PORT] [--netns NS] [--title TEXT]
                     [--history-step SECONDS] [--history-points N] [--listing-timeout SECONDS]
                     [--no-backend-rates] [--no-gzip]
Serves Prometheus metrics on /metrics, a status page on / and its data on
/status.json. Listens only on ADDR (default 127.0.0.1:${DEFAULT_PORT}).
--no-backend-rates leaves the per-real-server rate gauges out of /metrics
(Prometheus's rate() of the counters gives them); --no-gzip never compresses.
`;

/** "127.0.0.1:9839", "[::1]:9839", ":9839" (127.0.0.1), "9839". */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new Error(`--listen takes ADDR:PORT (e.g. 127.0.0.1:${DEFAULT_PORT} or [::1]:${DEFAULT_PORT}), not ${JSON.stringify(text)}`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${name} takes a positive number, not ${JSON.stringify(v)}`);
  return n;
}

export async function runExporter(argv: string[], err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  let opts;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string' },
        netns: { type: 'string' },
        title: { type: 'string' },
        'history-step': { type: 'string' },
        'history-points': { type: 'string' },
        'listing-timeout': { type: 'string' },
        'no-backend-rates': { type: 'boolean' },
        'no-gzip': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const listen = parseListen(values.listen ?? `127.0.0.1:${DEFAULT_PORT}`);
    const step = positive('history-step', values['history-step']);
    const points = positive('history-points', values['history-points']);
    const timeout = positive('listing-timeout', values['listing-timeout']);
    opts = { ...listen, netns: values.netns, title: values.title, history: { stepSeconds: step, points }, listingTimeoutMs: timeout === undefined ? undefined : timeout * 1000, backendRates: !values['no-backend-rates'], gzip: !values['no-gzip'] };
  } catch (e) {
    err(`ipvs exporter: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  let ipvs: Ipvs;
  try {
    ipvs = await Ipvs.open(opts.netns === undefined ? {} : { netns: opts.netns });
  } catch (e) {
    err(`ipvs exporter: ${(e as Error).message}\n`);
    return 1;
  }
  let server: StatusServer;
  try {
    server = await StatusServer.start({ ...opts, ipvs, log: (line) => err(`ipvs exporter: ${line}\n`) });
  } catch (e) {
    ipvs.close();
    err(`ipvs exporter: cannot listen on ${opts.host}:${opts.port}: ${(e as Error).message}\n`);
    return 1;
  }
  err(`ipvs exporter: serving ${server.url} (metrics on ${server.url}metrics)\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  await server.close();
  ipvs.close();
  err(`ipvs exporter: stopped (${signal})\n`);
  return 0;
}
