/**
 * docker-compose.yml is validated by Compose itself (no engine needed): Debian's
 * `docker-compose` 1.29, which .ci/run installs. Elsewhere the test is skipped and says so.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const composeMissing =
  spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status !== 0
    ? 'docker-compose is not installed (apt-get install -y docker-compose; .ci/run does)'
    : undefined;

// An empty env file instead of a developer's `.env`, so only what a test passes counts.
const scratch = mkdtempSync(path.join(tmpdir(), 'tasks-compose-'));
const emptyEnvFile = path.join(scratch, 'empty.env');
writeFileSync(emptyEnvFile, '');
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function compose(args: string[], env: Record<string, string | undefined>) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [name, value] of Object.entries(childEnv)) {
    if (value === undefined) Reflect.deleteProperty(childEnv, name);
  }
  const result = spawnSync('docker-compose', ['--env-file', emptyEnvFile, ...args], {
    cwd: repoRoot,
    env: childEnv,
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('docker-compose.yml', () => {
  it('is valid and defines the stack', (context) => {
    context.skip(composeMissing !== undefined, composeMissing);
    const env = { JWT_SECRET: 'compose-test-secret-0123456789-abcdefghij' };
    expect(compose(['config', '-q'], env)).toEqual({ status: 0, output: '' });
    const services = compose(['--profile', 'tools', 'config', '--services'], env);
    expect(services.output.trim().split('\n').sort()).toEqual([
      'api',
      'db',
      'mailpit',
      'migrate',
      'redis',
      'studio',
      'worker',
    ]);
  });

  it('refuses to start without JWT_SECRET, naming it', (context) => {
    context.skip(composeMissing !== undefined, composeMissing);
    const { status, output } = compose(['config', '-q'], { JWT_SECRET: undefined });
    expect(status).not.toBe(0);
    expect(output).toContain('set JWT_SECRET');
  });
});
