import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Lists every skipped test with its reason after a run (the default reporter counts them only).
 * With FAIL_ON_SKIPPED_TESTS=true, as `.ci/run` sets it, a skip fails the run: there, everything
 * a test needs is installed, so a skip means a check silently went missing.
 */
export default class SkipReasons implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    const skipped: string[] = [];
    for (const testModule of testModules) {
      const file = path.relative(process.cwd(), testModule.moduleId);
      for (const test of testModule.children.allTests()) {
        const result = test.result();
        if (result.state !== 'skipped') continue;
        skipped.push(`  ${file} > ${test.fullName}: ${result.note ?? 'no reason given'}`);
      }
    }
    if (skipped.length === 0) return;
    console.log(`\n${skipped.length} skipped test(s), and why:\n${skipped.join('\n')}\n`);
    if (process.env.FAIL_ON_SKIPPED_TESTS === 'true') {
      console.error('FAIL_ON_SKIPPED_TESTS=true: every test must run here.');
      process.exitCode = 1;
    }
  }
}
