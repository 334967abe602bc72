// A line protocol for the multi-director labs, where one TCP connection must
// live across a failover: every line a client sends comes back prefixed with
// the name of the backend that answered, and nothing times out on its own
// (an HTTP server would close a keep-alive connection idle for 5 s, which a
// failover can take). Two roles in one file:
//
//   node lines.mjs server NAME PORT    (in a backend: prints "ready")
//   node lines.mjs client              (JSON commands on stdin, one per line)
//
// Client commands (each answered by one JSON line with the same id):
//   {"id":1,"op":"open","name":"a","host":"VIP","port":80,"localPort":40001?}
//   {"id":2,"op":"ping","name":"a","timeoutMs":5000}       -> {"backend":"backend-1"}
//   {"id":3,"op":"stream","name":"a","intervalMs":100}     (ping on and on)
//   {"id":4,"op":"unstream","name":"a"}                    -> {"results":[{t,backend|error}]}
//   {"id":5,"op":"loop","host":"VIP","port":80,"intervalMs":50,"timeoutMs":1000}
//                                  (a new connection per request, on and on)
//   {"id":6,"op":"unloop"}                                 -> {"results":[{t,ms,backend|error}]}
//   {"id":7,"op":"requests","host":"VIP","port":80,"count":10} -> {"results":[...]}
//   {"id":8,"op":"close","name":"a","reset":true?}         (reset: RST, no TIME_WAIT)
// Times (t) are Date.now() at the start of each request. Exits when stdin closes.
import net from 'node:net';
import readline from 'node:readline';
import { serveCommands } from './commands.mjs';

const [role, ...args] = process.argv.slice(2);

if (role === 'server') {
  const [name, port] = args;
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => {});
    // (readline passes the socket's errors on: a reset client must not end the server)
    readline.createInterface({ input: s }).on('line', (l) => s.write(`${name} ${l}\n`)).on('error', () => {});
  });
  server.listen({ port: Number(port), host: '0.0.0.0', backlog: 1024 }, () => process.stdout.write('ready\n'));
  server.on('error', (e) => {
    console.error(`${name}: ${e.message}`);
    process.exit(1);
  });
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => process.exit(0));
} else if (role === 'client') {
  client();
} else {
  console.error('usage: node lines.mjs server NAME PORT | client');
  process.exit(2);
}

function client() {
  /** Open connections by name: the socket and the replies waited for, in order. */
  const conns = new Map();
  let loop;

  function open({ name, host, port, localPort, localAddress, timeoutMs = 5000 }) {
    return new Promise((resolve) => {
      const s = net.connect({ host, port, localPort, localAddress });
      s.setNoDelay(true);
      const c = { s, waiting: [], stream: undefined, results: [] };
      const timer = setTimeout(() => s.destroy(new Error('ETIMEDOUT')), timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        conns.set(name, c);
        resolve({ localPort: s.localPort });
      });
      s.on('error', (e) => {
        clearTimeout(timer);
        for (const w of c.waiting.splice(0)) w({ error: e.code ?? e.message });
        if (!conns.has(name)) resolve({ error: e.code ?? e.message });
      });
      s.on('close', () => {
        for (const w of c.waiting.splice(0)) w({ error: 'closed' });
      });
      readline.createInterface({ input: s }).on('line', (l) => c.waiting.shift()?.({ backend: l.split(' ')[0] })).on('error', () => {});
    });
  }

  function ping({ name, timeoutMs = 5000 }) {
    const c = conns.get(name);
    if (!c) return Promise.resolve({ error: 'no such connection' });
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ error: 'ETIMEDOUT' }), timeoutMs);
      c.waiting.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
      c.s.write('ping\n');
    });
  }

  function stream({ name, intervalMs = 100, timeoutMs = 10000 }) {
    const c = conns.get(name);
    if (!c) return { error: 'no such connection' };
    c.stream = { on: true };
    const tick = async () => {
      while (c.stream?.on) {
        const t = Date.now();
        const r = await ping({ name, timeoutMs });
        c.results.push({ t, ...r });
        if (r.error === 'closed') break;
        await new Promise((res) => setTimeout(res, intervalMs));
      }
    };
    c.stream.done = tick();
    return {};
  }

  async function unstream({ name }) {
    const c = conns.get(name);
    if (!c?.stream) return { error: 'not streaming' };
    c.stream.on = false;
    await c.stream.done;
    return { results: c.results.splice(0) };
  }

  /** One request on a new connection; resolves to {backend} or {error}. */
  function once({ host, port, timeoutMs = 2000, localAddress }) {
    return new Promise((resolve) => {
      const s = net.connect({ host, port, localAddress });
      const done = (r) => {
        clearTimeout(timer);
        s.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => done({ error: 'ETIMEDOUT' }), timeoutMs);
      s.on('error', (e) => done({ error: e.code ?? e.message }));
      s.once('connect', () => s.write('ping\n'));
      const rl = readline.createInterface({ input: s });
      rl.on('error', () => {});
      rl.once('line', (l) => {
        // Close from our side after the answer, as a client does.
        s.end();
        clearTimeout(timer);
        resolve({ backend: l.split(' ')[0] });
      });
    });
  }

  function startLoop({ intervalMs = 50, ...o }) {
    if (loop) return { error: 'already looping' };
    loop = { on: true, results: [] };
    const l = loop;
    l.done = (async () => {
      while (l.on) {
        const t = Date.now();
        const r = await once(o);
        l.results.push({ t, ms: Date.now() - t, ...r });
        await new Promise((res) => setTimeout(res, intervalMs));
      }
    })();
    return {};
  }

  async function unloop() {
    if (!loop) return { error: 'not looping' };
    const l = loop;
    loop = undefined;
    l.on = false;
    await l.done;
    return { results: l.results };
  }

  async function requests({ count = 1, ...o }) {
    const results = [];
    for (let i = 0; i < count; i++) results.push(await once(o));
    return { results };
  }

  function close({ name, reset = false }) {
    const c = conns.get(name);
    if (!c) return { error: 'no such connection' };
    conns.delete(name);
    if (c.stream) c.stream.on = false;
    if (reset) c.s.resetAndDestroy();
    else c.s.end();
    return {};
  }

  const ops = { open, ping, stream, unstream, loop: startLoop, unloop, requests, close };
  serveCommands(ops, () => {
    for (const c of conns.values()) c.s.destroy();
  });
}
