/**
 * The usual setup of a traffic test file: a topology of namespaces (see
 * examples/lib/topology.mjs) made before the first test, a library handle in
 * its director, IPVS flushed after each test, and both removed after the
 * last. Read `ctx.topo` and `ctx.ipvs` inside tests and hooks.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createTopology, type Topology, type TopologyOptions } from '../../examples/lib/topology.mjs';
import { Ipvs } from '../../src/index.js';

export function useTopology(options: TopologyOptions): { readonly topo: Topology; readonly ipvs: Ipvs } {
  const ctx = {} as { topo: Topology; ipvs: Ipvs };
  beforeAll(async () => {
    ctx.topo = await createTopology(options);
    ctx.ipvs = await Ipvs.open({ netns: ctx.topo.director.netns });
  });
  afterEach(async () => {
    await ctx.ipvs.flush();
  });
  afterAll(async () => {
    ctx.ipvs?.close();
    await ctx.topo?.destroy();
  });
  return ctx;
}
