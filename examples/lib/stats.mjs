// The kernel folds IPVS's per-CPU traffic counters into what it reports on
// its rate estimator's tick, every two seconds; examples that print counters
// right after sending traffic wait for that first.

/**
 * Lists the services (with real servers) once the first one's counters show
 * at least `connections` connections, or after `timeoutMs` anyway.
 */
export async function listSettled(ipvs, connections, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const services = await ipvs.listServices({ withDestinations: true });
    if ((services[0]?.stats.connections ?? 0n) >= BigInt(connections) || Date.now() > until) return services;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
