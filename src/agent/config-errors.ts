/**
 * Errors of config files: every bad entry is collected with its path and
 * line, then reported together as one IpvsError (kind 'input') whose message
 * lists them all ("agent.yaml:12 (services[0].checks[1].type): ...").
 */
import { IpvsError, Errno } from '../errors.js';

export interface ConfigProblem {
  /** Path in the document, e.g. services[0].destinations[2].weight. */
  path: string;
  /** 1-based line, when known. */
  line?: number;
  message: string;
}

export function pathText(path: readonly (string | number)[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s || '(top)';
}

export function problemText(file: string, p: ConfigProblem): string {
  return `${file}${p.line ? `:${p.line}` : ''} (${p.path}): ${p.message}`;
}

export function configError(operation: string, file: string, problems: readonly ConfigProblem[]): IpvsError {
  const lines = problems.map((p) => problemText(file, p));
  const first = problems[0];
  return new IpvsError(lines.length === 1 ? lines[0]! : `${file}: ${lines.length} problems:\n  ${lines.join('\n  ')}`, {
    kind: 'input',
    errno: Errno.EINVAL,
    operation,
    ...(first ? { field: first.path } : {}),
  });
}
