// Example 3: direct routing (DR, `ipvsadm -g`) with an externalIPs-style VIP.
//
// The VIP 203.0.113.10 is an "external IP" routed to the director. The
// director only rewrites the destination MAC address, so every backend must
// own the VIP too (here on its loopback) without answering ARP for it:
//
//   ip addr add 203.0.113.10/32 dev lo
//   sysctl net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
//
// Backends answer the client directly, over a link of their own: the
// director sees only the requests, as its counters show (OutPkts 0).
// Everything lives in network namespaces and is deleted at the end.
//
// Run as root on a kernel with IPVS, after `npx tsup`:  node examples/03-direct-routing.mjs
// or in the test kernel:  test/uml/run.sh -- node examples/03-direct-routing.mjs
import { Ipvs } from 'ipvs';
import { formatCounts, formatListing, formatStats } from './lib/format.mjs';
import { listSettled } from './lib/stats.mjs';
import { createTopology } from './lib/topology.mjs';

const vip = '203.0.113.10';
const topo = await createTopology({ prefix: 'ex-dr', backends: 2, vips: [vip], directReturn: true });
const ipvs = await Ipvs.open({ netns: topo.director.netns });
try {
  await topo.setupDirectRouting({ vip });
  const b1 = topo.backends[0];
  console.log(`# Real server ${b1.name} (${b1.address}), as every backend:`);
  console.log((await topo.exec(b1.netns, 'ip', ['-br', 'addr', 'show', 'dev', 'lo'])).trim());
  console.log((await topo.exec(b1.netns, 'sysctl', ['net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.all.arp_announce'])).trim());

  const service = { protocol: 'tcp', address: vip, port: 80 };
  await ipvs.addService({ ...service, scheduler: 'rr' });
  // route (DR): the real server's port must be the service's port.
  for (const b of topo.backends) await ipvs.addDestination(service, { address: b.address, forwarding: 'route' });
  console.log('\n# Director:');
  console.log(formatListing(await ipvs.listServices({ withDestinations: true })));

  const r = await topo.request({ host: vip, count: 4 });
  console.log(`\n# Four requests to http://${vip}/: ${r.replies.map((x) => x ?? 'FAILED').join(', ')}`);
  console.log(`split: ${formatCounts(r.counts)}; the backends saw the client as ${r.results[0]?.client}`);

  console.log('\n# Director counters: requests in, no replies through it');
  console.log(formatStats(await listSettled(ipvs, 4)));
  process.exitCode = r.failures === 0 ? 0 : 1;
} finally {
  ipvs.close();
  await topo.destroy();
}
