// ipvs against ipvsadm 1.31: virtual services (-A -E -D), their options,
// every listing variant over them, and the refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareReadOnly, compareSteps, createPair, ipvs, ipvsadm, type Outcome, type Pair } from './cli-compare.js';

/** ipvsadm prints fwmarks >= 2^31 as negative numbers; ipvs prints them unsigned (a listed deviation). */
const unsignedMarks = (o: Outcome): Outcome => ({
  ...o,
  stdout: o.stdout.replace(/(FWM {2}|-f )(-\d+)( *)/g, (_m, p: string, n: string, sp: string) => {
    const name = `${p}${Number(n) + 2 ** 32}`;
    // Keep the columns of --stats: the name is padded to 33, then the numbers.
    const numberPad = sp.length - Math.max(0, 33 - (p.length + n.length));
    return sp.length > 1 ? name + ' '.repeat(Math.max(0, 33 - name.length) + numberPad) : name + sp;
  }),
});

describe('ipvs CLI and ipvsadm: services', () => {
  let p: Pair;
  beforeAll(() => {
    p = createPair();
  });
  afterAll(() => p.remove());

  it('adds, edits and deletes services of every kind and option', async () => {
    await compareSteps(p, [
      ['-A', '-t', '10.0.0.1:80', '-s', 'rr'],
      ['-A', '-u', '10.0.0.1:53'],
      ['--add-service', '--sctp-service', '10.0.0.1:5000', '--scheduler=wrr'],
      ['-A', '-t', '10.0.0.2:443', '-p'],
      ['-A', '-t', '10.0.0.3:443', '-p', '120', '-M', '255.255.255.0'],
      ['-A', '-t', '10.0.0.4:0', '-p', '30'],
      ['-A', '-t', '[2001:db8::1]:80', '-s', 'sh', '-b', 'sh-port,sh-fallback'],
      ['-A', '-t', '[2001:db8::2]:80', '-p', '-M', '64'],
      ['-A', '-u', '10.0.0.5:5060', '-s', 'mh', '-b', 'mh-fallback', '-p', '--pe', 'sip', '-o'],
      ['-A', '-u', '10.0.0.6:53', '-b', 'flag-1,flag-2,flag-3', '-o'],
      ['-A', '-f', '1'],
      ['-A', '-f', '2', '-6', '-s', 'lc', '-p', '600', '-M', '48'],
      ['-A', '-f', '7', '-s', 'sed', '-p', '-M', '255.255.0.0'],
      ['-A', '-t', '10.0.0.7:8080', '-s', 'dh'],
      ['-A', '-t10.0.0.8:http', '-srr'],
      ['-E', '-t', '10.0.0.1:80', '-s', 'wrr', '-p', '30', '-M', '255.255.0.0'],
      ['-E', '-t', '10.0.0.3:443'],
      ['-E', '-f', '2', '-6', '-s', 'nq'],
      ['-E', '-u', '10.0.0.5:5060', '-s', 'mh', '-b', 'mh-port'],
      ['-D', '-t', '10.0.0.7:8080'],
      ['-D', '-f', '7'],
    ]);
  });

  it('lists them in every variant, numeric and with names', async () => {
    for (const args of [
      [], ['-L'], ['-Ln'], ['-l', '-n'], ['--list', '--numeric'], ['-Ln', '--stats'], ['-Ln', '--rate'], ['-Ln', '--stats', '--exact'],
      ['-Ln', '--thresholds'], ['-Ln', '--persistent-conn'], ['-Ln', '--tun-info'], ['-Ln', '--nosort'], ['-Ln', '--sort'],
      ['-L', '--stats'], ['-S'], ['-Sn'], ['--save', '--numeric'], ['-Ln', '-t', '10.0.0.1:80'], ['-L', '-t', '10.0.0.1:http'],
      ['-Ln', '-f', '2', '-6'], ['-Ln', '-u', '10.0.0.5:5060', '--persistent-conn'], ['-L', '--timeout'], ['-L', '--daemon'],
      ['-Ln', '-t', '10.0.0.99:80'], ['-Ln', '-t', '[2001:db8::2]:80', '--stats'],
    ]) {
      await compareReadOnly(p.b, args);
    }
  });

  it('refuses what ipvsadm refuses, with its words and statuses', async () => {
    await compareSteps(p, [
      ['-A', '-t', '10.0.0.1:80'],
      ['-A', '-t', '10.0.0.20:80', '-s', 'nosuch'],
      ['-A', '-t', '10.0.0.20:80', '-s', 'r.r'],
      ['-A', '-t', '10.0.0.20:80', '--pe', 'nosuch'],
      ['-A', '-t', '10.0.0.20:0'],
      ['-A', '-t', '[1.2.3.4]:80'],
      ['-A', '-t', '10.0.0.20:nosuchservice'],
      ['-A', '-t', '10.0.0.20:65536'],
      ['-A', '-t', '80'],
      ['-A', '-t', '10.0.0.20:80', '-o'],
      ['-A', '-t', '10.0.0.20:80', '-p', '0'],
      ['-A', '-t', '10.0.0.20:80', '-p', '2678401'],
      ['-A', '-t', '10.0.0.20:80', '-M', 'x.y'],
      ['-A', '-t', '[2001:db8::9]:80', '-M', '255.255.255.0'],
      ['-A', '-u', '10.0.0.20:80', '-b', 'sh-port'],
      ['-A', '-u', '10.0.0.20:80', '-b', 'bogus'],
      ['-A', '-f', '0'],
      ['-A', '-f', '4294967296'],
      ['-A', '-t', '10.0.0.20:80', '-6'],
      ['-A', '-t', '10.0.0.20:80', '-w', '1'],
      ['-A', '-t', '10.0.0.20:80', '-t', '10.0.0.21:80'],
      ['-A', '-t', '10.0.0.20:80', 'extra'],
      ['-A', '-t', '10.0.0.20:80', '--', '-s', 'rr'],
      ['-A', '-t'],
      ['-A'],
      ['-A', '-t', '10.0.0.20:80', '-L'],
      ['-A', '-t', '10.0.0.20:80', '--bogus'],
      ['-AZ'],
      ['-E', '-t', '10.0.0.99:80'],
      ['-D', '-t', '10.0.0.99:80'],
      ['-D', '-t', '10.0.0.1'],
      ['-D'],
      ['-n', '-L'],
      ['foo'],
      ['-L', '-c', '--stats'],
      ['-L', '--timeout', '--persistent-conn'],
      ['-L', '-t', '10.0.0.1:80', '--daemon'],
      ['-L', '-s', 'rr'],
    ]);
  });

  it('orders services as ipvsadm does, wrapped comparisons and marks above 2^31 included', async () => {
    const steps: string[][] = [['-C']];
    for (const a of ['200.0.0.1', '10.0.0.9', '127.0.0.5', '128.0.0.1', '1.2.3.4', '255.255.255.254', '100.0.0.1']) {
      steps.push(['-A', '-t', `${a}:80`]);
      steps.push(['-A', '-u', `${a}:80`]);
    }
    for (const m of ['3000000000', '5', '2147483648', '4294967295', '2147483647']) steps.push(['-A', '-f', m]);
    steps.push(['-A', '-f', '3', '-6'], ['-A', '-t', '[ffff::1]:1'], ['-A', '-t', '[::1]:1'], ['-A', '-t', '[8000::1]:1']);
    await compareSteps(p, steps.map((args) => ({ args })));
    for (const args of [['-Ln'], ['-Sn'], ['-Ln', '--stats'], ['-Ln', '--nosort']]) {
      expect(await ipvs(p.b, args), args.join(' ')).toEqual(unsignedMarks(await ipvsadm(p.b, args)));
    }
  });
});
