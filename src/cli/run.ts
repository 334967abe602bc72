/**
 * Runs a parsed command against the kernel through the library, printing
 * what ipvsadm prints and returning its exit status: 255 when the kernel
 * refuses a change, 1 when a listing fails.
 */
import { spawnSync } from 'node:child_process';
import { IpvsClient as Ipvs } from '../client.js';
import { IpvsError } from '../errors.js';
import { numberToMask } from '../ipvs/address.js';
import { AF_INET6, ConnFlag, SvcFlag } from '../ipvs/constants.js';
import { FORWARDING_NAMES, PROTOCOL_NAMES, TUNNEL_NAMES, checksumName } from '../ipvs/names.js';
import type { DaemonSpec, DestinationKey, DestinationSpec, SchedulerFlag, Service, ServiceKey, ServiceSpec } from '../ipvs/types.js';
import type { Command, DestEntry, SvcEntry } from './command.js';
import { CliExit } from './exit.js';
import { Fmt, OPT } from './options.js';
import { formatConnTable, parseConnTable, readConnTable } from './conn.js';
import { inetNtop, inetNtopAf } from './cparse.js';
import { describeError, ipvsStrerror, strerror } from './errors.js';
import { addressesOf, daemonLines, header, serviceEntry, timeoutsLine, title } from './format.js';
import { connectionsJson, daemonsJson, servicesJson, timeoutsJson } from './json.js';
import { addrToHost } from './names.js';
import { destRow, svcRow, type DestRow, type SvcRow } from './rows.js';
import { cmpDests, cmpServices, msort } from './sort.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

// ---- command entries -> library specs ---------------------------------------

export function serviceKey(s: SvcEntry): ServiceKey {
  if (s.fwmark) return { fwmark: s.fwmark, family: s.af === AF_INET6 ? 'inet6' : 'inet' };
  const protocol = PROTOCOL_NAMES.get(s.protocol) ?? 'sctp';
  return { protocol, address: inetNtopAf(s.af, s.addr), port: s.port };
}

const NO_FLAGS: readonly SchedulerFlag[] = Object.freeze([]);
const SCHED_FLAGS = SvcFlag.SCHED1 | SvcFlag.SCHED2 | SvcFlag.SCHED3;

/** Every setting explicit: ipvsadm -E resets what is not given. */
export function serviceSpec(s: SvcEntry): ServiceSpec {
  let schedulerFlags = NO_FLAGS;
  if (s.flags & SCHED_FLAGS) {
    const f: SchedulerFlag[] = [];
    if (s.flags & SvcFlag.SCHED1) f.push('flag-1');
    if (s.flags & SvcFlag.SCHED2) f.push('flag-2');
    if (s.flags & SvcFlag.SCHED3) f.push('flag-3');
    schedulerFlags = f;
  }
  const spec = serviceKey(s) as ServiceSpec;
  spec.scheduler = s.schedName;
  spec.schedulerFlags = schedulerFlags as SchedulerFlag[];
  spec.persistent = s.flags & SvcFlag.PERSISTENT ? s.timeout : false;
  spec.netmask = s.af === AF_INET6 ? s.netmask : numberToMask(s.netmask >>> 0);
  spec.onePacket = (s.flags & SvcFlag.ONEPACKET) !== 0;
  spec.pe = s.peName;
  return spec;
}

export function destKey(d: DestEntry): DestinationKey {
  return { address: inetNtopAf(d.af, d.addr), port: d.port };
}

/** Every setting explicit: ipvsadm -e resets what is not given. */
export function destSpec(d: DestEntry): DestinationSpec {
  const forwarding = FORWARDING_NAMES.get(d.connFlags & ConnFlag.FWD_MASK) ?? 'route';
  const spec = destKey(d) as DestinationSpec;
  spec.forwarding = forwarding;
  spec.weight = d.weight;
  spec.upperThreshold = d.uThreshold;
  spec.lowerThreshold = d.lThreshold;
  if (forwarding === 'tunnel') {
    const type = TUNNEL_NAMES.get(d.tunType) ?? 'ipip';
    const checksum = checksumName(d.tunFlags);
    spec.tunnel = type === 'ipip' ? { type } : type === 'gue' ? { type, port: d.tunPort, checksum } : { type, checksum };
  }
  return spec;
}

export function daemonSpec(c: Command): DaemonSpec {
  const d = c.daemon;
  const spec: DaemonSpec = { state: d.state, interface: d.mcastIfn, syncId: d.syncId };
  if (d.syncMaxLen) spec.syncMaxLen = d.syncMaxLen;
  if (d.mcastGroup) spec.mcastGroup = inetNtop(d.mcastGroup.addr);
  if (d.mcastPort) spec.mcastPort = d.mcastPort;
  if (d.mcastTtl) spec.mcastTtl = d.mcastTtl;
  return spec;
}

/** -Z without a service, or with an all-zero one (libipvs then zeroes everything). */
function zeroAll(s: SvcEntry): boolean {
  return !s.fwmark && !s.port && s.addr.every((b) => b === 0);
}

// ---- opening ------------------------------------------------------------------

/** Opens the handle as ipvsadm's ipvs_init does (loading ip_vs if need be); failures exit 2. */
export async function openIpvs(netns: string | undefined): Promise<Ipvs> {
  const open = () => Ipvs.open(netns === undefined ? {} : { netns });
  try {
    return await open();
  } catch (e) {
    if (e instanceof IpvsError && e.operation === 'open' && e.errno === 2 && e.kind === 'kernel') {
      if (spawnSync('/sbin/modprobe', ['--', 'ip_vs'], { stdio: 'ignore' }).status === 0) {
        try {
          return await open();
        } catch (e2) {
          e = e2;
        }
      }
    }
    throw new CliExit(2, `Can't initialize ipvs: ${openError(e)}\nAre you sure that IP Virtual Server is built in the kernel or as module?\n`);
  }
}

function openError(e: unknown): string {
  if (e instanceof IpvsError) {
    if (e.syscall === 'open' || e.syscall === 'setns') return e.message;
    if (e.errno === 1) return ipvsStrerror(undefined, 1);
    if (e.errno === 2 && e.kind === 'kernel') return strerror(92); // ipvsadm falls back to sockopts: ENOPROTOOPT
    return e.errno ? ipvsStrerror(undefined, e.errno) : e.message;
  }
  return String(e);
}

// ---- running ------------------------------------------------------------------

/** Applies a change command; throws the library's error. */
export async function applyChange(ipvs: Ipvs, c: Command): Promise<void> {
  switch (c.cmd) {
    case 'flush':
      return ipvs.flush();
    case 'add-service':
      return ipvs.addService(serviceSpec(c.svc));
    case 'edit-service':
      return ipvs.updateService(serviceSpec(c.svc));
    case 'delete-service':
      return ipvs.deleteService(serviceKey(c.svc));
    case 'zero':
      return ipvs.zero(c.options.has(OPT.service) && !zeroAll(c.svc) ? serviceKey(c.svc) : undefined);
    case 'add-server':
      return ipvs.addDestination(serviceKey(c.svc), destSpec(c.dest));
    case 'edit-server':
      return ipvs.updateDestination(serviceKey(c.svc), destSpec(c.dest));
    case 'delete-server':
      return ipvs.deleteDestination(serviceKey(c.svc), destKey(c.dest));
    case 'set':
      return ipvs.setTimeouts(c.timeouts);
    case 'start-daemon':
      return ipvs.startDaemon(daemonSpec(c));
    case 'stop-daemon':
      return ipvs.stopDaemon({ state: c.daemon.state });
    default:
      throw new Error(`not a change: ${c.cmd}`);
  }
}

async function hostNames(format: number, rows: Array<{ row: SvcRow; dests: DestRow[] }>): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  if (format & Fmt.NUMERIC) return names;
  await Promise.all(addressesOf(rows).map(async (a) => {
    const h = await addrToHost(a);
    if (h) names.set(a, h);
  }));
  return names;
}

function ordered(services: Service[], format: number): Array<{ row: SvcRow; dests: DestRow[] }> {
  let rows = services.map((s) => ({ row: svcRow(s), dests: (s.destinations ?? []).map(destRow) }));
  if (!(format & Fmt.NOSORT)) {
    rows = msort(rows, (a, b) => cmpServices(a.row, b.row));
    for (const r of rows) r.dests = msort(r.dests, cmpDests);
  }
  return rows;
}

/**
 * Runs a listing (-L and its variants, -S); returns the text to print. With
 * `emit`, a full listing hands each service's text to it as it is formatted
 * instead (the caller decides when to write: see main.ts), so that a long
 * listing's text need not be held whole. Throws CliExit(1) on failure,
 * always before any text is emitted.
 */
export async function listing(ipvs: Ipvs | undefined, c: Command, emit?: (text: string) => void): Promise<string> {
  const o = c.options;
  const json = o.has(OPT.json);
  if (c.cmd === 'list' && o.has(OPT.connection)) {
    const text = await readConnTable(c.netns);
    return json ? connectionsJson(parseConnTable(text)) : formatConnTable(text, c.format);
  }
  const h = ipvs!;
  try {
    if (c.cmd === 'list' && o.has(OPT.service)) {
      const key = serviceKey(c.svc);
      const [svc, dests] = await Promise.all([h.getService(key), h.listDestinations(key).catch(() => undefined)]);
      if (!svc || !dests) throw new CliExit(1, `${ipvsStrerror('list', 3)}\n`);
      svc.destinations = dests;
      const rows = ordered([svc], c.format);
      if (json) return servicesJson(undefined, rows.map((r) => withDests(r)));
      const names = await hostNames(c.format, rows);
      return title(c.format) + rows.map((r) => serviceEntry(r.row, r.dests, c.format, names)).join('');
    }
    if (c.cmd === 'list' && o.has(OPT.timeout)) {
      const t = await h.getTimeouts();
      return json ? timeoutsJson(t) : timeoutsLine(t);
    }
    if (c.cmd === 'list' && o.has(OPT.daemon)) {
      const d = await h.listDaemons();
      return json ? daemonsJson(d) : daemonLines(d);
    }
    const [info, services] = await Promise.all([h.info(), h.listServices({ withDestinations: true })]);
    const rows = ordered(services, c.format);
    if (json) return servicesJson(info, rows.map((r) => withDests(r)));
    const names = await hostNames(c.format, rows);
    let out = c.format & Fmt.RULE ? '' : header(info);
    out += title(c.format);
    for (const r of rows) {
      out += serviceEntry(r.row, r.dests, c.format, names);
      if (emit) {
        emit(out);
        out = '';
      }
    }
    return out;
  } catch (e) {
    if (e instanceof CliExit) throw e;
    throw new CliExit(1, `${describeError('list', e)}\n`);
  }
}

/** The service in listing order, its destinations too. */
function withDests(r: { row: SvcRow; dests: DestRow[] }): Service {
  return { ...r.row.service, destinations: r.dests.map((d) => d.destination) };
}

/** Runs one parsed command (not -R, -h, -v); returns the exit status. */
export async function execute(c: Command, io: Io, shared?: Ipvs): Promise<number> {
  const isList = c.cmd === 'list' || c.cmd === 'save';
  const needsHandle = !(c.cmd === 'list' && c.options.has(OPT.connection));
  let ipvs = shared;
  try {
    if (!ipvs && needsHandle) ipvs = await openIpvs(c.netns);
    if (isList) {
      io.out(await listing(ipvs, c, io.out));
      return 0;
    }
    try {
      await applyChange(ipvs!, c);
      return 0;
    } catch (e) {
      io.err(`${describeError(c.cmd, e)}\n`);
      return 255;
    }
  } catch (e) {
    if (e instanceof CliExit) {
      (e.stream === 'stdout' ? io.out : io.err)(e.text);
      return e.status;
    }
    throw e;
  } finally {
    if (ipvs && !shared) ipvs.close();
  }
}
