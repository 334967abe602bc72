/**
 * One log line per event: text ("TIME EVENT key=value ...") or JSON
 * ({"time":..., "event":..., ...}), to a writer (stdout by default).
 */
export interface AgentEvent {
  event: 'start' | 'server-up' | 'server-down' | 'check-up' | 'check-down' | 'weight' | 'apply' | 'repair' | 'drain' | 'quorum' | 'reload' | 'error' | 'stop';
  [field: string]: unknown;
}

export type LogFormat = 'text' | 'json';

function textValue(v: unknown): string {
  const s = Array.isArray(v) ? v.join('; ') : typeof v === 'string' ? v : JSON.stringify(v);
  return /^[\w.:/\-[\]>]+$/.test(s) ? s : JSON.stringify(s);
}

export function formatEvent(e: AgentEvent, format: LogFormat, at = new Date()): string {
  if (format === 'json') return JSON.stringify({ time: at.toISOString(), ...e });
  const { event, ...rest } = e;
  const fields = Object.entries(rest).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${textValue(v)}`);
  return [at.toISOString(), event, ...fields].join(' ');
}

export function lineLogger(format: LogFormat, write: (line: string) => void = (l) => process.stdout.write(l + '\n')): (e: AgentEvent) => void {
  return (e) => write(formatEvent(e, format));
}
