/**
 * State files: YAML or JSON (JSON is read as YAML, so both get line
 * numbers), parsed with the `yaml` package and checked by the same rules as
 * apply. Every problem names the file, the line and the path.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, stringify, type Document } from 'yaml';
import { Errno, IpvsError } from '../errors.js';
import { StateError, checkDesired, type StateProblem } from './validate.js';
import type { DesiredState, Ownership } from './types.js';

/** "services[3].destinations[1].weight" -> ['services', 3, 'destinations', 1, 'weight']. */
export function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** The line of the deepest node of `path` that the document has. */
function lineOf(doc: Document, lines: LineCounter, path: string): number | undefined {
  const parts = splitPath(path);
  for (let n = parts.length; n >= 0; n--) {
    const node = doc.getIn(parts.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/**
 * Parses and checks a state file's text. Throws a StateError naming every
 * problem with file and line; `owns` also refuses services outside it.
 */
export function parseStateText(text: string, fileName = '<input>', opts: { owns?: Ownership } = {}): DesiredState {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new StateError(
      doc.errors.map((e) => ({ path: '', message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''), file: fileName, line: lines.linePos(e.pos[0]).line })),
      'parse',
    );
  }
  const value = (doc.toJS() ?? { services: [] }) as DesiredState;
  try {
    checkDesired(value, opts.owns);
  } catch (e) {
    if (!(e instanceof StateError)) throw e;
    const problems: StateProblem[] = e.problems.map((p) => {
      const line = lineOf(doc, lines, p.path);
      return { ...p, file: fileName, ...(line !== undefined ? { line } : {}) };
    });
    // (by line: the order a person reads the file in)
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new StateError(problems, 'parse');
  }
  return value;
}

/** Reads a state file ('-' is standard input) and parses it. */
export async function loadStateFile(path: string, opts: { owns?: Ownership; readStdin?: () => string } = {}): Promise<DesiredState> {
  const isStdin = path === '-';
  let text: string;
  try {
    text = isStdin ? (opts.readStdin ?? (() => readFileSync(0, 'utf8')))() : await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new IpvsError(`cannot read ${isStdin ? 'standard input' : path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, {
      kind: 'input', errno: Math.abs(err.errno ?? Errno.EINVAL), operation: 'loadStateFile', field: 'file', cause: e,
    });
  }
  return parseStateText(text, isStdin ? '<stdin>' : path, opts);
}

/** A state as YAML (the export format). */
export function stateToYaml(state: DesiredState): string {
  return stringify(state, { lineWidth: 0 });
}

/** A state as JSON. */
export function stateToJson(state: DesiredState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}
