import { existsSync } from 'node:fs';
import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    shims: true,
    target: 'node20',
  },
  ...(existsSync('src/cli/main.ts')
    ? [
        {
          entry: { cli: 'src/cli/main.ts' },
          format: ['esm' as const],
          sourcemap: true,
          target: 'node20',
          banner: { js: '#!/usr/bin/env node' },
        },
      ]
    : []),
]);
