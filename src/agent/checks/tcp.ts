/** TCP connect check: up when the three-way handshake completes. */
import net from 'node:net';
import { errorText, type CheckResult, type Target } from './result.js';

export function tcpProbe(target: Target, signal: AbortSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.address, port: target.port, signal });
    socket.once('connect', () => {
      // A reset, not a FIN: the server keeps no TIME_WAIT per probe.
      socket.resetAndDestroy();
      resolve({ ok: true, detail: 'connected' });
    });
    socket.once('error', (e) => {
      socket.destroy();
      resolve({ ok: false, detail: errorText(e) });
    });
  });
}
