import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { committedDocumentPath } from './openapi-file.js';

interface LintReport {
  problems: { severity: string; ruleId: string; message: string }[];
}

// The snapshot test keeps the committed file equal to what the code generates.
it('passes `redocly lint` (recommended rules) with zero errors', async () => {
  const { stdout } = await promisify(execFile)(
    'pnpm',
    ['exec', 'redocly', 'lint', committedDocumentPath, '--format=json'],
    { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
  ).catch((error: unknown) => error as { stdout: string });
  const errors = (JSON.parse(stdout) as LintReport).problems.filter(
    ({ severity }) => severity === 'error',
  );
  expect(errors).toEqual([]);
}, 60_000);
