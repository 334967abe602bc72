// Example 2: a node programmed the way kube-proxy's IPVS mode does it.
//
// - A dummy interface kube-ipvs0 holds every ClusterIP, so the node takes
//   the traffic as its own (kube-proxy leaves the interface down: addresses
//   on it are still local).
// - One virtual service per service port: ClusterIP:port -> pod:targetPort,
//   masq forwarding, rr.
// - NodePort: the same pods behind the node's own address on port 30080.
// - The sysctls kube-proxy sets: net.ipv4.ip_forward=1, net.ipv4.vs.conntrack=1.
//
// The "pods" are three backend namespaces answering with their names; a
// client namespace calls the ClusterIPs and the NodePort. Everything is
// deleted at the end.
//
// Run as root on a kernel with IPVS, after `npx tsup`:  node examples/02-kube-proxy.mjs
// or in the test kernel:  test/uml/run.sh -- node examples/02-kube-proxy.mjs
import { Ipvs } from 'ipvs';
import { formatCounts, formatListing } from './lib/format.mjs';
import { createTopology } from './lib/topology.mjs';

const web = { name: 'web', clusterIP: '10.96.0.10', port: 80, protocol: 'tcp', targetPort: 8080, nodePort: 30080 };
const dns = { name: 'dns', clusterIP: '10.96.0.53', port: 53, protocol: 'udp', targetPort: 5353 };

const topo = await createTopology({ prefix: 'ex-kube', backends: 3, backendName: 'pod', vips: [], tcpPorts: [web.targetPort], udpPorts: [dns.targetPort] });
const node = topo.director;
const ipvs = await Ipvs.open({ netns: node.netns });
try {
  // kube-ipvs0 and the ClusterIPs on it.
  await topo.exec(node.netns, 'ip', ['link', 'add', 'kube-ipvs0', 'type', 'dummy']);
  for (const s of [web, dns]) await topo.exec(node.netns, 'ip', ['addr', 'add', `${s.clusterIP}/32`, 'dev', 'kube-ipvs0']);
  await topo.exec(node.netns, 'sysctl', ['-qw', 'net.ipv4.vs.conntrack=1']);
  console.log('# Node interface kube-ipvs0 (down, as kube-proxy leaves it):');
  console.log((await topo.exec(node.netns, 'ip', ['-br', 'addr', 'show', 'kube-ipvs0'])).trim());
  console.log((await topo.exec(node.netns, 'sysctl', ['net.ipv4.ip_forward', 'net.ipv4.vs.conntrack'])).trim());

  // One virtual service per service port, plus the NodePort on the node address.
  const services = [
    { key: { protocol: web.protocol, address: web.clusterIP, port: web.port }, target: web.targetPort },
    { key: { protocol: web.protocol, address: node.address, port: web.nodePort }, target: web.targetPort },
    { key: { protocol: dns.protocol, address: dns.clusterIP, port: dns.port }, target: dns.targetPort },
  ];
  for (const { key, target } of services) {
    await ipvs.addService({ ...key, scheduler: 'rr' });
    for (const pod of topo.backends) await ipvs.addDestination(key, { address: pod.address, port: target, forwarding: 'masq' });
  }
  console.log('\n# IPVS table of the node:');
  console.log(formatListing(await ipvs.listServices({ withDestinations: true })));

  let failures = 0;
  const show = (what, r) => {
    failures += r.failures;
    console.log(`${what.padEnd(34)} -> ${r.replies.map((x) => x ?? 'FAILED').join(', ')}   (${formatCounts(r.counts)})`);
  };
  console.log('\n# Calls from a client:');
  show(`web  ClusterIP ${web.clusterIP}:${web.port}`, await topo.request({ host: web.clusterIP, port: web.port, count: 3 }));
  show(`web  NodePort  ${node.address}:${web.nodePort}`, await topo.request({ host: node.address, port: web.nodePort, count: 3 }));
  show(`dns  ClusterIP ${dns.clusterIP}:${dns.port}/udp`, await topo.udp({ host: dns.clusterIP, port: dns.port, count: 3 }));
  process.exitCode = failures === 0 ? 0 : 1;
} finally {
  ipvs.close();
  await topo.destroy();
}
