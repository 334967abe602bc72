/**
 * The benchmark's workload: N TCP services, each with 2 masq real servers
 * (3N operations), as library specs, as an ipvsadm restore file, and as
 * the `ipvsadm -Sn` lines the kernel must hold afterwards.
 */
import type { DestinationSpec, ServiceSpec } from '../src/index.js';

export interface Workload {
  n: number;
  /** 3n: one service and two real servers per service. */
  ops: number;
  services: ServiceSpec[];
  /** Real servers by service index. */
  destinations: DestinationSpec[][];
  /** The same, as `ipvsadm -R` input. */
  restore: string;
  /** What `ipvsadm -Sn` prints afterwards, sorted. */
  saved: string[];
}

/** Virtual IP of service i: 10.1.0.0 upwards. */
export const vip = (i: number): string => `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
/** Real server j of service i: 172.16.0.2 upwards (the namespace routes 172.16.0.0/12). */
export const rip = (i: number, j: number): string => {
  const n = 2 + 2 * i + j;
  return `172.${16 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
};

export function makeWorkload(n: number): Workload {
  const services: ServiceSpec[] = [];
  const destinations: DestinationSpec[][] = [];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    services.push({ protocol: 'tcp', address: vip(i), port: 80, scheduler: 'wlc' });
    lines.push(`-A -t ${vip(i)}:80 -s wlc`);
    const ds: DestinationSpec[] = [];
    for (let j = 0; j < 2; j++) {
      ds.push({ address: rip(i, j), port: 80, forwarding: 'masq', weight: 1 });
      lines.push(`-a -t ${vip(i)}:80 -r ${rip(i, j)}:80 -m -w 1`);
    }
    destinations.push(ds);
  }
  return { n, ops: 3 * n, services, destinations, restore: `${lines.join('\n')}\n`, saved: [...lines].sort() };
}

/**
 * Compares `ipvsadm -Sn` output with the workload; returns a description
 * of the first differences, or undefined when the kernel holds exactly it.
 */
export function compareSaved(w: Workload, output: string): string | undefined {
  const got = output.split('\n').filter((l) => l.length > 0).sort();
  if (got.length === w.saved.length && got.every((l, i) => l === w.saved[i])) return undefined;
  const want = new Set(w.saved);
  const have = new Set(got);
  const missing = w.saved.filter((l) => !have.has(l));
  const extra = got.filter((l) => !want.has(l));
  return `kernel holds ${got.length} lines, expected ${w.saved.length}; missing ${missing.length} (e.g. ${missing.slice(0, 2).join(' | ') || '-'}), unexpected ${extra.length} (e.g. ${extra.slice(0, 2).join(' | ') || '-'})`;
}
