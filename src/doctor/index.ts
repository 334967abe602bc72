/**
 * `ipvs doctor`: checks what every IPVS guide makes people check by hand
 * (IPVS in the kernel, schedulers, conntrack, sysctls, ARP for DR,
 * privileges) and says what to do about each.
 *
 *   runDoctor(['--json'])  resolves to the exit status: 0 when nothing blocks
 *   IPVS, 1 when something does, 2 for a bad command line.
 */
import { evaluate, exitCode, type Mode } from './checks.js';
import { gatherFacts, type ProbeOptions } from './probe.js';
import { renderJson, renderText } from './render.js';

export { evaluate, exitCode, type Check, type Mode, type Status } from './checks.js';
export { gatherFacts, type Facts } from './probe.js';

/** Where the report goes; the process's streams by default. */
export interface DoctorIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: DoctorIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

export const DOCTOR_USAGE = `usage: ipvs doctor [--json] [--netns NAME|PATH] [--mode masq|route|tunnel] [--modules-dir DIR]

Checks this system for what keeps IPVS from working, and says what to do.
  --json             print a JSON report instead of text
  --netns NAME|PATH  check a network namespace (its sysctls and IPVS)
  --mode MODE        the forwarding you use: masq (NAT, -m), route (DR, -g) or
                     tunnel (-i); with masq, ip_forward off is a problem
  --modules-dir DIR  this kernel's module directory, holding modules.dep
                     (default: $IPVS_MODULES_DIR, else /lib/modules/$(uname -r))
Exit status: 0 when nothing blocks IPVS, 1 when something does, 2 on bad usage.
`;

const MODES: Record<string, Mode> = { masq: 'masq', nat: 'masq', m: 'masq', route: 'route', dr: 'route', g: 'route', tunnel: 'tunnel', tun: 'tunnel', i: 'tunnel' };

interface Parsed {
  json: boolean;
  help: boolean;
  mode?: Mode;
  probe: ProbeOptions;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Parsed {
  const p: Parsed = { json: false, help: false, probe: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      if (eq > 0 && arg.startsWith('--')) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--json':
        p.json = true;
        break;
      case '-h':
      case '--help':
        p.help = true;
        break;
      case '--netns':
        p.probe.netns = value();
        break;
      case '--modules-dir':
        p.probe.modulesDir = value();
        break;
      case '--mode': {
        const v = value();
        const mode = MODES[v.toLowerCase()];
        if (!mode) throw new UsageError(`unknown mode '${v}' (masq, route or tunnel)`);
        p.mode = mode;
        break;
      }
      default:
        throw new UsageError(`unknown argument '${arg}'`);
    }
  }
  return p;
}

/** Runs the doctor with the arguments after `doctor`; resolves to the exit status. */
export async function runDoctor(argv: string[], io: DoctorIo = processIo): Promise<number> {
  let args: Parsed;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`ipvs doctor: ${e.message}\n${DOCTOR_USAGE}`);
    return 2;
  }
  if (args.help) {
    io.out(DOCTOR_USAGE);
    return 0;
  }
  let facts;
  try {
    facts = await gatherFacts(args.probe);
  } catch (e) {
    io.err(`ipvs doctor: ${(e as Error).message}\n`);
    return 1;
  }
  const checks = evaluate(facts, args.mode ? { mode: args.mode } : {});
  io.out(args.json ? renderJson(facts, checks, args.mode) : renderText(facts, checks));
  return exitCode(checks);
}
