/**
 * The `sysctls:` member of a state: one change per named IPVS sysctl whose
 * kernel value differs (compared as the text the kernel file holds, so
 * `true` and `1` are the same), written before the services. Sysctls are
 * files of the namespace, not netlink: the handle (Ipvs) reads and writes
 * them; a client without those methods cannot plan a state that names any.
 */
import { IpvsError, inputError } from '../errors.js';
import { encodeSysctls, type IpvsSysctls, type SysctlName } from '../procfs/sysctls.js';
import type { Change, ChangeResult } from './types.js';

/** What the state layer needs of the handle for sysctls. */
export interface SysctlClient {
  getSysctls?(): Promise<Partial<IpvsSysctls>>;
  setSysctls?(values: Partial<IpvsSysctls>): Promise<void>;
}

type SysctlChange = Extract<Change, { op: 'setSysctl' }>;

/** The text a sysctl's file holds for `value` (values were checked already). */
export const sysctlText = (name: SysctlName, value: unknown): string => encodeSysctls({ [name]: value })[0]![1];

/**
 * The changes that give the namespace the `wanted` sysctls (checked), in
 * the order named; `current` as getSysctls read it (a setting the kernel
 * lacks is absent: its change fails when applied, with the kernel's word).
 */
export function sysctlChanges(wanted: Partial<IpvsSysctls>, current: Partial<IpvsSysctls>): Change[] {
  const out: Change[] = [];
  for (const [name, value] of Object.entries(wanted) as [SysctlName, unknown][]) {
    if (value === undefined) continue;
    const before = current[name];
    if (before !== undefined && sysctlText(name, before) === sysctlText(name, value)) continue;
    const c: SysctlChange = { op: 'setSysctl', sysctl: name, value: value as IpvsSysctls[SysctlName] };
    if (before !== undefined) c.before = before;
    out.push(c);
  }
  return out;
}

/** Reads the namespace's sysctls for a plan; refuses a client that cannot. */
export function readSysctls(client: SysctlClient, operation: string): Promise<Partial<IpvsSysctls>> {
  if (!client.getSysctls) throw inputError(operation, 'sysctls', `${operation}: sysctls are read and written by an Ipvs handle (it knows the namespace), not by this client`);
  return client.getSysctls();
}

/** Writes sysctl changes one by one, each result at its place in `results`; returns how many were written. */
export async function writeSysctls(client: SysctlClient, changes: Change[], results: ChangeResult[]): Promise<number> {
  let written = 0;
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i] as SysctlChange;
    try {
      await client.setSysctls!({ [c.sysctl]: c.value });
      written++;
      results[i] = { change: c, ok: true };
    } catch (e) {
      if (!(e instanceof IpvsError)) throw e;
      results[i] = { change: c, ok: false, error: e };
    }
  }
  return written;
}
