/** The checkers against servers on loopback (real sockets, real processes). */
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../../src/agent/checks/index.js';
import { judgeDns } from '../../../src/agent/checks/udp.js';
import type { CheckSpec, CheckTiming } from '../../../src/agent/types.js';

const timing: CheckTiming = { interval: 1, timeout: 1, fall: 1, rise: 1, retryInterval: 1, warmup: 0, start: 'up' };
const lo = '127.0.0.1';
let httpPort = 0;
let hangPort = 0;
let closedPort = 0;
let udpPort = 0;
let dnsPort = 0;
let lastHost = '';
const servers: { close(): void }[] = [];

beforeAll(async () => {
  const web = http.createServer((req, res) => {
    lastHost = req.headers.host ?? '';
    const code = Number(req.url?.slice(1)) || 200;
    res.statusCode = code;
    res.end(`status ${code} page\n`);
  });
  await new Promise<void>((r) => web.listen(0, lo, r));
  httpPort = (web.address() as net.AddressInfo).port;
  // Accepts and never answers: a stuck server.
  const hang = net.createServer(() => {});
  await new Promise<void>((r) => hang.listen(0, lo, r));
  hangPort = (hang.address() as net.AddressInfo).port;
  const gone = net.createServer();
  await new Promise<void>((r) => gone.listen(0, lo, r));
  closedPort = (gone.address() as net.AddressInfo).port;
  gone.close();
  const echo = dgram.createSocket('udp4');
  echo.on('message', (m, from) => echo.send(`pong ${m}`, from.port, from.address));
  await new Promise<void>((r) => echo.bind(0, lo, r));
  udpPort = echo.address().port;
  const dns = dgram.createSocket('udp4');
  dns.on('message', (m, from) => {
    const q = dnsPacket.decode(m);
    const name = q.questions![0]!.name;
    const answer = dnsPacket.encode({
      // The response code is the low 4 bits of the flags (3: NXDOMAIN).
      type: 'response', id: q.id, flags: dnsPacket.AUTHORITATIVE_ANSWER | (name === 'missing.test' ? 3 : 0), questions: q.questions,
      answers: name === 'missing.test' ? [] : [{ type: 'A', name, data: '10.0.0.7', ttl: 5 }],
    });
    dns.send(answer, from.port, from.address);
  });
  await new Promise<void>((r) => dns.bind(0, lo, r));
  dnsPort = dns.address().port;
  servers.push(web, hang, echo, dns);
});
afterAll(() => {
  for (const s of servers) s.close();
});

const http1 = (o: Partial<CheckSpec & { type: 'http' }> = {}): CheckSpec => ({ type: 'http', method: 'GET', path: '/', status: [[200, 299]], verifyTls: false, ...timing, ...o }) as CheckSpec;

describe('tcp', () => {
  it('up when the connection opens, down when refused', async () => {
    expect(await runCheck({ type: 'tcp', ...timing }, { address: lo, port: httpPort })).toEqual({ ok: true, detail: 'connected' });
    expect(await runCheck({ type: 'tcp', ...timing }, { address: lo, port: closedPort })).toEqual({ ok: false, detail: 'ECONNREFUSED' });
  });
});

describe('http', () => {
  it('accepts the statuses and ranges asked for', async () => {
    expect((await runCheck(http1(), { address: lo, port: httpPort })).ok).toBe(true);
    expect(await runCheck(http1({ path: '/503' }), { address: lo, port: httpPort })).toEqual({ ok: false, detail: 'HTTP 503' });
    expect((await runCheck(http1({ path: '/503', status: [[500, 599]] }), { address: lo, port: httpPort })).ok).toBe(true);
    expect((await runCheck(http1({ path: '/404', status: [[200, 200], [404, 404]] }), { address: lo, port: httpPort })).ok).toBe(true);
  });

  it('checks the body by regex and by MD5 digest', async () => {
    expect((await runCheck(http1({ bodyRegex: '^status 200' }), { address: lo, port: httpPort })).ok).toBe(true);
    expect(await runCheck(http1({ bodyRegex: 'nope' }), { address: lo, port: httpPort })).toEqual({ ok: false, detail: 'HTTP 200, body does not match' });
    const md5 = createHash('md5').update('status 200 page\n').digest('hex');
    expect((await runCheck(http1({ digest: md5 }), { address: lo, port: httpPort })).ok).toBe(true);
    expect((await runCheck(http1({ digest: '0'.repeat(32) }), { address: lo, port: httpPort })).detail).toBe(`HTTP 200, digest ${md5}`);
  });

  it('sends the Host header asked for, else the address and port', async () => {
    await runCheck(http1({ host: 'www.example.test' }), { address: lo, port: httpPort });
    expect(lastHost).toBe('www.example.test');
    await runCheck(http1(), { address: lo, port: httpPort });
    expect(lastHost).toBe(`${lo}:${httpPort}`);
  });

  it('a server that never answers fails at the timeout', async () => {
    const t0 = Date.now();
    const r = await runCheck(http1({ timeout: 0.2 }), { address: lo, port: hangPort });
    expect(r).toEqual({ ok: false, detail: 'timeout after 0.2 s' });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('https to a plain server fails', async () => {
    expect((await runCheck({ ...http1(), type: 'https' } as CheckSpec, { address: lo, port: httpPort })).ok).toBe(false);
  });
});

describe('udp and dns', () => {
  it('udp: a reply, matched by regex', async () => {
    const udp = { type: 'udp', send: 'ping', requireReply: true, ...timing } as const;
    expect((await runCheck(udp, { address: lo, port: udpPort })).ok).toBe(true);
    expect((await runCheck({ ...udp, expect: '^pong ping$' }, { address: lo, port: udpPort })).ok).toBe(true);
    expect(await runCheck({ ...udp, expect: 'x' }, { address: lo, port: udpPort })).toEqual({ ok: false, detail: 'reply does not match' });
  });

  it('udp: a closed port answers ICMP unreachable, and silence is ok only when no reply is required', async () => {
    const udp = { type: 'udp', send: 'ping', requireReply: true, ...timing, timeout: 0.3 } as const;
    expect(await runCheck(udp, { address: lo, port: closedPort })).toEqual({ ok: false, detail: 'ECONNREFUSED' });
    // A socket that reads and never answers.
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, lo, r));
    const port = silent.address().port;
    expect(await runCheck(udp, { address: lo, port })).toEqual({ ok: false, detail: 'timeout after 0.3 s' });
    expect(await runCheck({ ...udp, requireReply: false }, { address: lo, port })).toEqual({ ok: true, detail: 'no reply, no error' });
    silent.close();
  });

  it('dns: the expected answer, NXDOMAIN, another answer', async () => {
    const dns = { type: 'dns', name: 'www.test', qtype: 'A', ...timing } as const;
    expect((await runCheck({ ...dns, expect: '10.0.0.7' }, { address: lo, port: dnsPort }, 9)).ok).toBe(true);
    expect(await runCheck({ ...dns, name: 'missing.test' }, { address: lo, port: dnsPort })).toEqual({ ok: false, detail: 'DNS NXDOMAIN' });
    expect(await runCheck({ ...dns, expect: '10.0.0.8' }, { address: lo, port: dnsPort })).toEqual({ ok: false, detail: 'DNS answer lacks 10.0.0.8' });
  });

  it('dns: a reply to another id or garbage fails', () => {
    const dns = { type: 'dns', name: 'a.test', qtype: 'A' } as const;
    const reply = dnsPacket.encode({ type: 'response', id: 5, answers: [{ type: 'A', name: 'a.test', data: '1.2.3.4' }] });
    expect(judgeDns(dns, reply, 5).ok).toBe(true);
    expect(judgeDns(dns, reply, 6).detail).toBe('DNS reply to another query');
    expect(judgeDns(dns, Buffer.from([1, 2, 3]), 5).ok).toBe(false);
  });
});

describe('exec', () => {
  const exec = (command: string[], dynamicWeight = false, t = 1) => runCheck({ type: 'exec', command, dynamicWeight, ...timing, timeout: t }, { address: '10.2.1.2', port: 8080 });

  it('exit 0 up, 1 down, no shell, {address} and {port} filled in', async () => {
    expect(await exec(['/bin/sh', '-c', 'exit 0'])).toEqual({ ok: true, detail: 'exit 0' });
    expect(await exec(['/bin/sh', '-c', 'exit 1'])).toEqual({ ok: false, detail: 'exit 1' });
    expect(await exec(['/bin/sh', '-c', 'test "$0:$1:$IPVS_CHECK_PORT" = 10.2.1.2:8080:8080', '{address}', '{port}'])).toEqual({ ok: true, detail: 'exit 0' });
    expect(await exec(['/nonexistent/check'])).toEqual({ ok: false, detail: 'ENOENT' });
  });

  it('dynamic weight: exit 2..255 is up with weight code - 2', async () => {
    expect(await exec(['/bin/sh', '-c', 'exit 7'], true)).toEqual({ ok: true, detail: 'exit 7', weight: 5 });
    expect(await exec(['/bin/sh', '-c', 'exit 7'], false)).toEqual({ ok: false, detail: 'exit 7' });
  });

  it('a script that hangs is killed with what it started, and fails', async () => {
    const r = await exec(['/bin/sh', '-c', 'sleep 30 & sleep 30'], false, 0.3);
    expect(r.ok).toBe(false);
  });
});
