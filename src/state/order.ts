/**
 * Deterministic order of real servers.
 *
 * The kernel puts a new real server at the head of its service's list
 * (list_add_rcu in __ip_vs_update_dest), and schedulers read that list in
 * order: mh builds its lookup table by letting each server in list order
 * claim its next preferred slot (a slot two servers want goes to the one
 * listed first), and sh hands out its buckets in list order. Directors
 * behind ECMP must therefore hold the same list, not only the same set.
 *
 * The rule: after an apply that adds a real server to a service, the
 * kernel lists that service's wanted servers in the documented order (IPv4
 * before IPv6, then address bytes, then port: normalize.ts destOrderKey),
 * which is also the order `ipvsadm -Ln --nosort` prints. Apply adds servers
 * in the reverse of that order, since each add goes to the head. Servers
 * already listed in that order at the tail stay; every wanted server
 * before them is deleted and added again (in one send with the adds).
 * Re-adding keeps connections: the kernel parks a deleted server in its
 * trash while connections use it and takes it back from there on the add,
 * counters and all. A service that gets no new server keeps its list as it
 * is (so `export | apply` of a state someone made by hand is a no-op),
 * unless the apply asks for order 'always'. Removing servers never
 * disturbs the order of the others.
 */
import type { Destination, DestinationSpec, ServiceKey } from '../ipvs/types.js';
import { destSpec, wantedDestId } from './desired.js';
import type { Change } from './types.js';

const REASON = 'keeps the documented order of real servers (see README, "Deterministic order")';

/**
 * The adds of a service's wanted servers (`wanted`, in the documented
 * order; `port`: the service's), with the re-adds that make the kernel
 * list them in order. `listed` is the kernel's list in its order.
 */
export function orderChanges(key: ServiceKey, wanted: readonly DestinationSpec[], port: number, listed: readonly Destination[]): Change[] {
  const position = new Map<string, number>();
  listed.forEach((x, i) => position.set(`${x.address}|${x.port}`, i));
  // The longest tail of the wanted order that the kernel already lists in that order.
  let keep = wanted.length;
  let next = Infinity;
  while (keep > 0) {
    const at = position.get(wantedDestId(wanted[keep - 1]!, port));
    if (at === undefined || at > next) break;
    next = at;
    keep--;
  }
  const deletes: Change[] = [];
  const adds: Change[] = [];
  for (let i = keep - 1; i >= 0; i--) {
    const w = destSpec(wanted[i]!, port);
    if (position.has(wantedDestId(w, port))) {
      deletes.push({ op: 'deleteDestination', service: key, destination: { address: w.address, port: w.port }, reason: REASON });
      adds.push({ op: 'addDestination', service: key, destination: w, reason: REASON });
    } else {
      adds.push({ op: 'addDestination', service: key, destination: w });
    }
  }
  return [...deletes, ...adds];
}
