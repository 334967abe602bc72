/**
 * Gathers what the doctor judges: kernel release, modules (loaded, built in,
 * installed), the sysctls that matter, and whether IPVS opens. Everything
 * read is returned as plain Facts; checks.ts decides what they mean.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { IpvsClient as Ipvs, netnsPath } from '../client.js';
import { IpvsError } from '../errors.js';
import { hasCapNetAdmin, parseModuleList, parseProcModules } from './kernel.js';

/** The sysctls the doctor reads, in the namespace it checks. */
export const SYSCTLS = [
  'net.ipv4.ip_forward',
  'net.ipv4.vs.conntrack',
  'net.netfilter.nf_conntrack_max',
  'net.netfilter.nf_conntrack_count',
  'net.ipv4.conf.all.arp_ignore',
  'net.ipv4.conf.all.arp_announce',
] as const;
export type SysctlName = (typeof SYSCTLS)[number];

export type OpenOutcome =
  | { ok: true; version: string; connectionTableSize: number }
  | { ok: false; code: string; message: string };

export interface Facts {
  /** uname -r */
  kernelRelease: string;
  /** The namespace checked, as given; absent for the caller's own. */
  netns?: string;
  /** /proc/net/ip_vs exists (IPVS is loaded or built in). */
  ipvsProc: boolean;
  /** Loaded modules (/proc/modules). */
  loadedModules: string[];
  /** Where installed modules were looked for. */
  modulesDir: string;
  /** Installed modules (modules.dep); undefined when it could not be read. */
  availableModules?: string[];
  /** Built-in modules (modules.builtin); undefined when it could not be read. */
  builtinModules?: string[];
  /** Integer sysctls; a name is absent when the kernel does not have it (module not loaded). */
  sysctl: Partial<Record<SysctlName, number>>;
  /** What opening IPVS through generic netlink gave. */
  open: OpenOutcome;
  /** CAP_NET_ADMIN in this process's effective set; undefined when unreadable. */
  capNetAdmin?: boolean;
}

export interface ProbeOptions {
  netns?: string;
  /** Default: $IPVS_MODULES_DIR, else /lib/modules/<release>. */
  modulesDir?: string;
}

const readText = (path: string) => readFile(path, 'utf8').catch(() => undefined);

/**
 * Reads files inside a network namespace. /proc/sys/net and /proc/net show
 * the reading process's namespace, so a helper reads them from inside it
 * (nsenter; needs CAP_SYS_ADMIN, as entering any namespace does).
 */
function readInNetns(netns: string, paths: string[]): Promise<(string | undefined)[]> {
  // Each file comes back as "1<content>" or "0" (unreadable), NUL-terminated.
  const script = 'for f; do if [ -r "$f" ]; then printf 1; cat "$f" 2>/dev/null; else printf 0; fi; printf "\\0"; done';
  return new Promise((resolve, reject) => {
    execFile('nsenter', [`--net=${netnsPath(netns)}`, 'sh', '-c', script, 'sh', ...paths], { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`cannot read inside network namespace ${netns}: ${stderr.trim() || err.message}`));
        return;
      }
      const parts = stdout.split('\0');
      resolve(paths.map((_, i) => (parts[i]?.startsWith('1') ? parts[i]!.slice(1) : undefined)));
    });
  });
}

const sysctlPath = (name: string) => `/proc/sys/${name.replace(/\./g, '/')}`;

/** Tries to open IPVS; its outcome tells presence and privilege apart. */
async function tryOpen(netns: string | undefined): Promise<OpenOutcome> {
  try {
    const ipvs = await Ipvs.open({ timeoutMs: 5000, ...(netns !== undefined ? { netns } : {}) });
    try {
      const info = await ipvs.info();
      return { ok: true, version: info.version, connectionTableSize: info.connectionTableSize };
    } finally {
      ipvs.close();
    }
  } catch (e) {
    if (e instanceof IpvsError) return { ok: false, code: e.code, message: e.message };
    return { ok: false, code: 'UNKNOWN', message: (e as Error).message };
  }
}

export async function gatherFacts(opts: ProbeOptions = {}): Promise<Facts> {
  const kernelRelease = (await readText('/proc/sys/kernel/osrelease'))?.trim() ?? 'unknown';
  const modulesDir = opts.modulesDir ?? process.env.IPVS_MODULES_DIR ?? `/lib/modules/${kernelRelease}`;
  const nsPaths = ['/proc/net/ip_vs', ...SYSCTLS.map(sysctlPath)];
  const [nsFiles, procModules, dep, builtin, status, open] = await Promise.all([
    opts.netns !== undefined ? readInNetns(opts.netns, nsPaths) : Promise.all(nsPaths.map(readText)),
    readText('/proc/modules'),
    readText(`${modulesDir}/modules.dep`),
    readText(`${modulesDir}/modules.builtin`),
    readText('/proc/self/status'),
    tryOpen(opts.netns),
  ]);
  const sysctl: Facts['sysctl'] = {};
  SYSCTLS.forEach((name, i) => {
    const v = nsFiles[i + 1]?.trim();
    if (v !== undefined && /^-?\d+$/.test(v)) sysctl[name] = Number(v);
  });
  const facts: Facts = {
    kernelRelease,
    ipvsProc: nsFiles[0] !== undefined,
    loadedModules: procModules ? parseProcModules(procModules) : [],
    modulesDir,
    sysctl,
    open,
  };
  if (opts.netns !== undefined) facts.netns = opts.netns;
  if (dep !== undefined) facts.availableModules = parseModuleList(dep);
  if (builtin !== undefined) facts.builtinModules = parseModuleList(builtin);
  const cap = status !== undefined ? hasCapNetAdmin(status) : undefined;
  if (cap !== undefined) facts.capNetAdmin = cap;
  return facts;
}
