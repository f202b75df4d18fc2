import { defineProject } from 'vitest/config';

// Only the browser test runs under vitest: the app itself runs in the browser it drives.
export default defineProject({
  test: {
    name: 'web',
    include: ['test/**/*.test.ts'],
    globalSetup: ['../../packages/db/src/testing/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
