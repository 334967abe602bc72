// The client side of a topology: runs inside the client namespace and takes
// one JSON command per stdin line, answering one JSON line on stdout with the
// same id. Kept running so each batch of requests costs no Node start-up.
//
//   {"id":1,"op":"http","host":"10.0.0.10","port":80,"count":30,"concurrency":1}
//   {"id":2,"op":"udp","host":"10.0.0.10","port":5353,"count":10}
//   {"id":3,"op":"hold","host":"10.0.0.10","port":80,"count":3}   (open, keep)
//   {"id":4,"op":"release"}                                       (close held)
//
// Every request is a new connection (agent: false) or a new UDP socket, which
// is what makes IPVS schedule it afresh. Exits when stdin closes.
//
// Each TCP connection gets a source port no earlier connection of this client
// used. Left to the kernel, a port is unique per destination only, so the
// client reuses it for another VIP; a backend behind both VIPs sees the same
// (client address, port) again while its socket of the earlier connection is
// still in TIME_WAIT or closing. It refuses the SYN, the client resets and
// retries, and IPVS schedules the retry afresh: one request, two picks, and a
// round robin split off by one. Real clients meet this too; a lab that counts
// picks must not.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { serveCommands } from './commands.mjs';

const held = [];
const ports = sourcePorts();

/**
 * Source ports below the kernel's ephemeral range (32768 up by default), so no
 * automatic choice takes one, handed out in turn: reused only after 22,768
 * connections, far more than any run makes.
 */
function sourcePorts(first = 10000, last = 32767) {
  let next = first;
  return () => {
    const port = next;
    next = next === last ? first : next + 1;
    return port;
  };
}

/**
 * One HTTP GET; resolves to {backend, port, client} or {error}. A success
 * waits for the connection to close too, so that IPVS has seen its end
 * (a listing made next counts it as inactive, not active).
 */
function httpOnce({ host, port, localAddress, timeoutMs = 5000 }) {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/', agent: false, localAddress, localPort: ports(), timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const result = res.statusCode !== 200
          ? { error: `HTTP ${res.statusCode}` }
          : { backend: body.trim(), port: Number(res.headers['x-port']), client: res.headers['x-client'] };
        const socket = res.socket;
        if (!socket || socket.destroyed) resolve(result);
        else socket.once('close', () => resolve(result));
      });
      res.on('error', (e) => resolve({ error: e.code ?? e.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => resolve({ error: e.code ?? e.message }));
  });
}

/** One UDP exchange on a fresh socket (so a fresh source port). */
function udpOnce({ host, port, localAddress, payload = 'ping', timeoutMs = 3000 }) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const done = (r) => {
      clearTimeout(timer);
      socket.close();
      resolve(r);
    };
    const timer = setTimeout(() => done({ error: 'ETIMEDOUT' }), timeoutMs);
    socket.on('error', (e) => done({ error: e.code ?? e.message }));
    socket.on('message', (msg) => {
      const text = msg.toString();
      const space = text.indexOf(' ');
      done({ backend: text.slice(0, space), echo: text.slice(space + 1) });
    });
    socket.bind({ port: 0, address: localAddress }, () => socket.send(payload, port, host));
  });
}

/** Runs `count` requests, at most `concurrency` at a time; results keep request order. */
async function many(once, { count = 1, concurrency = 1, ...opts }) {
  const results = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await once(opts);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { results };
}

async function hold({ host, port, count = 1, localAddress }) {
  const opened = await Promise.all(
    Array.from({ length: count }, () => new Promise((resolve, reject) => {
      const s = net.connect({ host, port, localAddress, localPort: ports() }, () => resolve(s));
      s.once('error', reject);
    })),
  );
  for (const s of opened) s.on('error', () => {});
  held.push(...opened);
  return { held: held.length };
}

function release() {
  for (const s of held.splice(0)) s.destroy();
  return { held: 0 };
}

const ops = {
  http: (c) => many(httpOnce, c),
  udp: (c) => many(udpOnce, c),
  hold,
  release,
};

serveCommands(ops, release);
