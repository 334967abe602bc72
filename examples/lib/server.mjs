// A tiny backend: answers HTTP on each TCP port with its own name, and echoes
// UDP datagrams prefixed with its name. Run inside a backend's namespace:
//
//   node server.mjs NAME 80 8080 udp:5353
//
// Prints "ready" once every socket listens; exits when its stdin closes, so a
// parent that dies (or forgets) never leaves it behind.
import dgram from 'node:dgram';
import http from 'node:http';

const [name, ...specs] = process.argv.slice(2);
if (!name || specs.length === 0) {
  console.error('usage: node server.mjs NAME PORT|udp:PORT...');
  process.exit(2);
}

function listenTcp(port) {
  const server = http.createServer((req, res) => {
    // Headers say what the backend saw: the local port (fwmark services
    // keep the client's port) and the client address (NAT and DR keep it).
    res.setHeader('x-backend', name);
    res.setHeader('x-port', String(port));
    res.setHeader('x-client', req.socket.remoteAddress ?? '');
    res.end(`${name}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '0.0.0.0', backlog: 1024 }, resolve);
  });
}

function listenUdp(port) {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, from) => {
    socket.send(`${name} ${msg}`, from.port, from.address);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '0.0.0.0', resolve);
  });
}

try {
  await Promise.all(specs.map((s) => (s.startsWith('udp:') ? listenUdp(Number(s.slice(4))) : listenTcp(Number(s)))));
} catch (e) {
  console.error(`${name}: ${e.message}`);
  process.exit(1);
}
process.stdout.write('ready\n');
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
