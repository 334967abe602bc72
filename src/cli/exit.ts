/** How the CLI stops early: ipvsadm's fail() and friends, as one exception type. */

/** An early exit: text for stderr (or stdout for help) and ipvsadm's status. */
export class CliExit extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
    readonly stream: 'stdout' | 'stderr' = 'stderr',
  ) {
    super(text);
  }
}

/** ipvsadm's fail(): the message and a newline, then exit. */
export const fail = (status: number, msg: string): CliExit => new CliExit(status, `${msg}\n`);
export const tryHelp = (prog: string): CliExit => new CliExit(255, `Try \`${prog} -h' or '${prog} --help' for more information.\n`);
