/** TCP connect check: up when the three-way handshake completes. */
import net from 'node:net';
import { errorText, type CheckResult, type Target } from './result.js';

export function tcpProbe(target: Target, signal: AbortSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    // The abort is listened to here, not given to net.connect: there it costs a premature-close
    // error with its stack on every probe (a tenth of the checker's CPU; bench/agent-checks.ts).
    const socket = net.connect({ host: target.address, port: target.port });
    const done = (r: CheckResult) => {
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onAbort = () => {
      socket.destroy();
      done({ ok: false, detail: 'aborted' });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      // A reset, not a FIN: the server keeps no TIME_WAIT per probe.
      socket.resetAndDestroy();
      done({ ok: true, detail: 'connected' });
    });
    socket.once('error', (e) => {
      socket.destroy();
      done({ ok: false, detail: errorText(e) });
    });
  });
}
