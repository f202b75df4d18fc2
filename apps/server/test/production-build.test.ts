/**
 * The production path: `pnpm build` output run by plain `node` with NODE_ENV=production, as
 * `pnpm start` and the image run it (no tsx, no embedded database, no development defaults).
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { runToExit, spawnProcess, spawnServer } from './spawn-server.js';
import { startWebhookReceiver } from './webhook-receiver.js';

const serverDir = fileURLToPath(new URL('..', import.meta.url));
const migrationsDir = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url));
const jwtSecret = 'production-test-secret-0123456789-abcdefghij';

/** REDIS_URL would share rate-limit counters with other test files running at the same time. */
const isolated = (env: Record<string, string | undefined>) => ({ REDIS_URL: undefined, ...env });

/** `node <script>` from the build, to completion. */
const runBuilt = (args: string[], env: Record<string, string | undefined>) =>
  runToExit(args, isolated(env));

/** What `pnpm start` and the image run before an entry point: tracing, when configured. */
const tracingFirst = ['--import', './dist/tracing.js'];

/** `node dist/server.js` on a free port, once `/ready` answers 200. */
const startBuiltServer = (env: Record<string, string | undefined>) =>
  spawnServer(isolated(env), { args: [...tracingFirst, 'dist/server.js'], readyWithinMs: 30_000 });

const postJson = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const databases: TestDatabase[] = [];
async function database(options?: { migrated: boolean }): Promise<TestDatabase> {
  const created = await createTestDatabase(options);
  databases.push(created);
  return created;
}

beforeAll(async () => {
  // The real build, once per run: what `pnpm build` runs in apps/server.
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'build.ts'], { cwd: serverDir });
}, 120_000);

afterAll(async () => {
  await Promise.all(databases.map((created) => created.drop()));
});

describe('production build', () => {
  it('serves /ready, register and login from dist/server.js', async () => {
    const { serverEnv } = await database();
    const server = await startBuiltServer({
      NODE_ENV: 'production',
      ...serverEnv,
      JWT_SECRET: jwtSecret,
      BCRYPT_COST: '4',
      LOG_LEVEL: 'warn',
      MIGRATE_ON_START: undefined,
    });
    try {
      const credentials = { email: 'prod@example.com', password: 'correct horse battery' };
      const registered = await fetch(`${server.baseUrl}/auth/register`, postJson(credentials));
      expect(registered.status).toBe(201);
      const login = await fetch(`${server.baseUrl}/auth/login`, postJson(credentials));
      expect(login.status).toBe(200);
      const { accessToken } = (await login.json()) as { accessToken: string };
      const tasks = await fetch(`${server.baseUrl}/tasks`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(await tasks.json()).toMatchObject({ items: [] });
      expect(server.output()).not.toContain('JWT_SECRET is not set');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('refuses to start in production without JWT_SECRET', async () => {
    const { code, output } = await runBuilt(['dist/server.js'], {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/never-used',
      JWT_SECRET: undefined,
    });
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration');
    expect(output).toContain('JWT_SECRET: is required in production');
  });

  it('applies every migration to an empty database with dist/migrate.js', async () => {
    const { url } = await database({ migrated: false });
    const folders = (await readdir(migrationsDir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();

    const deploy = await runBuilt(['dist/migrate.js'], {
      NODE_ENV: 'production',
      DATABASE_URL: url,
    });
    expect(deploy).toEqual({ code: 0, output: `Applied: ${folders.join(', ')}\n` });
    const status = await runBuilt(['dist/migrate.js', 'status'], {
      NODE_ENV: 'production',
      DATABASE_URL: url,
    });
    expect(status.code).toBe(0);
    expect(status.output).toContain('pending: -');
  });

  it('runs the jobs in dist/worker.js beside an API that does not (JOBS_IN_API=false)', async () => {
    const { serverEnv } = await database();
    const env = {
      NODE_ENV: 'production',
      ...serverEnv,
      JWT_SECRET: jwtSecret,
      BCRYPT_COST: '4',
      LOG_LEVEL: 'info',
      WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    };
    const receiver = await startWebhookReceiver();
    const api = await startBuiltServer({ ...env, JOBS_IN_API: 'false' });
    const worker = spawnProcess([...tracingFirst, 'dist/worker.js'], isolated(env));
    try {
      const credentials = { email: 'worker@example.com', password: 'correct horse battery' };
      await fetch(`${api.baseUrl}/auth/register`, postJson(credentials));
      const login = await fetch(`${api.baseUrl}/auth/login`, postJson(credentials));
      const { accessToken } = (await login.json()) as { accessToken: string };
      const authorized = (body: unknown) => {
        const init = postJson(body);
        return { ...init, headers: { ...init.headers, authorization: `Bearer ${accessToken}` } };
      };
      expect(
        (await fetch(`${api.baseUrl}/webhooks`, authorized({ url: receiver.url }))).status,
      ).toBe(201);
      expect(
        (await fetch(`${api.baseUrl}/tasks`, authorized({ title: 'Via the worker' }))).status,
      ).toBe(201);
      await receiver.waitFor(1);
      expect(receiver.delivery(0).json).toMatchObject({ type: 'task.created' });
      // graphile-worker's own lines carry the component: only the worker process has any.
      expect(api.output()).not.toContain('"component":"jobs"');
      expect(worker.output()).toContain('"component":"jobs"');
    } finally {
      const code = await worker.stop();
      await api.stop();
      await receiver.close();
      expect(code).toBe(0);
      expect(worker.output()).toContain('stopping workers');
    }
  });

  it('exports traces from dist/server.js, SQL spans included, to an OTLP endpoint', async () => {
    const { serverEnv } = await database();
    const receiver = await startOtlpReceiver();
    const server = await startBuiltServer({
      NODE_ENV: 'production',
      ...serverEnv,
      JWT_SECRET: jwtSecret,
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    try {
      const credentials = { email: 'traced@example.com', password: 'correct horse battery' };
      expect((await fetch(`${server.baseUrl}/auth/register`, postJson(credentials))).status).toBe(
        201,
      );
      const registerTrace = (received: ReceivedSpan[]) => {
        const register = received.find((span) => span.name === 'auth.register');
        return received.filter((span) => span.traceId === register?.traceId);
      };
      // `pg` stays outside the bundle, where the instrumentation patches it as it is loaded.
      const spans = await receiver.waitFor((received) =>
        registerTrace(received).some((span) => span.name.startsWith('pg.query')),
      );
      expect(registerTrace(spans).map((span) => span.name)).toContain('POST /auth/register');
    } finally {
      await server.stop();
      await receiver.close();
    }
  });

  it('refuses to migrate in production without DATABASE_URL', async () => {
    const { code, output } = await runBuilt(['dist/migrate.js'], {
      NODE_ENV: 'production',
      DATABASE_URL: undefined,
    });
    expect(code).toBe(1);
    // Reported like every other configuration problem, by the one loader all entry points share.
    expect(output).toContain('DATABASE_URL: is required in production');
  });
});
