/**
 * The doctor's judgement: Facts in, one Check per thing every IPVS guide
 * makes people check by hand, each saying what was found and what to do.
 * Pure, so every verdict is unit-tested on made-up facts.
 */
import { SCHEDULERS, conntrackModule, kernelVersion } from './kernel.js';
import type { Facts } from './probe.js';

/**
 * ok: fine. info: worth knowing, nothing to fix for a plain setup.
 * warn: breaks some setups (the detail says which). fail: IPVS cannot work.
 */
export type Status = 'ok' | 'info' | 'warn' | 'fail';

export interface Check {
  /** Stable identifier for machines, e.g. 'ip-forward'. */
  id: string;
  /** What was checked, for people. */
  title: string;
  status: Status;
  /** What was found and what it means. */
  detail: string;
  /** What to do, when something should be done. */
  fix?: string;
  /** The values behind the verdict. */
  data?: Record<string, unknown>;
}

/** The forwarding method the user means to use (ipvsadm -m, -g, -i); sharpens some verdicts. */
export type Mode = 'masq' | 'route' | 'tunnel';

export interface EvaluateOptions {
  mode?: Mode;
}

const has = (list: string[] | undefined, name: string) => list?.includes(name) ?? false;

function ipvsCheck(f: Facts): Check {
  const base = { id: 'ipvs', title: 'IPVS in the kernel' };
  if (f.ipvsProc || f.open.ok) {
    const how = has(f.loadedModules, 'ip_vs') ? 'module ip_vs loaded' : has(f.builtinModules, 'ip_vs') ? 'built into the kernel' : 'present';
    const version = f.open.ok ? `IPVS ${f.open.version}, connection table size ${f.open.connectionTableSize}` : 'IPVS';
    return { ...base, status: 'ok', detail: `${version} (${how})`, data: { present: true, how } };
  }
  const data = { present: false, modulesDir: f.modulesDir };
  if (has(f.availableModules, 'ip_vs')) {
    return {
      ...base, status: 'fail', data,
      detail: 'IPVS is not loaded; its module ip_vs is installed',
      fix: 'modprobe ip_vs   (to load it at every boot: echo ip_vs > /etc/modules-load.d/ipvs.conf)',
    };
  }
  if (f.availableModules === undefined) {
    return {
      ...base, status: 'fail', data,
      detail: `IPVS is not loaded, and ${f.modulesDir}/modules.dep could not be read to tell whether it can be`,
      fix: 'modprobe ip_vs; if that fails, the kernel lacks IPVS (CONFIG_IP_VS): install its extra modules or use another kernel',
    };
  }
  return {
    ...base, status: 'fail', data,
    detail: `this kernel has no IPVS: not loaded, not built in, and no ip_vs module under ${f.modulesDir}`,
    fix: "install the kernel's extra modules package (for example linux-modules-extra-$(uname -r)) or use a kernel built with CONFIG_IP_VS",
  };
}

const PERMISSION_FIX = 'run as root (sudo), or give the program CAP_NET_ADMIN (setcap cap_net_admin+ep on the binary, or AmbientCapabilities=CAP_NET_ADMIN in its systemd unit)';

function privilegeCheck(f: Facts): Check {
  const base = { id: 'privileges', title: 'privileges (CAP_NET_ADMIN)' };
  const data = { capNetAdmin: f.capNetAdmin ?? null, open: f.open.ok ? 'ok' : f.open.code };
  if (f.open.ok) return { ...base, status: 'ok', detail: 'can program IPVS', data };
  if (f.open.code === 'EPERM' || (f.open.code === 'ENOENT' && f.capNetAdmin === false)) {
    return { ...base, status: 'fail', detail: 'no CAP_NET_ADMIN: the kernel refuses every IPVS command (permission denied)', fix: PERMISSION_FIX, data };
  }
  if (f.open.code === 'ENOENT' && f.capNetAdmin === true) {
    return { ...base, status: 'ok', detail: 'has CAP_NET_ADMIN (IPVS itself is missing, see above)', data };
  }
  return { ...base, status: 'fail', detail: `cannot open IPVS: ${f.open.message}`, data };
}

function schedulerCheck(f: Facts): Check {
  const base = { id: 'schedulers', title: 'schedulers' };
  const loaded = SCHEDULERS.filter((s) => has(f.loadedModules, `ip_vs_${s}`) || has(f.builtinModules, `ip_vs_${s}`));
  const installed = SCHEDULERS.filter((s) => has(f.availableModules, `ip_vs_${s}`));
  const usable = SCHEDULERS.filter((s) => loaded.includes(s) || installed.includes(s));
  const missing = SCHEDULERS.filter((s) => !usable.includes(s));
  const data = { usable, loaded, missing: f.availableModules ? missing : null };
  if (f.availableModules === undefined) {
    return {
      ...base, status: usable.length ? 'info' : 'warn', data,
      detail: `${usable.length ? `loaded: ${usable.join(' ')}` : 'none loaded'}; cannot tell which others can be loaded (no ${f.modulesDir}/modules.dep)`,
      fix: 'point IPVS_MODULES_DIR (or --modules-dir) at the directory holding this kernel\'s modules.dep',
    };
  }
  if (!usable.length) {
    return {
      ...base, status: 'fail', data,
      detail: `no IPVS scheduler is loaded or installed (looked in ${f.modulesDir}): no virtual service can be created`,
      fix: "install the kernel's extra modules package, which has the ip_vs_* modules",
    };
  }
  let detail = usable.join(' ');
  const notLoaded = usable.filter((s) => !loaded.includes(s));
  if (notLoaded.length && loaded.length) detail += ` (loaded: ${loaded.join(' ')}; the kernel loads the others when a service first uses them)`;
  else if (notLoaded.length) detail += ' (the kernel loads each when a service first uses it)';
  if (missing.length) detail += `; not available: ${missing.join(' ')}`;
  return { ...base, status: 'ok', detail, data };
}

function conntrackModuleCheck(f: Facts): Check {
  const name = conntrackModule(f.kernelRelease);
  const [major, minor] = kernelVersion(f.kernelRelease);
  const base = { id: 'conntrack-module', title: 'connection tracking module' };
  const why = name === 'nf_conntrack' ? `the name on Linux ${major}.${minor}; nf_conntrack_ipv4 before 4.19` : `the name before Linux 4.19; nf_conntrack from 4.19 on`;
  const loaded = has(f.loadedModules, name) || has(f.builtinModules, name) || f.sysctl['net.netfilter.nf_conntrack_max'] !== undefined;
  const data = { module: name, loaded };
  if (loaded) return { ...base, status: 'ok', detail: `${name} loaded (${why})`, data };
  return {
    ...base, status: 'info', data,
    detail: `${name} is not loaded (${why}): IPVS works without it, but net.ipv4.vs.conntrack=1 and iptables/nftables NAT or state rules on IPVS traffic need it`,
    fix: `modprobe ${name}`,
  };
}

function ipForwardCheck(f: Facts, mode: Mode | undefined): Check {
  const v = f.sysctl['net.ipv4.ip_forward'];
  const base = { id: 'ip-forward', title: 'net.ipv4.ip_forward', data: { value: v ?? null } };
  const fix = 'sysctl -w net.ipv4.ip_forward=1   (to keep it: net.ipv4.ip_forward = 1 in /etc/sysctl.d/ipvs.conf)';
  if (v === undefined) return { ...base, status: 'warn', detail: 'could not be read' };
  if (v !== 0) return { ...base, status: 'ok', detail: `${v}: the director forwards the real servers' NAT replies` };
  const detail = "0: the replies of NAT (masq) real servers, which pass through the director, are dropped; DR and tunnel directors do not need forwarding";
  if (mode === 'masq') return { ...base, status: 'fail', detail, fix };
  if (mode === 'route' || mode === 'tunnel') return { ...base, status: 'ok', detail: `0: fine for ${mode === 'route' ? 'DR' : 'tunnel'} (only NAT needs forwarding)` };
  return { ...base, status: 'warn', detail, fix };
}

function vsConntrackCheck(f: Facts): Check {
  const v = f.sysctl['net.ipv4.vs.conntrack'];
  const base = { id: 'vs-conntrack', title: 'net.ipv4.vs.conntrack', data: { value: v ?? null } };
  if (v === undefined) return { ...base, status: 'info', detail: 'not present (appears when ip_vs is loaded)' };
  if (v !== 0) return { ...base, status: 'ok', detail: `${v}: IPVS connections are tracked by netfilter conntrack, so iptables/nftables SNAT, MASQUERADE and state rules can match them (kube-proxy sets this)` };
  return {
    ...base, status: 'info',
    detail: '0: fine unless iptables/nftables SNAT, MASQUERADE or state rules must see IPVS traffic (kube-proxy sets it to 1)',
    fix: 'sysctl -w net.ipv4.vs.conntrack=1   (when such rules are used)',
  };
}

function conntrackTableCheck(f: Facts): Check {
  const max = f.sysctl['net.netfilter.nf_conntrack_max'];
  const count = f.sysctl['net.netfilter.nf_conntrack_count'];
  const base = { id: 'conntrack-table', title: 'connection tracking table', data: { count: count ?? null, max: max ?? null } };
  if (max === undefined || count === undefined) return { ...base, status: 'info', detail: 'connection tracking is not loaded: no table to fill' };
  if (max === 0) return { ...base, status: 'ok', detail: `${count} entries, no limit (nf_conntrack_max 0)` };
  const fix = 'raise the limit: sysctl -w net.netfilter.nf_conntrack_max=<larger> (and net.netfilter.nf_conntrack_buckets), or shorten conntrack timeouts';
  const pct = Math.floor((count * 100) / max);
  // A full table hovers just under the limit: the kernel evicts unreplied
  // entries to admit new ones and frees them a moment later. At 99% it is full.
  if (count >= max || pct >= 99) {
    return { ...base, status: 'fail', fix, detail: `full: ${count} of ${max} entries; the kernel drops new connections ("nf_conntrack: table full, dropping packet")` };
  }
  if (pct >= 90) return { ...base, status: 'warn', fix, detail: `nearly full: ${count} of ${max} entries (${pct}%); when full, the kernel drops new connections` };
  return { ...base, status: 'ok', detail: `${count} of ${max} entries in use (${pct}%)` };
}

function arpCheck(f: Facts): Check {
  const ignore = f.sysctl['net.ipv4.conf.all.arp_ignore'];
  const announce = f.sysctl['net.ipv4.conf.all.arp_announce'];
  const base = { id: 'dr-arp', title: 'ARP for DR/tunnel real servers', data: { arp_ignore: ignore ?? null, arp_announce: announce ?? null } };
  if (ignore === undefined || announce === undefined) return { ...base, status: 'warn', detail: 'net.ipv4.conf.all.arp_ignore/arp_announce could not be read' };
  const now = `arp_ignore=${ignore}, arp_announce=${announce}`;
  if (ignore >= 1 && announce >= 2) return { ...base, status: 'ok', detail: `${now}: ready to be a DR or tunnel real server holding the VIP on lo` };
  return {
    ...base, status: 'info',
    detail: `${now}: right for a director; a DR or tunnel real server holding the VIP (on lo) needs arp_ignore=1 and arp_announce=2, or it answers ARP for the VIP and takes the director's traffic`,
    fix: 'on each DR/tunnel real server: sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2',
  };
}

/** Every check, in the order a person would go through them. */
export function evaluate(f: Facts, opts: EvaluateOptions = {}): Check[] {
  return [
    ipvsCheck(f),
    privilegeCheck(f),
    schedulerCheck(f),
    conntrackModuleCheck(f),
    ipForwardCheck(f, opts.mode),
    vsConntrackCheck(f),
    conntrackTableCheck(f),
    arpCheck(f),
  ];
}

/** 1 when something blocks IPVS (a 'fail'), else 0. */
export function exitCode(checks: Check[]): number {
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}
