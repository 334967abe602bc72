// Reads an agent's status from its unix socket (GET /status), for the scale bench.
import http from 'node:http';

export function fetchStatus(socketPath) {
  return new Promise((resolve, reject) => {
    http.get({ socketPath, path: '/status' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}
