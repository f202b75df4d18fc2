import { defineConfig } from 'vitest/config';

// `pnpm test:reliability`: tests that take minutes (the soak), kept out of `pnpm test`, whose
// projects only pick up `*.test.ts`. Files run one at a time so they do not load each other.
export default defineConfig({
  test: {
    include: ['{apps,packages}/*/test/**/*.reliability.ts'],
    globalSetup: ['packages/db/src/testing/global-setup.ts'],
    fileParallelism: false,
    hookTimeout: 120_000,
  },
});
