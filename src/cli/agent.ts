/**
 * `ipvs agent -f FILE ...`: the health-checking agent in the foreground, and
 * `ipvs agent status`: what a running agent sees. Arguments by util.parseArgs.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { Agent } from '../agent/agent.js';
import { loadAgentFile, parseAgentText } from '../agent/config.js';
import { conversionYaml, convertKeepalived, problemLines } from '../agent/keepalived/convert.js';
import { lineLogger, type AgentEvent, type LogFormat } from '../agent/log.js';
import { fetchStatus, serveStatus, statusText } from '../agent/status-server.js';
import type { AgentConfig } from '../agent/types.js';
import { Ipvs } from '../handle.js';
import { AgentHealth } from '../metrics/agent.js';
import { StatusServer } from '../metrics/server.js';
import { parseListen } from './exporter.js';
import { Errno, IpvsError } from '../errors.js';

const HELP = `usage: ipvs agent -f FILE [options]
       ipvs agent --keepalived-conf FILE [options]
       ipvs agent status [--socket PATH] [--netns NS] [--json]

Checks every real server of FILE (the apply file format plus checks) and keeps
IPVS at the configured state minus failed real servers.

  -f, --file FILE            the agent file (YAML or JSON)
      --keepalived-conf FILE read keepalived.conf's virtual_server blocks instead
      --netns NS             work in this network namespace (name or path)
      --resync SECONDS       re-read the kernel and repair drift every SECONDS (default 30)
      --log-format text|json one line per event (default text)
      --status-socket PATH   status endpoint (default /run/ipvs-agent[-NS].sock)
      --remove-on-exit       delete the agent's services on SIGTERM (default: leave the kernel as is)
      --metrics ADDR:PORT    serve Prometheus metrics (/metrics), a status page (/) and
                             /status.json with every real server's health (as ipvs exporter)
      --metrics-no-backend-rates  leave the per-real-server rate gauges out of /metrics
  -h, --help                 this text

Signals: SIGHUP reloads the file (it is also watched); SIGTERM and SIGINT stop.
`;

export function defaultSocket(netns?: string): string {
  return netns ? `/run/ipvs-agent-${basename(netns).replace(/[^\w.-]/g, '_')}.sock` : '/run/ipvs-agent.sock';
}

/** Loads the agent file or converts a keepalived.conf; keepalived's remarks go to the log. */
async function loadConfig(file: string | undefined, keepalived: string | undefined, log: (e: AgentEvent) => void): Promise<AgentConfig> {
  if (file) return loadAgentFile(file);
  const c = convertKeepalived(keepalived!);
  for (const l of [...problemLines(c.unknowns), ...problemLines(c.notes)]) log({ event: 'error', during: 'keepalived.conf', detail: l });
  if (c.problems.length) {
    throw new IpvsError(problemLines(c.problems).join('\n'), { kind: 'input', errno: Errno.EINVAL, operation: 'agent' });
  }
  return parseAgentText(stringify(c.file), `${keepalived} (converted)`);
}

export async function runAgentCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'status') return statusCommand(argv.slice(1));
  let v;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        file: { type: 'string', short: 'f' },
        'keepalived-conf': { type: 'string' },
        netns: { type: 'string' },
        resync: { type: 'string', default: '30' },
        'log-format': { type: 'string', default: 'text' },
        'status-socket': { type: 'string' },
        'remove-on-exit': { type: 'boolean', default: false },
        metrics: { type: 'string' },
        'metrics-no-backend-rates': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`ipvs agent: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const resync = Number(v.resync);
  const format = v['log-format'] as LogFormat;
  if (!v.file === !v['keepalived-conf'] || !(resync > 0) || (format !== 'text' && format !== 'json')) {
    process.stderr.write(`ipvs agent: ${!v.file === !v['keepalived-conf'] ? 'give one of -f FILE or --keepalived-conf FILE' : !(resync > 0) ? '--resync needs a number of seconds above 0' : '--log-format is text or json'}\n${HELP}`);
    return 2;
  }
  let metricsAt: { host: string; port: number } | undefined;
  try {
    metricsAt = v.metrics === undefined ? undefined : parseListen(v.metrics);
  } catch (e) {
    process.stderr.write(`ipvs agent: --metrics: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  const lineLog = lineLogger(format);
  // The metrics count applies and repairs from the events.
  let health: AgentHealth | undefined;
  const log = (e: AgentEvent) => {
    health?.observe(e);
    lineLog(e);
  };
  const file = v.file ?? v['keepalived-conf']!;
  let config: AgentConfig;
  let ipvs: Ipvs;
  try {
    config = await loadConfig(v.file, v['keepalived-conf'], log);
    ipvs = await Ipvs.open(v.netns !== undefined ? { netns: v.netns } : {});
  } catch (e) {
    process.stderr.write(`ipvs agent: ${(e as Error).message}\n`);
    return 1;
  }
  const agent = new Agent(ipvs, config, { resyncSeconds: resync, log });
  health = new AgentHealth(agent);
  let metrics: StatusServer | undefined;
  if (metricsAt) {
    try {
      metrics = await StatusServer.start({ ipvs, ...metricsAt, health, backendRates: !v['metrics-no-backend-rates'], log: (detail) => log({ event: 'error', during: 'metrics', detail }) });
    } catch (e) {
      process.stderr.write(`ipvs agent: cannot serve metrics on ${metricsAt.host}:${metricsAt.port}: ${(e as Error).message}\n`);
      ipvs.close();
      return 1;
    }
  }
  // Signals first: a SIGTERM during the first apply still stops cleanly.
  let stopNow: () => void = () => {};
  const stopped = new Promise<void>((done) => (stopNow = done));
  const stop = () => stopNow();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const socketPath = v['status-socket'] ?? defaultSocket(v.netns);
  const status = await serveStatus(socketPath, () => agent.status());
  await agent.start();

  let reloading = Promise.resolve();
  const reload = (why: string) => {
    reloading = reloading.then(async () => {
      try {
        await agent.reload(await loadConfig(v.file, v['keepalived-conf'], log));
      } catch (e) {
        log({ event: 'error', during: `reload (${why})`, detail: (e as Error).message, kept: 'the previous configuration' });
      }
    });
  };
  // Watch the directory: editors replace files by renaming, which a watch on the file itself misses.
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(resolve(file)), (_, name) => {
      if (name !== basename(file)) return;
      clearTimeout(debounce);
      debounce = setTimeout(() => reload('file changed'), 200);
    });
  } catch (e) {
    log({ event: 'error', during: 'watch', detail: `${(e as Error).message}; reload with SIGHUP` });
  }
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  await stopped;
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  process.off('SIGHUP', onHup);
  watcher?.close();
  clearTimeout(debounce);
  await reloading;
  await agent.stop({ remove: v['remove-on-exit'] });
  await status.close();
  await metrics?.close();
  ipvs.close();
  return 0;
}

async function statusCommand(argv: string[]): Promise<number> {
  let v;
  try {
    ({ values: v } = parseArgs({ args: argv, options: { socket: { type: 'string' }, netns: { type: 'string' }, json: { type: 'boolean', default: false } } }));
  } catch (e) {
    process.stderr.write(`ipvs agent status: ${(e as Error).message}\n`);
    return 2;
  }
  const path = v.socket ?? defaultSocket(v.netns);
  try {
    const s = await fetchStatus(path);
    process.stdout.write(v.json ? JSON.stringify(s, null, 2) + '\n' : statusText(s));
    return 0;
  } catch (e) {
    process.stderr.write(`ipvs agent status: no agent answers on ${path}: ${(e as Error).message}\n`);
    return 1;
  }
}

/** `ipvs convert keepalived FILE`: the agent file equivalent of a keepalived.conf. */
export async function runConvertCommand(argv: string[]): Promise<number> {
  if (argv[0] !== 'keepalived' || argv.length !== 2) {
    process.stderr.write('usage: ipvs convert keepalived FILE\n');
    return 2;
  }
  const c = convertKeepalived(argv[1]!);
  for (const l of problemLines(c.unknowns)) process.stderr.write(`ipvs convert: ${l}\n`);
  if (c.problems.length) {
    for (const l of problemLines(c.problems)) process.stderr.write(`ipvs convert: ${l}\n`);
    return 1;
  }
  process.stdout.write(conversionYaml(c));
  return 0;
}
