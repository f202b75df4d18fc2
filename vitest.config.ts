import { defineConfig } from 'vitest/config';

// One run over every package; each package's own vitest.config.ts names its project.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
    // The second lists each skipped test with its reason (and fails CI on one).
    reporters: ['default', './packages/db/src/testing/skip-reporter.ts'],
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**/*.ts', 'apps/*/src/**/*.ts'],
      // Entry points run in child processes (the zero-setup test spawns server.ts), where v8
      // coverage does not reach; package barrels only re-export.
      exclude: [
        '**/generated/**',
        '**/*.test.ts',
        '**/cli/**',
        '**/testing/**',
        'apps/server/src/server.ts',
        // Browser code: exercised by the end-to-end test in Chromium, out of reach of v8 in Node.
        'apps/web/**',
        'packages/*/src/index.ts',
      ],
      thresholds: {
        lines: 85,
        branches: 70,
        'packages/api/src/**': { lines: 90, branches: 75 },
      },
      reporter: ['text-summary', 'text'],
    },
  },
});
