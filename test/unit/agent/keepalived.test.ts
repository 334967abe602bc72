import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAgentText } from '../../../src/agent/config.js';
import { conversionYaml, convertKeepalived, problemLines } from '../../../src/agent/keepalived/convert.js';
import { expandRange } from '../../../src/agent/keepalived/group.js';
import { splitWords } from '../../../src/agent/keepalived/lexer.js';

/** Converts text held in memory (includes resolve inside `files`). */
function convert(files: Record<string, string>, main = '/k/keepalived.conf', configId?: string) {
  return convertKeepalived(main, {
    read: (p) => {
      if (!(p in files)) throw new Error('ENOENT');
      return files[p]!;
    },
    list: (d) => Object.keys(files).filter((f) => f.startsWith(d + '/')).map((f) => f.slice(d.length + 1)),
    ...(configId ? { configId } : {}),
  });
}

const conf = `! a comment
global_defs {
   router_id LVS_TEST
}
vrrp_instance VI_1 {
    interface eth0
    virtual_ipaddress {
        10.0.0.10
    }
}
virtual_server 10.0.0.10 80 {
    delay_loop 2
    lb_algo wrr
    lb_kind NAT
    persistence_timeout 50
    persistence_granularity 255.255.255.0
    protocol TCP
    quorum 2
    hysteresis 1
    sorry_server 10.9.0.1 8080
    alpha
    real_server 10.2.1.2 80 {
        weight 3
        inhibit_on_failure
        HTTP_GET {
            url {
              path /health
              status_code 200-299 404
              digest 640205b7b0fc66c1ea91c463fac6334d
            }
            connect_port 8080
            connect_timeout 1
            retry 2
            delay_before_retry 1
        }
    }
    real_server 10.2.2.2 80 {
        MISC_CHECK {
            misc_path "/usr/local/bin/check.sh 10.2.2.2"
            misc_timeout 4
            misc_dynamic
        }
        colour blue
    }
    real_server 10.2.3.2 80 {
        TCP_CHECK {
            connect_timeout 2
            warmup 0
        }
    }
}
`;

describe('keepalived.conf conversion', () => {
  it('virtual and real servers, their checkers and keepalived defaults', () => {
    const c = convert({ '/k/keepalived.conf': conf });
    expect(problemLines(c.problems)).toEqual([]);
    expect(problemLines(c.unknowns)).toEqual(['/k/keepalived.conf:43: unknown keyword "colour" in real_server']);
    expect(c.notes.map((n) => n.line)).toEqual([2, 5]);
    const [s] = c.file.services as Record<string, any>[];
    expect(s).toMatchObject({ protocol: 'tcp', address: '10.0.0.10', port: 80, scheduler: 'wrr', persistent: 50, netmask: '255.255.255.0', quorum: 2, hysteresis: 1 });
    expect(s!.sorryServer).toEqual({ address: '10.9.0.1', port: 8080, forwarding: 'masq' });
    const [d1, d2, d3] = s!.destinations;
    expect(d1).toMatchObject({ address: '10.2.1.2', port: 80, forwarding: 'masq', weight: 3, onFailure: 'inhibit' });
    expect(d1.checks).toEqual([{
      type: 'http', path: '/health', status: ['200-299', '404'], digest: '640205b7b0fc66c1ea91c463fac6334d',
      interval: 2, timeout: 1, fall: 3, rise: 1, retryInterval: 1, warmup: 2, start: 'down', port: 8080,
    }]);
    expect(d2.checks).toEqual([{
      type: 'exec', command: ['/bin/sh', '-c', '/usr/local/bin/check.sh 10.2.2.2'], dynamicWeight: true,
      interval: 2, timeout: 4, fall: 1, rise: 1, retryInterval: 1, warmup: 2, start: 'down',
    }]);
    expect(d3.checks[0]).toMatchObject({ type: 'tcp', timeout: 2, warmup: 0, fall: 2, retryInterval: 1 });
    expect(d3.onFailure).toBeUndefined();
  });

  it('the YAML it prints is a valid agent file with the same meaning', () => {
    const c = convert({ '/k/keepalived.conf': conf });
    const y = conversionYaml(c);
    expect(y).toMatch(/^# \/k\/keepalived\.conf:43: unknown keyword "colour"/);
    const a = parseAgentText(y, 'converted.yaml');
    expect(a.services[0]!.destinations[0]!.checks[0]).toMatchObject({ type: 'http', status: [[200, 299], [404, 404]], start: 'down' });
    expect(a.services[0]!.sorryServer).toEqual({ address: '10.9.0.1', port: 8080, forwarding: 'masq' });
  });

  it('virtual_server_group: every address, range and fwmark becomes a service', () => {
    const c = convert({
      '/k/keepalived.conf': `virtual_server_group G {
  10.0.0.1 8080
  10.0.0.3-5 80
  fwmark 7
}
virtual_server group G {
  lvs_method DR
  protocol UDP
  real_server 10.2.1.2 { weight 2 }
}
virtual_server group nope {
}
`,
    });
    expect(problemLines(c.problems)).toEqual(['/k/keepalived.conf:11: no virtual_server_group named "nope" (groups must come first)']);
    const keys = c.file.services.map((s) => ('fwmark' in s ? `fwm ${s.fwmark}` : `${s.protocol} ${s.address}:${s.port}`));
    expect(keys).toEqual(['udp 10.0.0.1:8080', 'udp 10.0.0.3:80', 'udp 10.0.0.4:80', 'udp 10.0.0.5:80', 'fwm 7']);
    expect(c.file.services[1]!.destinations).toEqual([{ address: '10.2.1.2', port: 80, forwarding: 'route', weight: 2, checks: [] }]);
  });

  it('include (with a pattern), $variables, @conditional lines, braces on their own line', () => {
    const c = convert(
      {
        '/k/keepalived.conf': '$PORT=8080\ninclude conf.d/*.conf\n@blue virtual_server 10.0.0.2 80\n@^blue virtual_server 10.0.0.3 80\n{\n  real_server 10.2.1.2 $PORT\n  {\n    weight 5\n  }\n}\n',
        '/k/conf.d/a.conf': 'virtual_server fwmark 3 {\n  real_server 10.2.2.2 {\n  }\n}\n',
        '/k/conf.d/b.txt': 'not included\n',
      },
      '/k/keepalived.conf',
      'blue',
    );
    expect(problemLines(c.problems)).toEqual([]);
    expect(problemLines(c.unknowns)).toEqual([]);
    expect(c.file.services.map((s) => s.fwmark ?? s.address)).toEqual([3, '10.0.0.2']);
    expect(c.file.services[1]!.destinations).toEqual([{ address: '10.2.1.2', port: 8080, forwarding: 'masq', weight: 5, checks: [] }]);
  });

  it('reports bad values and unbalanced braces with their lines', () => {
    const c = convert({ '/k/keepalived.conf': 'virtual_server 10.0.0.1 80 {\n  protocol ICMP\n  lb_kind XX\n  real_server 10.2.1.2 80 {\n    weight lots\n    HTTP_GET {\n    }\n  }\n' });
    expect(problemLines(c.problems)).toEqual([
      '/k/keepalived.conf:0: 1 block(s) not closed at the end of the file',
      '/k/keepalived.conf:2: protocol must be TCP, UDP or SCTP, got "ICMP"',
      '/k/keepalived.conf:3: lb_kind must be NAT, DR or TUN, got "XX"',
      '/k/keepalived.conf:5: weight needs an integer of at least 0, got "lots"',
      '/k/keepalived.conf:6: HTTP_GET needs at least one url block',
    ]);
  });

  it('splits words like keepalived: comments, quotes, braces', () => {
    expect(splitWords('  real_server 1.2.3.4 80{ # x')).toEqual(['real_server', '1.2.3.4', '80', '{']);
    expect(splitWords('misc_path "/bin/x a b" ! c')).toEqual(['misc_path', '/bin/x a b']);
  });

  it('expands ranges', () => {
    expect(expandRange('10.0.0.254-10.0.1.1')).toEqual(['10.0.0.254', '10.0.0.255', '10.0.1.0', '10.0.1.1']);
    expect(expandRange('192.168.200.3-5')).toEqual(['192.168.200.3', '192.168.200.4', '192.168.200.5']);
    expect(expandRange('10.0.0.8/30')).toEqual(['10.0.0.8', '10.0.0.9', '10.0.0.10', '10.0.0.11']);
    expect(expandRange('ae00::2-4')).toEqual(['ae00::2', 'ae00::3', 'ae00::4']);
    expect(expandRange('nope')).toBeUndefined();
  });
});

// keepalived's own examples (Debian's keepalived package; scripts/setup.sh installs it).
const samples = '/usr/share/doc/keepalived/samples';
describe("keepalived's sample configurations", () => {
  it('are installed (scripts/setup.sh installs keepalived)', () => {
    expect(existsSync(samples)).toBe(true);
  });
  for (const name of existsSync(samples) ? readdirSync(samples).filter((n) => n.startsWith('keepalived.conf')) : []) {
    it(`${name} converts to a valid agent file`, () => {
      const c = convertKeepalived(`${samples}/${name}`);
      expect(problemLines(c.problems)).toEqual([]);
      expect(problemLines(c.unknowns)).toEqual([]);
      const a = parseAgentText(conversionYaml(c), name);
      expect(a.services.length).toBe(c.file.services.length);
    });
  }
});
