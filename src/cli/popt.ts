/**
 * A hand-written reproduction of the option scanning of popt 1.19 (the
 * library ipvsadm 1.31 is built with), limited to what ipvsadm's option
 * table uses. No option library on npm behaves the same way, and scripts
 * depend on the differences:
 * - short options cluster ("-Ln"), and an option taking a value takes the
 *   rest of the cluster ("-t10.0.0.1:80", "-p=60" skips the '='), else the
 *   next argument even when it starts with '-' ("-s -x" is scheduler "-x");
 * - an optional value (-p) is taken only from "--persistent=V", the rest of
 *   a cluster, or a next argument not starting with '-';
 * - long options need both dashes and the full name; "--opt=value" and
 *   "--opt value" both work; "=value" on an option without one is refused;
 * - arguments that are not options are collected ("leftovers") wherever
 *   they stand, "--" makes all the rest leftovers, POSIXLY_CORRECT stops at
 *   the first leftover;
 * - errors name the whole argument being scanned ("-Lq: unknown option").
 */

export type ArgKind = 'none' | 'string' | 'optional';

export interface OptionSpec {
  long?: string;
  short?: string;
  arg: ArgKind;
  /** What the scanner returns for it (ipvsadm's `val`). */
  val: string;
}

export type ScanResult =
  | { kind: 'option'; val: string; arg: string | null; /** the argument it came from */ source: string }
  | { kind: 'end' }
  | { kind: 'error'; error: 'unknown option' | 'missing argument' | 'option does not take an argument'; bad: string };

/** popt's POSIXLY_CORRECT / POSIX_ME_HARDER, read once (-R makes a scanner per line). */
const POSIX = !!(process.env.POSIXLY_CORRECT || process.env.POSIX_ME_HARDER);

export class Scanner {
  private next = 0;
  /** Rest of a short-option cluster; '' is distinct from null, as in popt. */
  private charArg: string | null = null;
  private rest = false;
  private readonly posix = POSIX;
  readonly leftovers: string[] = [];
  private nextLeftover = 0;

  constructor(
    private readonly table: readonly OptionSpec[],
    /** The arguments after the program name. */
    private readonly args: readonly string[],
  ) {}

  /** poptGetArg: the next leftover argument. */
  getArg(): string | undefined {
    return this.leftovers[this.nextLeftover++];
  }

  /** poptGetNextOpt. */
  nextOpt(): ScanResult {
    for (;;) {
      let opt: OptionSpec | undefined;
      let longArg: string | null = null;
      if (this.charArg === null) {
        if (this.next === this.args.length) return { kind: 'end' };
        const orig = this.args[this.next++]!;
        if (this.rest || orig[0] !== '-' || orig === '-') {
          if (this.posix) this.rest = true;
          this.leftovers.push(orig);
          continue;
        }
        if (orig === '--') {
          this.rest = true;
          continue;
        }
        if (orig[1] === '-') {
          const body = orig.slice(2);
          const eq = body.indexOf('=');
          const name = eq >= 0 ? body.slice(0, eq) : body;
          if (eq >= 0) longArg = body.slice(eq + 1);
          opt = this.table.find((o) => o.long === name);
          if (!opt) return { kind: 'error', error: 'unknown option', bad: orig };
          if (longArg !== null && opt.arg === 'none') return { kind: 'error', error: 'option does not take an argument', bad: orig };
        } else {
          this.charArg = orig.slice(1);
        }
      }
      if (this.charArg !== null) {
        const cluster = this.charArg;
        this.charArg = null;
        const ch = cluster[0];
        opt = ch === undefined ? undefined : this.table.find((o) => o.short === ch);
        if (!opt) return { kind: 'error', error: 'unknown option', bad: this.args[this.next - 1]! };
        const rest = cluster.slice(1);
        if (rest[0] === '=' && opt.arg === 'none') return { kind: 'error', error: 'option does not take an argument', bad: this.args[this.next - 1]! };
        if (rest !== '') this.charArg = rest[0] === '=' ? rest.slice(1) : rest;
      }
      const o = opt!;
      let arg: string | null = null;
      if (o.arg !== 'none') {
        if (longArg !== null) arg = longArg;
        else if (this.charArg !== null) {
          arg = this.charArg;
          this.charArg = null;
        } else if (this.next === this.args.length) {
          if (o.arg !== 'optional') return { kind: 'error', error: 'missing argument', bad: this.args[this.next - 1]! };
        } else if (o.arg === 'optional' && this.args[this.next]![0] === '-') {
          arg = null;
        } else {
          arg = this.args[this.next++]!;
        }
      }
      return { kind: 'option', val: o.val, arg, source: this.args[this.next - 1] ?? '' };
    }
  }
}
