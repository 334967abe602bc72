// The README's demo: a virtual service with two real servers, programmed with
// the library in a network namespace of its own, then real requests through
// it. Like
//
//   ipvsadm -A -t 10.0.0.10:80 -s rr
//   ipvsadm -a -t 10.0.0.10:80 -r 10.2.1.2:80 -m
//   ipvsadm -a -t 10.0.0.10:80 -r 10.2.2.2:80 -m
//   ipvsadm -Ln
//
// The namespaces (a client, the director, two backends answering with their
// names) are deleted at the end: nothing is left behind.
//
// Run as root on a kernel with IPVS, after `npx tsup`:  node examples/demo.mjs
// (scripts/demo.sh does it all, in the test kernel when this host has no IPVS)
import { Ipvs } from 'ipvs';
import { formatListing } from './lib/format.mjs';
import { createTopology } from './lib/topology.mjs';

const topo = await createTopology({ prefix: 'ipvs-demo', backends: 2 });
const ipvs = await Ipvs.open({ netns: topo.director.netns });
try {
  const service = { protocol: 'tcp', address: topo.vip, port: 80 };
  await ipvs.addService({ ...service, scheduler: 'rr' });
  for (const b of topo.backends) await ipvs.addDestination(service, { address: b.address, port: 80, forwarding: 'masq' });

  console.log(`ipvs.listServices({ withDestinations: true }), printed like ipvsadm -Ln (network namespace ${topo.director.netns}):`);
  console.log(formatListing(await ipvs.listServices({ withDestinations: true }), await ipvs.info()));

  console.log(`\nfour HTTP requests to http://${topo.vip}/ from the client namespace, each on a new connection:`);
  const r = await topo.request({ count: 4 });
  for (const x of r.results) console.log(x.backend ?? `failed: ${x.error}`);

  console.log('\nthe listing again, after the requests:');
  console.log(formatListing(await ipvs.listServices({ withDestinations: true })));
  process.exitCode = r.failures === 0 ? 0 : 1;
} finally {
  ipvs.close();
  await topo.destroy();
}
