// Example 1: a NAT virtual service in front of three backends, the classic
// walk-through
//
//   ipvsadm -A -t 10.0.0.10:80 -s rr
//   ipvsadm -a -t 10.0.0.10:80 -r 10.2.K.2:80 -m      (K = 1, 2, 3)
//
// done with the library. It builds a small lab of network namespaces (a
// client, the director where IPVS runs, three backends answering with their
// names), prints the table, sends six requests through the VIP, prints the
// traffic counters, and deletes everything again.
//
// Run as root on a kernel with IPVS, after `npx tsup`:  node examples/01-nat.mjs
// or in the test kernel:  test/uml/run.sh -- node examples/01-nat.mjs
import { Ipvs } from 'ipvs';
import { formatCounts, formatListing, formatStats } from './lib/format.mjs';
import { listSettled } from './lib/stats.mjs';
import { createTopology } from './lib/topology.mjs';

const topo = await createTopology({ prefix: 'ex-nat', backends: 3 });
const ipvs = await Ipvs.open({ netns: topo.director.netns });
try {
  const service = { protocol: 'tcp', address: topo.vip, port: 80 };
  await ipvs.addService({ ...service, scheduler: 'rr' });
  for (const b of topo.backends) {
    // masq: the director rewrites the destination to the backend and the
    // replies back; the backends route through the director (their gateway).
    await ipvs.addDestination(service, { address: b.address, port: 80, forwarding: 'masq' });
  }
  console.log(`# Virtual service ${topo.vip}:80, round robin over ${topo.backends.length} backends (NAT):`);
  console.log(formatListing(await ipvs.listServices({ withDestinations: true }), await ipvs.info()));

  console.log(`\n# Six requests from the client (${topo.client.address}) to http://${topo.vip}/:`);
  const r = await topo.request({ count: 6 });
  r.results.forEach((x, i) => console.log(`request ${i + 1}: ${x.backend ?? `failed: ${x.error}`}`));
  console.log(`split: ${formatCounts(r.counts)}`);

  console.log('\n# Traffic counters (ipvsadm -Ln --stats): NAT sees both directions');
  console.log(formatStats(await listSettled(ipvs, 6)));
  process.exitCode = r.failures === 0 ? 0 : 1;
} finally {
  ipvs.close();
  await topo.destroy();
}
