/** The doctor's report for people (plain text) and for machines (JSON). */
import type { Check, Mode } from './checks.js';
import type { Facts } from './probe.js';

const LABEL = { ok: 'ok  ', info: 'info', warn: 'WARN', fail: 'FAIL' } as const;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function renderText(facts: Facts, checks: Check[]): string {
  const where = facts.netns !== undefined ? `network namespace ${facts.netns}` : 'this network namespace';
  const lines = [`ipvs doctor: Linux ${facts.kernelRelease}, ${where}`, ''];
  for (const c of checks) {
    lines.push(`${LABEL[c.status]}  ${c.title}: ${c.detail}`);
    if (c.fix && c.status !== 'ok') lines.push(`      fix: ${c.fix}`);
  }
  const fails = checks.filter((c) => c.status === 'fail').length;
  const warns = checks.filter((c) => c.status === 'warn').length;
  lines.push('');
  if (fails) lines.push(`${plural(fails, 'problem')} ${fails === 1 ? 'keeps' : 'keep'} IPVS from working${warns ? `; also ${plural(warns, 'warning')}` : ''}.`);
  else if (warns) lines.push(`Nothing blocks IPVS; ${plural(warns, 'warning')} above may matter for your setup.`);
  else lines.push('Nothing blocks IPVS.');
  return lines.join('\n') + '\n';
}

export interface JsonReport {
  /** False when something blocks IPVS (the exit status is then 1). */
  ok: boolean;
  kernel: string;
  netns: string | null;
  modulesDir: string;
  mode: Mode | null;
  checks: Check[];
}

export function renderJson(facts: Facts, checks: Check[], mode: Mode | undefined): string {
  const report: JsonReport = {
    ok: !checks.some((c) => c.status === 'fail'),
    kernel: facts.kernelRelease,
    netns: facts.netns ?? null,
    modulesDir: facts.modulesDir,
    mode: mode ?? null,
    checks,
  };
  return JSON.stringify(report, null, 2) + '\n';
}
