/**
 * `ipvs top [--netns NS] [--interval SECONDS] [--sort KEY] [--filter TEXT] [--count N]`:
 * a full-screen view of services and real servers, busiest first, listed
 * again every interval. On a terminal: the alternate screen, keys to sort,
 * filter and scroll, and the terminal restored on q, Ctrl-C, SIGTERM or
 * SIGHUP (an SSH session that drops). Otherwise: the table printed again
 * every interval, plainly.
 *
 * Escape sequences come from `ansi-escapes` (small, kept up, no native
 * part); keys from node's readline. A widget library (blessed and its
 * forks: unmaintained; terminal-kit: large) or ink (React) would be far more
 * than one repainted table needs.
 */
import ansiEscapes from 'ansi-escapes';
import { emitKeypressEvents } from 'node:readline';
import { parseArgs } from 'node:util';
import { Ipvs, type Service } from '../index.js';
import { SORT_KEYS, screenLines, tableLines, arrange, type SortKey, type ViewState } from './top-view.js';

const USAGE = `usage: ipvs top [--netns NS] [--interval SECONDS] [--sort ${SORT_KEYS.join('|')}] [--filter TEXT] [--count N]
`;
const KEYS: Record<string, SortKey> = { c: 'cps', b: 'bytes', p: 'packets', a: 'active', t: 'conns', n: 'name' };

interface Key {
  name?: string;
  ctrl?: boolean;
  sequence?: string;
}

export async function runTop(argv: string[]): Promise<number> {
  let o;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { netns: { type: 'string' }, interval: { type: 'string' }, sort: { type: 'string' }, filter: { type: 'string' }, count: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const interval = Number(values.interval ?? 1);
    const count = values.count === undefined ? Infinity : Number(values.count);
    if (!(interval >= 0.1 && interval <= 3600)) throw new Error(`--interval takes seconds from 0.1 to 3600, not ${values.interval}`);
    if (!(count >= 1) || (count !== Infinity && !Number.isInteger(count))) throw new Error(`--count takes a whole number >= 1, not ${values.count}`);
    const sort = (values.sort ?? 'cps') as SortKey;
    if (!SORT_KEYS.includes(sort)) throw new Error(`--sort takes ${SORT_KEYS.join(', ')}; not ${values.sort}`);
    o = { netns: values.netns, intervalMs: interval * 1000, count, view: { sort, reverse: false, filter: values.filter ?? '', offset: 0 } as ViewState };
  } catch (e) {
    process.stderr.write(`ipvs top: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  let ipvs: Ipvs;
  try {
    ipvs = await Ipvs.open({ timeoutMs: 5000, ...(o.netns !== undefined ? { netns: o.netns } : {}) });
  } catch (e) {
    process.stderr.write(`ipvs top: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    return process.stdout.isTTY && process.stdin.isTTY ? await fullScreen(ipvs, o) : await plain(ipvs, o);
  } finally {
    ipvs.close();
  }
}

type Options = { netns?: string; intervalMs: number; count: number; view: ViewState };

/** Resolves after `ms`, or at once when `stop` fires. */
function pause(ms: number, stop: { wake?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    stop.wake = () => {
      clearTimeout(t);
      resolve();
    };
  });
}

/** Not a terminal: the table again every interval, blank line between. */
async function plain(ipvs: Ipvs, o: Options): Promise<number> {
  const stop: { wake?: () => void; done?: boolean } = {};
  const onSignal = () => {
    stop.done = true;
    stop.wake?.();
  };
  process.once('SIGTERM', onSignal).once('SIGINT', onSignal);
  try {
    for (let i = 0; i < o.count && !stop.done; i++) {
      if (i > 0) await pause(o.intervalMs, stop);
      if (stop.done) break;
      const services = await ipvs.listServices({ withDestinations: true });
      process.stdout.write(`${i > 0 ? '\n' : ''}ipvs top - ${new Date().toTimeString().slice(0, 8)}\n${tableLines(arrange(services, o.view)).join('\n')}\n`);
    }
    return 0;
  } finally {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
  }
}

async function fullScreen(ipvs: Ipvs, o: Options): Promise<number> {
  const out = process.stdout;
  const stdin = process.stdin;
  const v = o.view;
  let services: Service[] = [];
  let note = '';
  let editing: string | undefined; // the filter being typed
  const stop: { wake?: () => void; done?: boolean } = {};
  const paint = () => {
    const size = { width: out.columns || 80, height: out.rows || 24 };
    const lines = screenLines(services, v, size, new Date(), editing !== undefined ? `filter: ${editing}_` : note);
    out.write(ansiEscapes.cursorTo(0, 0) + lines.map((l) => l + ansiEscapes.eraseEndLine).join('\n') + ansiEscapes.eraseDown);
  };
  const quit = () => {
    stop.done = true;
    stop.wake?.();
  };
  const onKey = (str: string | undefined, key: Key) => {
    if (key.ctrl && key.name === 'c') return quit();
    if (editing !== undefined) {
      if (key.name === 'return' || key.name === 'enter') [v.filter, editing] = [editing, undefined];
      else if (key.name === 'escape') editing = undefined;
      else if (key.name === 'backspace') editing = editing.slice(0, -1);
      else if (str && str >= ' ' && !key.ctrl) editing += str;
    } else if (str === 'q' || key.name === 'escape') return quit();
    else if (str === '/') editing = v.filter;
    else if (str === 'r') v.reverse = !v.reverse;
    else if (str && KEYS[str]) [v.sort, v.offset] = [KEYS[str]!, 0];
    else if (key.name === 'down') v.offset++;
    else if (key.name === 'up') v.offset = Math.max(0, v.offset - 1);
    else if (key.name === 'pagedown') v.offset += Math.max(1, (out.rows || 24) - 5);
    else if (key.name === 'pageup') v.offset = Math.max(0, v.offset - Math.max(1, (out.rows || 24) - 5));
    else return;
    paint();
  };
  const restore = () => {
    stdin.off('keypress', onKey);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    out.write(ansiEscapes.exitAlternativeScreen + ansiEscapes.cursorShow);
  };
  // Whatever ends us, the terminal is given back as it was.
  const onExit = () => restore();
  process.once('exit', onExit);
  process.once('SIGTERM', quit).once('SIGHUP', quit).once('SIGINT', quit);
  emitKeypressEvents(stdin);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.on('keypress', onKey);
  out.on('resize', paint);
  out.write(ansiEscapes.enterAlternativeScreen + ansiEscapes.cursorHide + ansiEscapes.clearScreen);
  try {
    for (let i = 0; i < o.count && !stop.done; i++) {
      if (i > 0) await pause(o.intervalMs, stop);
      if (stop.done) break;
      try {
        services = await ipvs.listServices({ withDestinations: true });
        note = '';
      } catch (e) {
        note = `listing failed: ${(e as Error).message}`;
      }
      paint();
    }
    return 0;
  } finally {
    out.off('resize', paint);
    process.off('SIGTERM', quit).off('SIGHUP', quit).off('SIGINT', quit).off('exit', onExit);
    restore();
  }
}
