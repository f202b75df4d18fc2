/**
 * docker-compose.yml is validated by Compose itself (no engine needed): Debian's
 * `docker-compose` 1.29, which .ci/run installs. Elsewhere those tests are skipped and say so.
 * What its Prometheus scrapes is read from the files themselves.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

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
      'jaeger',
      'mailpit',
      'migrate',
      'prometheus',
      'redis',
      'studio',
      'worker',
    ]);
    const profiles = compose(['config', '--profiles'], env);
    expect(profiles.output.trim().split('\n').sort()).toEqual(['observability', 'tools']);
  });

  it('sends the traces of the api and the workers to Jaeger only when told to', (context) => {
    context.skip(composeMissing !== undefined, composeMissing);
    const env = { JWT_SECRET: 'compose-test-secret-0123456789-abcdefghij' };
    const endpoints = (endpoint: string | undefined) => {
      const { output } = compose(['--profile', 'observability', 'config'], {
        ...env,
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      });
      const { services } = parse(output) as {
        services: Record<string, { environment?: Record<string, string> }>;
      };
      return ['api', 'worker'].map(
        (name) => services[name]?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT,
      );
    };
    // Empty is unset to the server (and to OpenTelemetry): no tracing.
    expect(endpoints(undefined)).toEqual(['', '']);
    expect(endpoints('http://jaeger:4318')).toEqual(['http://jaeger:4318', 'http://jaeger:4318']);
  });

  it('refuses to start without JWT_SECRET, naming it', (context) => {
    context.skip(composeMissing !== undefined, composeMissing);
    const { status, output } = compose(['config', '-q'], { JWT_SECRET: undefined });
    expect(status).not.toBe(0);
    expect(output).toContain('set JWT_SECRET');
  });

  it('has Prometheus scrape every api and worker where they serve metrics, unpublished', () => {
    interface Service {
      environment?: Record<string, string>;
      ports?: string[];
      volumes?: string[];
    }
    const { services } = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, Service>;
    };
    const mount = services.prometheus?.volumes?.find((volume) =>
      volume.endsWith(':/etc/prometheus/prometheus.yml:ro'),
    );
    expect(mount).toBeDefined();
    const config = parse(
      readFileSync(path.join(repoRoot, String(mount?.split(':')[0])), 'utf8'),
    ) as {
      scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    for (const name of ['api', 'worker']) {
      const port = Number(services[name]?.environment?.METRICS_PORT);
      expect(port, name).toBeGreaterThan(0);
      expect(services[name]?.ports?.join() ?? '', name).not.toContain(String(port));
      const job = config.scrape_configs.find(({ job_name }) => job_name === name);
      // Every container of the service (`--scale worker=3`), not one address.
      expect(job?.dns_sd_configs).toEqual([expect.objectContaining({ names: [name], port })]);
    }
  });
});
