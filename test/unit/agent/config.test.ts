import { describe, expect, it } from 'vitest';
import { parseAgentText } from '../../../src/agent/config.js';
import { IpvsError } from '../../../src/errors.js';

const good = `
owns:
  cidrs: [10.0.0.0/24]
drainSeconds: 10
services:
  - protocol: tcp
    address: 10.0.0.10
    port: 80
    scheduler: rr
    onFailure: inhibit
    quorum: 2
    hysteresis: 1
    sorryServer: { address: 10.9.0.1, port: 80, forwarding: masq }
    checks:
      - type: http
        path: /health
        status: [200, "300-399", [404, 404]]
        bodyRegex: "ok"
        interval: 1
        fall: 2
        rise: 3
    destinations:
      - { address: 10.2.1.2, port: 80, forwarding: masq, weight: 2 }
      - address: 10.2.2.2
        port: 80
        forwarding: masq
        onFailure: remove
        checks:
          - { type: tcp, port: 8080, timeout: 0.5 }
          - { type: exec, command: [/bin/true, "{address}"], dynamicWeight: true, start: down }
  - fwmark: 5
    drain: { timeoutSeconds: 5, udpImmediate: true }
    destinations:
      - { address: 10.2.3.2, checks: [] }
`;

function problems(text: string): string {
  try {
    parseAgentText(text, 'agent.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(IpvsError);
    expect((e as IpvsError).kind).toBe('input');
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('agent file', () => {
  it('reads services, real servers, checks with defaults, and settings', () => {
    const c = parseAgentText(good, 'agent.yaml');
    expect(c.settings).toEqual({ drainSeconds: 10, owns: { cidrs: ['10.0.0.0/24'] } });
    const [s, f] = c.services;
    expect(s!.id).toBe('TCP 10.0.0.10:80');
    expect(s!.key).toEqual({ protocol: 'tcp', address: '10.0.0.10', port: 80 });
    expect(s!.options).toEqual({ scheduler: 'rr' });
    expect(s!.quorum).toBe(2);
    expect(s!.hysteresis).toBe(1);
    expect(s!.sorryServer).toEqual({ address: '10.9.0.1', port: 80, forwarding: 'masq' });
    const [d1, d2] = s!.destinations;
    expect(d1!.id).toBe('TCP 10.0.0.10:80 -> 10.2.1.2:80');
    expect(d1!.onFailure).toBe('inhibit');
    expect(d1!.checks).toEqual([
      {
        type: 'http', method: 'GET', path: '/health', status: [[200, 200], [300, 399], [404, 404]], bodyRegex: 'ok', verifyTls: false,
        interval: 1, timeout: 1, fall: 2, rise: 3, retryInterval: 1, warmup: 1, start: 'up',
      },
    ]);
    expect(d2!.onFailure).toBe('remove');
    expect(d2!.checks[0]).toMatchObject({ type: 'tcp', port: 8080, timeout: 0.5, interval: 5, fall: 3, rise: 2 });
    expect(d2!.checks[1]).toMatchObject({ type: 'exec', command: ['/bin/true', '{address}'], dynamicWeight: true, start: 'down' });
    expect(f!.id).toBe('FWM 5 inet');
    expect(f!.key).toEqual({ fwmark: 5 });
    expect(f!.drain).toEqual({ timeoutSeconds: 5, udpImmediate: true });
    expect(s!.drain).toBeUndefined();
    expect(f!.destinations[0]!.id).toBe('FWM 5 inet -> 10.2.3.2:0');
    expect(f!.destinations[0]!.checks).toEqual([]);
  });

  it('reads JSON too', () => {
    const c = parseAgentText('{"services":[{"protocol":"udp","address":"10.0.0.1","port":53,"destinations":[{"address":"10.2.1.2","checks":[{"type":"dns","name":"a.test"}]}]}]}', 'a.json');
    expect(c.services[0]!.destinations[0]!.checks[0]).toMatchObject({ type: 'dns', name: 'a.test', qtype: 'A' });
  });

  it('names the line and path of every bad entry', () => {
    const text = `services:
  - protocol: tcp
    address: 10.0.0.300
    port: 80
  - protocol: tcp
    address: 10.0.0.1
    port: 80
    checks:
      - type: ping
      - type: http
        status: [999]
        digest: xyz
      - { type: tcp, fall: 0 }
    destinations:
      - { address: 10.2.1.2, weight: -1 }
      - { address: 10.2.1.3, colour: red }
      - { address: 10.2.1.3 }
`;
    const m = problems(text);
    expect(m).toContain('agent.yaml:3 (services[0].address)');
    expect(m).toContain('agent.yaml:9 (services[1].checks[0].type): unknown check type "ping"');
    expect(m).toContain('agent.yaml:11 (services[1].checks[1].status[0])');
    expect(m).toContain('agent.yaml:12 (services[1].checks[1].digest)');
    expect(m).toContain('agent.yaml:13 (services[1].checks[2].fall)');
    expect(m).toContain('agent.yaml:15 (services[0].destinations[0].weight)'.replace('services[0]', 'services[1]'));
    expect(m).toContain('agent.yaml:16 (services[1].destinations[1].colour): unknown field "colour"');
    expect(m).toContain('agent.yaml:17 (services[1].destinations[2]): real server TCP 10.0.0.1:80 -> 10.2.1.3:80 is listed twice');
  });

  it('reports syntax errors with their line', () => {
    expect(problems('services:\n  - protocol: tcp\n   address: [\n')).toContain('agent.yaml:3 (syntax): Sequence item without - indicator');
  });

  it('reports duplicate services, a missing list, unknown top-level fields', () => {
    expect(problems('services:\n  - {protocol: tcp, address: 10.0.0.1, port: 80}\n  - {protocol: tcp, address: 10.0.0.1, port: 80}\n')).toContain('agent.yaml:3 (services[1]): service TCP 10.0.0.1:80 is listed twice');
    expect(problems('servics: []\n')).toContain('unknown field "servics"');
    expect(problems('servics: []\n')).toContain('(services): services must be a list');
  });

  it('exec commands are word lists, regexes must compile', () => {
    const m = problems('services:\n  - protocol: tcp\n    address: 10.0.0.1\n    port: 80\n    checks:\n      - {type: exec, command: "/bin/true x"}\n      - {type: http, bodyRegex: "("}\n');
    expect(m).toContain('agent.yaml:6 (services[0].checks[0].command)');
    expect(m).toContain('agent.yaml:7 (services[0].checks[1].bodyRegex): not a regular expression');
  });

  it('a real server of an fwmark service is checked on its own port; with none and a check without one, it is a problem', () => {
    const c = parseAgentText('services:\n  - fwmark: 5\n    checks: [{ type: tcp }]\n    destinations: [{ address: 10.2.3.2, port: 8080 }]\n', 'agent.yaml');
    expect(c.services[0]!.destinations[0]!.spec.port).toBe(8080);
    const m = problems('services:\n  - fwmark: 5\n    checks: [{ type: tcp }]\n    destinations:\n      - { address: 10.2.3.2 }\n      - { address: 10.2.3.3, checks: [{ type: tcp, port: 80 }, { type: exec, command: [/bin/true] }] }\n');
    expect(m).toContain('agent.yaml:5 (services[0].destinations[0]): real server 10.2.3.2:0 of fwmark service FWM 5 inet has no port to check');
    expect(m).not.toContain('destinations[1]');
  });
});
