/**
 * UDP and DNS checks: one datagram from a fresh socket, one answer awaited.
 * An ICMP port unreachable shows as ECONNREFUSED on the connected socket.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { DnsCheck, UdpCheck } from '../types.js';
import { errorText, type CheckResult, type Target } from './result.js';

function exchange(target: Target, payload: Buffer, signal: AbortSignal, silenceIsOk: boolean): Promise<Buffer | CheckResult> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(target.address) ? 'udp6' : 'udp4');
    const done = (r: Buffer | CheckResult) => {
      signal.removeEventListener('abort', onAbort);
      socket.close();
      resolve(r);
    };
    // Silence until the deadline is the UDP answer of a live server that keeps quiet.
    const onAbort = () => done(silenceIsOk ? { ok: true, detail: 'no reply, no error' } : { ok: false, detail: 'no reply' });
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (e) => done({ ok: false, detail: errorText(e) }));
    socket.once('message', (msg) => done(msg));
    socket.connect(target.port, target.address, () => socket.send(payload));
  });
}

export async function udpProbe(check: UdpCheck, target: Target, signal: AbortSignal): Promise<CheckResult> {
  const r = await exchange(target, Buffer.from(check.send), signal, !check.requireReply);
  if (!Buffer.isBuffer(r)) return r;
  if (check.expect !== undefined && !new RegExp(check.expect).test(r.toString('utf8'))) return { ok: false, detail: 'reply does not match' };
  return { ok: true, detail: `reply of ${r.length} bytes` };
}

export async function dnsProbe(check: DnsCheck, target: Target, signal: AbortSignal, id: number): Promise<CheckResult> {
  const query = dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: check.qtype as dnsPacket.RecordType, name: check.name }],
  });
  const r = await exchange(target, query, signal, false);
  if (!Buffer.isBuffer(r)) return r;
  return judgeDns(check, r, id);
}

export function judgeDns(check: DnsCheck, reply: Buffer, id: number): CheckResult {
  let msg: dnsPacket.Packet;
  try {
    msg = dnsPacket.decode(reply);
  } catch (e) {
    return { ok: false, detail: `bad DNS reply: ${errorText(e)}` };
  }
  if (msg.id !== id) return { ok: false, detail: 'DNS reply to another query' };
  // dns-packet decodes the response code as text; its types leave it out.
  const rcode = (msg as { rcode?: string }).rcode;
  if (rcode !== 'NOERROR') return { ok: false, detail: `DNS ${rcode}` };
  const answers = (msg.answers ?? []).filter((a) => a.type === check.qtype);
  if (answers.length === 0) return { ok: false, detail: 'DNS answer empty' };
  if (check.expect !== undefined && !answers.some((a) => String((a as { data?: unknown }).data) === check.expect)) {
    return { ok: false, detail: `DNS answer lacks ${check.expect}` };
  }
  return { ok: true, detail: `DNS ${answers.length} answer(s)` };
}
