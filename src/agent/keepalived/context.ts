/** What a keepalived.conf conversion collects on its way: problems, unknown keywords, notes. */
import type { Statement } from './lexer.js';

export interface KeepalivedProblem {
  file: string;
  line: number;
  message: string;
}

export class Ctx {
  /** Bad values: the conversion fails. */
  readonly problems: KeepalivedProblem[] = [];
  /** Keywords this converter does not know (reported, otherwise ignored, as keepalived does). */
  readonly unknowns: KeepalivedProblem[] = [];
  /** Things read and deliberately ignored. */
  readonly notes: KeepalivedProblem[] = [];

  problem(s: Statement, message: string): void {
    this.problems.push({ file: s.file, line: s.line, message });
  }

  unknown(s: Statement, where: string): void {
    this.unknowns.push({ file: s.file, line: s.line, message: `unknown keyword ${JSON.stringify(s.words[0])} in ${where}` });
  }

  note(s: Statement, message: string): void {
    this.notes.push({ file: s.file, line: s.line, message });
  }

  /** The statement's first argument as a number of at least `min`. */
  num(s: Statement, min: number, integer = false): number | undefined {
    const v = Number(s.words[1]);
    if (s.words[1] === undefined || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      this.problem(s, `${s.words[0]} needs ${integer ? 'an integer' : 'a number'} of at least ${min}, got ${JSON.stringify(s.words[1] ?? '')}`);
      return undefined;
    }
    return v;
  }
}
