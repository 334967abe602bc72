/**
 * Pure helpers the doctor reasons with: kernel module lists and names,
 * kernel versions. No file access here, so the decisions are unit-testable.
 */

/** The schedulers IPVS ships (kernel modules ip_vs_<name>). */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'] as const;

/** Module names as the kernel reports them ('-' and '_' are the same to modprobe). */
const canonical = (name: string) => name.replace(/-/g, '_');

/** Names of the loaded modules, from /proc/modules. */
export function parseProcModules(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean)
    .map(canonical);
}

/**
 * Module names from modules.dep or modules.builtin: one module path per
 * line ("kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz: deps..."), compressed or not.
 */
export function parseModuleList(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const path = line.split(':')[0]?.trim();
    const m = path && /([^/]+)\.ko(?:\.\w+)?$/.exec(path);
    if (m) names.push(canonical(m[1]!));
  }
  return names;
}

/** [major, minor] of a release string such as "6.1.0-18-amd64"; [0, 0] when unreadable. */
export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** Whether `release` is at least major.minor. */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const [a, b] = kernelVersion(release);
  return a > major || (a === major && b >= minor);
}

/**
 * The module that tracks IPv4 connections: nf_conntrack since Linux 4.19,
 * which merged nf_conntrack_ipv4 into it; nf_conntrack_ipv4 before.
 */
export function conntrackModule(release: string): 'nf_conntrack' | 'nf_conntrack_ipv4' {
  return kernelAtLeast(release, 4, 19) ? 'nf_conntrack' : 'nf_conntrack_ipv4';
}

/** Whether bit CAP_NET_ADMIN (12) is set in the CapEff line of /proc/self/status. */
export function hasCapNetAdmin(status: string): boolean | undefined {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  if (!m) return undefined;
  return (BigInt(`0x${m[1]}`) & (1n << 12n)) !== 0n;
}
