import { defineConfig } from 'vitest/config';

// Two projects:
//   unit   - pure tests, run anywhere: `vitest run --project unit`
//   kernel - need root and a kernel with IPVS; scripts/test.sh runs them on
//            the host when it can, else in a user-mode-linux guest
//            (test/uml/run.sh), which has one CPU: one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'kernel',
          include: ['test/kernel/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
