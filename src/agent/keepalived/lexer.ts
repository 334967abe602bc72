/**
 * keepalived.conf's syntax: words separated by blanks, `!` or `#` comments,
 * `{ ... }` blocks, double-quoted words, `include FILE` (with * and ? in
 * the file name), `$NAME=value` definitions used as `$NAME` or `${NAME}`,
 * and `@id` conditional lines (kept only for the configuration id given,
 * like keepalived -i; `@^id` for all others). The result is a tree of
 * statements, each with its file and line for messages.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export interface Statement {
  /** The keyword first, then its arguments. */
  words: string[];
  file: string;
  line: number;
  /** The block that follows, when there is one. */
  block?: Statement[];
}

export interface LexProblem {
  file: string;
  line: number;
  message: string;
}

export interface LexOptions {
  /** keepalived's -i: lines starting with @ID are kept; others with @ are dropped. */
  configId?: string;
  /** Reads a file (tests pass a map). Default: the file system. */
  read?: (path: string) => string;
  /** Lists a directory, for include patterns. */
  list?: (dir: string) => string[];
}

/** Splits one line into words: quotes keep blanks, braces stand alone, comments end the line. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '!' || c === '#') break;
    else if (c === '{' || c === '}') {
      words.push(c);
      i++;
    } else if (c === '"') {
      const end = line.indexOf('"', i + 1);
      const stop = end < 0 ? line.length : end;
      words.push(line.slice(i + 1, stop));
      i = stop + 1;
    } else {
      let j = i;
      while (j < line.length && !' \t\r{}"'.includes(line[j]!)) j++;
      // A comment sign inside a word is part of the word (url paths, digests never have one; regexes may).
      words.push(line.slice(i, j));
      i = j;
    }
  }
  return words;
}

function globToRegex(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

export function lexKeepalived(path: string, opts: LexOptions = {}): { statements: Statement[]; problems: LexProblem[] } {
  const read = opts.read ?? ((p: string) => readFileSync(p, 'utf8'));
  const list = opts.list ?? ((d: string) => readdirSync(d));
  const problems: LexProblem[] = [];
  const vars = new Map<string, string>();
  const root: Statement[] = [];
  const stack: Statement[][] = [root];
  let pending: Statement | undefined; // the last statement, which a `{` on the next line opens
  const visiting = new Set<string>();

  const expand = (text: string) => text.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a: string | undefined, b: string | undefined) => vars.get(a ?? b!) ?? m);

  function lexFile(file: string, from?: { file: string; line: number }): void {
    const abs = resolve(file);
    if (visiting.has(abs)) {
      problems.push({ file: from?.file ?? file, line: from?.line ?? 0, message: `include loop through ${file}` });
      return;
    }
    let text: string;
    try {
      text = read(file);
    } catch (e) {
      problems.push({ file: from?.file ?? file, line: from?.line ?? 0, message: `cannot read ${file}: ${(e as Error).message}` });
      return;
    }
    visiting.add(abs);
    text.split('\n').forEach((raw, i) => lexLine(raw, file, i + 1));
    visiting.delete(abs);
  }

  function lexLine(raw: string, file: string, line: number): void {
    let text = raw.trim();
    if (text.startsWith('@')) {
      const m = /^@(\^?)(\S+)\s*(.*)$/.exec(text)!;
      const match = m[2] === opts.configId;
      if ((m[1] === '^') === match) return;
      text = m[3]!;
    }
    const def = /^\$(\w+)\s*=\s*(.*)$/.exec(text);
    if (def) {
      vars.set(def[1]!, def[2]!.trim());
      return;
    }
    const words = splitWords(expand(text));
    if (words[0] === 'include' && words.length >= 2 && !words.includes('{')) {
      const pattern = resolve(dirname(file), words[1]!);
      if (/[*?]/.test(basename(pattern))) {
        const re = globToRegex(basename(pattern));
        let names: string[] = [];
        try {
          names = list(dirname(pattern)).filter((n) => re.test(n)).sort();
        } catch {
          // an include that matches nothing is no error in keepalived either
        }
        for (const n of names) lexFile(join(dirname(pattern), n), { file, line });
      } else lexFile(pattern, { file, line });
      pending = undefined;
      return;
    }
    let current: string[] = [];
    const flush = () => {
      if (current.length === 0) return;
      const st: Statement = { words: current, file, line };
      stack[stack.length - 1]!.push(st);
      pending = st;
      current = [];
    };
    for (const w of words) {
      if (w === '{') {
        if (current.length) flush();
        else if (!pending) {
          problems.push({ file, line, message: "'{' without a keyword before it" });
          pending = { words: ['?'], file, line };
          stack[stack.length - 1]!.push(pending);
        }
        pending!.block = [];
        stack.push(pending!.block);
        pending = undefined;
      } else if (w === '}') {
        flush();
        if (stack.length === 1) problems.push({ file, line, message: "'}' without a block to close" });
        else stack.pop();
        pending = undefined;
      } else current.push(w);
    }
    flush();
  }

  lexFile(path);
  if (stack.length > 1) problems.push({ file: path, line: 0, message: `${stack.length - 1} block(s) not closed at the end of the file` });
  return { statements: root, problems };
}
