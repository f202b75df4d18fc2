/**
 * The production path: `pnpm build` output run by plain `node` with NODE_ENV=production, as
 * `pnpm start` and the image run it (no tsx, no embedded database, no development defaults).
 */
import { execFile, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './spawn-server.js';

const serverDir = fileURLToPath(new URL('..', import.meta.url));
const migrationsDir = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url));
const jwtSecret = 'production-test-secret-0123456789-abcdefghij';

interface Exited {
  code: number | null;
  output: string;
}

/** This process's environment with `env` applied; `undefined` removes a variable. */
function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  // REDIS_URL would share rate-limit counters with other test files running at the same time.
  const merged: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: undefined, ...env };
  for (const [name, value] of Object.entries(merged)) {
    if (value === undefined) Reflect.deleteProperty(merged, name);
  }
  return merged;
}

/** Runs `node <script> ...args` from apps/server to completion. */
function runToExit(args: string[], env: Record<string, string | undefined>): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: serverDir, env: childEnv(env) });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      resolve({ code, output });
    });
  });
}

/** `node dist/server.js` on a free port, once `/ready` answers 200. */
async function startBuiltServer(env: Record<string, string | undefined>) {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: serverDir,
    env: childEnv({ ...env, HOST: '127.0.0.1', PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`server exited with ${child.exitCode}:\n${output}`);
    const status = await fetch(`${baseUrl}/ready`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server never became ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    baseUrl,
    output: () => output,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

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
    const { url, poolSize } = await database();
    const server = await startBuiltServer({
      NODE_ENV: 'production',
      DATABASE_URL: url,
      DB_POOL_SIZE: String(poolSize),
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
    const { code, output } = await runToExit(['dist/server.js'], {
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

    const deploy = await runToExit(['dist/migrate.js'], {
      NODE_ENV: 'production',
      DATABASE_URL: url,
    });
    expect(deploy).toEqual({ code: 0, output: `Applied: ${folders.join(', ')}\n` });
    const status = await runToExit(['dist/migrate.js', 'status'], {
      NODE_ENV: 'production',
      DATABASE_URL: url,
    });
    expect(status.code).toBe(0);
    expect(status.output).toContain('pending: -');
  });

  it('refuses to migrate in production without DATABASE_URL', async () => {
    const { code, output } = await runToExit(['dist/migrate.js'], {
      NODE_ENV: 'production',
      DATABASE_URL: undefined,
    });
    expect(code).toBe(1);
    expect(output).toContain('DATABASE_URL is required in production');
  });
});
