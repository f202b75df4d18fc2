import { existsSync } from 'node:fs';
import { describe, it } from 'vitest';

/**
 * `describe(name, suite)` where this machine has what the suite needs; else, in its place, one
 * skipped test whose note says what is missing (its hooks never run). The skip reporter lists
 * every note, and `.ci/run` fails on any skip.
 */
export function describeWhere(missing: string | undefined, name: string, suite: () => void): void {
  if (missing === undefined) {
    describe(name, suite);
    return;
  }
  describe(name, () => {
    it('cannot run on this machine', (context) => {
      context.skip(missing);
    });
  });
}

/** Why the browser tests cannot run here, if they cannot. */
export function chromiumMissing(executable: string): string | undefined {
  return existsSync(executable)
    ? undefined
    : `no Chromium at ${executable} (apt-get install -y chromium, as .ci/run does, or set CHROMIUM_PATH)`;
}
