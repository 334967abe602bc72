/**
 * HTTP(S) check: one request on a fresh connection; up when the status is
 * accepted and the body (when asked) matches a regex or an MD5 digest
 * (keepalived's HTTP_GET/SSL_GET digest is the MD5 of the body).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { HttpCheck } from '../types.js';
import { errorText, type CheckResult, type Target } from './result.js';

/** Bodies read for a regex or digest are cut here: a check reads a page, not a download. */
const MAX_BODY = 1 << 20;

export function statusAccepted(status: number, ranges: HttpCheck['status']): boolean {
  return ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

export function httpProbe(check: HttpCheck, target: Target, signal: AbortSignal): Promise<CheckResult> {
  const wantBody = check.bodyRegex !== undefined || check.digest !== undefined;
  const bare = target.address.includes(':') ? `[${target.address}]` : target.address;
  const host = check.host ?? (isDefaultPort(check, target.port) ? bare : `${bare}:${target.port}`);
  const options: https.RequestOptions = {
    host: target.address,
    port: target.port,
    method: check.method,
    path: check.path,
    headers: { host, connection: 'close' },
    agent: false,
    signal,
  };
  if (check.type === 'https') {
    options.rejectUnauthorized = check.verifyTls;
    const sni = check.sni ?? (check.host && net.isIP(check.host) === 0 ? check.host : undefined);
    if (sni) options.servername = sni;
  }
  const mod = check.type === 'https' ? https : http;
  return new Promise((answer) => {
    // Whatever the answer, the connection goes with it (a server may keep it open despite `connection: close`).
    const resolve = (r: CheckResult) => {
      answer(r);
      req.destroy();
    };
    const req = mod.request(options, (res) => {
      const status = res.statusCode ?? 0;
      if (!statusAccepted(status, check.status)) {
        res.destroy();
        return resolve({ ok: false, detail: `HTTP ${status}` });
      }
      if (!wantBody) {
        res.destroy();
        return resolve({ ok: true, detail: `HTTP ${status}` });
      }
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        if (size < MAX_BODY) parts.push(d);
        size += d.length;
      });
      res.once('end', () => resolve(judgeBody(check, status, Buffer.concat(parts).subarray(0, MAX_BODY))));
      res.once('error', (e) => resolve({ ok: false, detail: errorText(e) }));
    });
    req.once('error', (e) => resolve({ ok: false, detail: errorText(e) }));
    req.end();
  });
}

function isDefaultPort(check: HttpCheck, port: number): boolean {
  return port === (check.type === 'https' ? 443 : 80);
}

function judgeBody(check: HttpCheck, status: number, body: Buffer): CheckResult {
  if (check.digest !== undefined) {
    const md5 = createHash('md5').update(body).digest('hex');
    if (md5 !== check.digest.toLowerCase()) return { ok: false, detail: `HTTP ${status}, digest ${md5}` };
  }
  if (check.bodyRegex !== undefined && !new RegExp(check.bodyRegex).test(body.toString('utf8'))) {
    return { ok: false, detail: `HTTP ${status}, body does not match` };
  }
  return { ok: true, detail: `HTTP ${status}` };
}
