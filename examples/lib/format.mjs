// Prints the library's Service objects the way `ipvsadm -Ln` and
// `ipvsadm -Ln --stats` do, so the examples read like the classic guides.

const FORWARD = { masq: 'Masq', route: 'Route', tunnel: 'Tunnel', local: 'Local', bypass: 'Bypass' };

const hostPort = (family, address, port) => (family === 'inet6' ? `[${address}]:${port}` : `${address}:${port}`);

/** "TCP  10.0.0.10:80" or "FWM  7". */
function serviceLabel(s) {
  return s.fwmark !== undefined ? `FWM  ${s.fwmark}` : `${s.protocol.toUpperCase()}  ${hostPort(s.family, s.address, s.port)}`;
}

/** `ipvsadm -Ln`: services (listed with destinations) and their real servers. */
export function formatListing(services, info) {
  const lines = [];
  if (info) lines.push(`IP Virtual Server version ${info.version} (size=${info.connectionTableSize})`);
  lines.push('Prot LocalAddress:Port Scheduler Flags');
  lines.push('  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn');
  for (const s of services) {
    let line = `${serviceLabel(s)} ${s.scheduler}`;
    if (s.schedulerFlags.length) line += ` (${s.schedulerFlags.join(',')})`;
    if (s.persistent !== undefined) line += ` persistent ${s.persistent}`;
    if (s.onePacket) line += ' ops';
    lines.push(line);
    for (const d of s.destinations ?? []) {
      const fwd = FORWARD[d.forwarding] ?? d.forwarding;
      lines.push(`  -> ${hostPort(d.family, d.address, d.port).padEnd(28)} ${fwd.padEnd(7)} ${String(d.weight).padEnd(6)} ${String(d.activeConnections).padEnd(10)} ${d.inactiveConnections}`);
    }
  }
  return lines.join('\n');
}

/** `ipvsadm -Ln --stats --exact`: traffic counters per service and real server. */
export function formatStats(services) {
  const cols = (st) => [st.connections, st.packetsIn, st.packetsOut, st.bytesIn, st.bytesOut].map((n) => String(n).padStart(8)).join(' ');
  const lines = ['Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes', '  -> RemoteAddress:Port'];
  for (const s of services) {
    lines.push(`${serviceLabel(s).padEnd(33)} ${cols(s.stats)}`);
    for (const d of s.destinations ?? []) lines.push(`${`  -> ${hostPort(d.family, d.address, d.port)}`.padEnd(33)} ${cols(d.stats)}`);
  }
  return lines.join('\n');
}

/** "backend-1 ×10  backend-2 ×10" */
export function formatCounts(counts) {
  return Object.entries(counts).map(([name, n]) => `${name} ×${n}`).join('  ');
}
