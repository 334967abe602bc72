/**
 * A model of the kernel's `mh` scheduler (net/netfilter/ipvs/ip_vs_mh.c,
 * as in 6.1), IPv4 only, for the kernel test that holds directors equal: it
 * predicts which real server a flow gets for a given list order of real
 * servers, so the test can pick flows whose server depends on that order and
 * check the kernel agrees. Nothing in the library uses it.
 *
 * What it copies: fixed hash keys (generate_hash_secret, which is why every
 * director agrees at all); hsiphash, which on 64-bit kernels is SipHash-1-3
 * truncated to 32 bits; a table of primes[CONFIG_IP_VS_MH_TAB_INDEX - 8]
 * slots (4093 with the default 12, the test kernel's setting); each server's
 * offset and skip from the hash of its address + port; population in list
 * order, each server in turn claiming its next free preferred slot
 * (ip_vs_mh_populate), so a slot two servers want goes to the one listed
 * first; a flow's slot from the hash of its source address + port (mh-port).
 */

const MASK = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & MASK;

/** The kernel's hsiphash() of one u32 on a 64-bit little-endian machine. */
export function hsiphash32(value: number, k0: bigint, k1: bigint): number {
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = () => {
    v0 = (v0 + v1) & MASK; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & MASK; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & MASK; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  // Four bytes: no full 8-byte block, the tail word carries the length.
  const b = (4n << 56n) | BigInt(value >>> 0);
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round(); round(); round();
  return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
}

const HASH1 = [2654435761n, 2654435761n] as const;
const HASH2 = [2654446892n, 2654446892n] as const;
const PRIMES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];

const ipv4 = (a: string) => a.split('.').reduce((n, x) => n * 256 + Number(x), 0);
const hashkey = (address: string, port: number, key: readonly [bigint, bigint], offset = 0) =>
  hsiphash32((offset + port + ipv4(address)) >>> 0, key[0], key[1]);

export interface MaglevServer {
  address: string;
  port: number;
}

/** A lookup table: slot -> real server address. */
export interface MaglevTable {
  size: number;
  slots: string[];
}

/**
 * The table the kernel builds for `servers` listed in this order (the order
 * listDestinations returns), all of equal non-zero weight.
 */
export function maglevTable(servers: MaglevServer[], tabIndex = 12): MaglevTable {
  const size = PRIMES[tabIndex - 8]!;
  const setup = servers.map((s) => {
    const offset = hashkey(s.address, s.port, HASH1) % size;
    return { offset, skip: (hashkey(s.address, s.port, HASH2) % (size - 1)) + 1, perm: offset };
  });
  const slots: string[] = new Array(size);
  const taken = new Uint8Array(size);
  let n = 0;
  while (n < size) {
    for (const [i, d] of setup.entries()) {
      while (taken[d.perm]) d.perm = (d.perm + d.skip) % size;
      taken[d.perm] = 1;
      slots[d.perm] = servers[i]!.address;
      if (++n === size) break;
    }
  }
  return { size, slots };
}

/** The real server (address) a flow from `client`:`port` gets (mh-port; no server drained). */
export function maglevPick(table: MaglevTable, client: string, port: number): string {
  return table.slots[hashkey(client, port, HASH1) % table.size]!;
}
