// Example 4: IP tunnel mode (`ipvsadm -i`), with IPIP by default, or GUE or
// GRE (Linux 5.2+):  node examples/04-tunnel.mjs [ipip|gue|gre]
//
// The director wraps each request in an outer IP header addressed to the
// real server, which may sit anywhere it can route to. The real server
// unwraps it on a tunnel device (tunl0 for IPIP and GUE, gre0 for GRE; GUE
// first arrives as UDP on a FOU port), owns the VIP on loopback, has
// rp_filter off, and answers the client directly:
//
//   ip link set tunl0 up; ip addr add VIP/32 dev lo      (ipip)
//   ip fou add port 6080 gue                             (gue, plus the above)
//   ip link set gre0 up                                  (gre)
//
// Everything lives in network namespaces and is deleted at the end.
//
// Run as root on a kernel with IPVS, after `npx tsup`:  node examples/04-tunnel.mjs
// or in the test kernel:  test/uml/run.sh -- node examples/04-tunnel.mjs gue
import { Ipvs } from 'ipvs';
import { formatCounts, formatListing, formatStats } from './lib/format.mjs';
import { listSettled } from './lib/stats.mjs';
import { createTopology } from './lib/topology.mjs';

const kind = process.argv[2] ?? 'ipip';
if (!['ipip', 'gue', 'gre'].includes(kind)) {
  console.error('usage: node examples/04-tunnel.mjs [ipip|gue|gre]');
  process.exit(2);
}
const guePort = 6080;
const device = kind === 'gre' ? 'gre0' : 'tunl0';
const rxPackets = (b) => topo.exec(b.netns, 'cat', [`/sys/class/net/${device}/statistics/rx_packets`]).then(Number);

const topo = await createTopology({ prefix: 'ex-tun', backends: 2, directReturn: true });
const ipvs = await Ipvs.open({ netns: topo.director.netns });
try {
  await topo.setupTunnel(kind, { port: guePort });
  const service = { protocol: 'tcp', address: topo.vip, port: 80 };
  await ipvs.addService({ ...service, scheduler: 'rr' });
  const tunnel = kind === 'gue' ? { type: 'gue', port: guePort } : { type: kind };
  for (const b of topo.backends) await ipvs.addDestination(service, { address: b.address, forwarding: 'tunnel', tunnel });
  console.log(`# Director, ${kind} tunnels to the real servers:`);
  console.log(formatListing(await ipvs.listServices({ withDestinations: true })));
  for (const d of await ipvs.listDestinations(service)) console.log(`${d.address}: tunnel ${JSON.stringify(d.tunnel)}`);

  const before = await Promise.all(topo.backends.map(rxPackets));
  const r = await topo.request({ count: 4 });
  const after = await Promise.all(topo.backends.map(rxPackets));
  console.log(`\n# Four requests to http://${topo.vip}/: ${r.replies.map((x) => x ?? 'FAILED').join(', ')}`);
  console.log(`split: ${formatCounts(r.counts)}`);
  topo.backends.forEach((b, i) => console.log(`${b.name}: ${after[i] - before[i]} packets decapsulated on ${device}`));

  console.log('\n# Director counters: requests in, no replies through it');
  console.log(formatStats(await listSettled(ipvs, 4)));
  process.exitCode = r.failures === 0 ? 0 : 1;
} finally {
  ipvs.close();
  await topo.destroy();
}
