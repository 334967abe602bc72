/**
 * Host and service names, as ipvsadm resolves them: service names from
 * /etc/services (getservbyname/getservbyport: first matching line wins),
 * host names through the system resolver (getaddrinfo for names, getnameinfo
 * for addresses, which read /etc/hosts and DNS as nsswitch says).
 * Only used when an argument is not numeric, or a listing is without -n.
 */
import { lookup, lookupService } from 'node:dns/promises';
import { readFileSync } from 'node:fs';

type Proto = 'tcp' | 'udp' | 'sctp';

interface ServicesDb {
  byName: Map<string, number>;
  byPort: Map<string, string>;
}

/**
 * /etc/services as read on first use: a read-only cache for the life of the
 * process (a listing without -n looks up every port of every line).
 */
let db: ServicesDb | undefined;

function services(): ServicesDb {
  if (db) return db;
  db = { byName: new Map(), byPort: new Map() };
  let text = '';
  try {
    text = readFileSync('/etc/services', 'utf8');
  } catch {
    return db;
  }
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [name, portProto, ...aliases] = line.split(/\s+/);
    const m = /^(\d+)\/(\w+)$/.exec(portProto ?? '');
    if (!name || !m) continue;
    const port = Number(m[1]);
    const proto = m[2]!;
    for (const n of [name, ...aliases]) {
      const k = `${n}/${proto}`;
      if (!db.byName.has(k)) db.byName.set(k, port);
    }
    const pk = `${port}/${proto}`;
    if (!db.byPort.has(pk)) db.byPort.set(pk, name);
  }
  return db;
}

/** getservbyname(name, proto): the port, or -1. */
export function serviceToPort(name: string, proto: Proto | undefined): number {
  if (!proto) return -1;
  return services().byName.get(`${name}/${proto}`) ?? -1;
}

/** getservbyport(port, proto): the name, or undefined. */
export function portToService(port: number, proto: Proto | undefined): string | undefined {
  if (!proto) return undefined;
  return services().byPort.get(`${port}/${proto}`);
}

/** gethostbyname(name) for IPv4 (ipvsadm's host_to_addr): the address bytes, or undefined. */
export async function hostToAddr(name: string): Promise<Uint8Array | undefined> {
  try {
    const r = await lookup(name, { family: 4 });
    const p = r.address.split('.').map(Number);
    return Uint8Array.from(p);
  } catch {
    return undefined;
  }
}

const reverseCache = new Map<string, Promise<string | undefined>>();

/** gethostbyaddr(addr): the host's name, or undefined. */
export function addrToHost(address: string): Promise<string | undefined> {
  let p = reverseCache.get(address);
  if (!p) {
    p = lookupService(address, 0).then(
      (r) => (r.hostname && r.hostname !== address ? r.hostname : undefined),
      () => undefined,
    );
    reverseCache.set(address, p);
  }
  return p;
}
