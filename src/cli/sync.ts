/**
 * `ipvs sync master|backup|stop --interface IF [--syncid N] ...`: puts the
 * namespace's IPVS sync daemons in the role a VRRP state calls for (see
 * src/sync/role.ts), for keepalived's notify_master / notify_backup /
 * notify_fault scripts. Idempotent, so a repeated or late notify is harmless.
 */
import { parseArgs } from 'node:util';
import { IpvsError } from '../errors.js';
import { setSyncRole, type SyncRole, type SyncSettings } from '../sync/role.js';
import { openIpvs, type Io } from './run.js';

export const SYNC_USAGE = `usage: ipvs sync master|backup|stop [--interface IF] [--syncid N] [--netns NS]
                 [--mcast-group ADDR] [--mcast-port PORT] [--mcast-ttl TTL] [--sync-maxlen BYTES]
  master   run the master sync daemon only (this director holds the VIP)
  backup   run the backup sync daemon only (another director holds it)
  stop     stop both
  A daemon already running with these settings is kept; one with others is restarted.
  --interface is required for master and backup; --syncid defaults to 0.
`;

function whole(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`--${name} takes a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`);
  return n;
}

class UsageError extends Error {}

/** Runs `ipvs sync ...` (argv after the word "sync"); returns the exit status. */
export async function runSyncCommand(argv: string[], io: Io, defaultNetns?: string): Promise<number> {
  let role: SyncRole;
  let settings: SyncSettings | undefined;
  let netns: string | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        interface: { type: 'string', short: 'i' },
        syncid: { type: 'string' },
        netns: { type: 'string' },
        'mcast-group': { type: 'string' },
        'mcast-port': { type: 'string' },
        'mcast-ttl': { type: 'string' },
        'sync-maxlen': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.out(SYNC_USAGE);
      return 0;
    }
    if (positionals.length !== 1 || !['master', 'backup', 'stop'].includes(positionals[0]!)) {
      throw new UsageError('say one of master, backup or stop');
    }
    role = positionals[0] as SyncRole;
    netns = values.netns ?? defaultNetns;
    if (role !== 'stop') {
      if (!values.interface) throw new UsageError(`${role} needs --interface`);
      settings = { interface: values.interface, syncId: whole(values.syncid, 'syncid', 0, 255) ?? 0 };
      const port = whole(values['mcast-port'], 'mcast-port', 1, 65535);
      const ttl = whole(values['mcast-ttl'], 'mcast-ttl', 1, 255);
      const maxLen = whole(values['sync-maxlen'], 'sync-maxlen', 1, 65535);
      if (values['mcast-group'] !== undefined) settings.mcastGroup = values['mcast-group'];
      if (port !== undefined) settings.mcastPort = port;
      if (ttl !== undefined) settings.mcastTtl = ttl;
      if (maxLen !== undefined) settings.syncMaxLen = maxLen;
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    io.err(`ipvs sync: ${msg}\n${SYNC_USAGE}`);
    return 2;
  }
  let ipvs;
  try {
    ipvs = await openIpvs(netns);
    const change = await setSyncRole(ipvs, role, settings);
    const parts = [
      ...change.stopped.map((s) => `stopped ${s}`),
      ...change.started.map((s) => `started ${s}`),
      ...change.kept.map((s) => `kept ${s}`),
    ];
    const where = settings ? ` (${settings.interface}, syncid ${settings.syncId})` : '';
    io.out(`ipvs sync: ${parts.length ? parts.join(', ') : 'nothing running'}${where}\n`);
    return 0;
  } catch (e) {
    io.err(`ipvs sync ${role}: ${e instanceof IpvsError || e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    ipvs?.close();
  }
}
