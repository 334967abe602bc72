// The layers of src/, read from the imports themselves: no import cycle,
// no layer importing one above it, and a transport that knows nothing of
// IPVS. (A small reader of `import ... from './x.js'` lines: every import
// in src/ is a static one of that form.)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module of src/ (path relative to src/) with the src/ modules it imports. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const path of files(SRC)) {
    const text = readFileSync(path, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gm)) {
      deps.push(relative(SRC, resolve(dirname(path), m[1]!.replace(/\.js$/, '.ts'))));
    }
    g.set(relative(SRC, path), deps);
  }
  return g;
}

/**
 * The layers, lowest first: the native socket and the error family, netlink
 * framing and transport, generic netlink, IPVS wire knowledge, the client,
 * what is built over the client, the command line.
 */
function layer(module: string): number {
  if (module === 'native.ts' || module === 'errors.ts') return 0;
  if (module.startsWith('netlink/')) return 1;
  if (module.startsWith('genetlink/')) return 2;
  if (module.startsWith('ipvs/')) return 3;
  if (['client.ts', 'batch.ts', 'listing.ts', 'staged.ts', 'options.ts'].includes(module)) return 4;
  if (module.startsWith('cli/')) return 6;
  return 5; // index.ts, doctor/, and the layers above the client
}

describe('layers of src/', () => {
  const g = graph();

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (m: string): void => {
      state.set(m, 'open');
      stack.push(m);
      for (const d of g.get(m) ?? []) {
        if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].join(' -> '));
        else if (!state.has(d)) visit(d);
      }
      stack.pop();
      state.set(m, 'done');
    };
    for (const m of g.keys()) if (!state.has(m)) visit(m);
    expect(cycles).toEqual([]);
  });

  it('has no layer importing one above it', () => {
    const upward: string[] = [];
    for (const [m, deps] of g) for (const d of deps) if (layer(d) > layer(m)) upward.push(`${m} -> ${d}`);
    expect(upward).toEqual([]);
  });

  it('keeps the transport free of IPVS (netlink/ and genetlink/ name no IPVS module)', () => {
    const text = [...g.keys()].filter((m) => layer(m) === 1 || layer(m) === 2).map((m) => readFileSync(join(SRC, m), 'utf8')).join('\n');
    expect(text).not.toMatch(/from '[^']*ipvs\//);
    expect(text).not.toMatch(/\bIPVS_|\bSvcAttr\b|\bDestAttr\b/);
  });

  it('has no file over 400 lines', () => {
    const long = [...g.keys()].map((m) => [m, readFileSync(join(SRC, m), 'utf8').split('\n').length] as const).filter(([, n]) => n > 400);
    expect(long).toEqual([]);
  });
});
