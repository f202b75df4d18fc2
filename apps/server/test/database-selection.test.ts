/**
 * `pnpm dev`, `pnpm db:migrate`, `pnpm db:seed` and `pnpm db:studio` read one configuration, so
 * they use one database: DATABASE_URL from the environment or from a `.env` file, else the
 * embedded development database in EMBEDDED_DB_DIR. For each way of saying it: the migration CLI
 * brings an empty database up to date, the seed (which refuses pending migrations) fills it, the
 * server (told not to migrate) signs the demo user in from it, and Studio names it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createTestDatabase } from '@tasks/db/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { childEnv, freePort, runToExit, spawnServer } from './spawn-server.js';

interface Mode {
  name: string;
  /** The child processes' environment, and the host, port and name the database's URL has. */
  arrange: (workDir: string) => Promise<{ env: Record<string, string | undefined>; url: string }>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Nothing of the test runner's own database settings may leak into the children. */
const isolated = {
  DATABASE_URL: undefined,
  DB_POOL_SIZE: undefined,
  DB_PREPARED_STATEMENTS: undefined,
  EMBEDDED_DB_DIR: undefined,
  EMBEDDED_DB_PORT: undefined,
  ENV_FILE: undefined,
  REDIS_URL: undefined,
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  BCRYPT_COST: '4',
  SEED_PASSWORD: undefined,
};

async function emptyDatabase() {
  const database = await createTestDatabase({ migrated: false });
  cleanups.push(() => database.drop());
  const { host, pathname } = new URL(database.url);
  return { serverEnv: database.serverEnv, url: `${host}${pathname}` };
}

const modes: Mode[] = [
  {
    name: 'DATABASE_URL in the environment',
    async arrange(workDir) {
      const database = await emptyDatabase();
      return { env: { ...database.serverEnv, INIT_CWD: workDir }, url: database.url };
    },
  },
  {
    name: 'DATABASE_URL in the .env file where pnpm was started',
    async arrange(workDir) {
      const database = await emptyDatabase();
      const lines = Object.entries(database.serverEnv).map(([name, value]) => `${name}=${value}`);
      await writeFile(path.join(workDir, '.env'), `${lines.join('\n')}\n`);
      return { env: { INIT_CWD: workDir }, url: database.url };
    },
  },
  {
    name: 'the embedded database in EMBEDDED_DB_DIR',
    async arrange(workDir) {
      const port = String(await freePort());
      return {
        env: {
          INIT_CWD: workDir,
          EMBEDDED_DB_DIR: path.join(workDir, 'pglite'),
          EMBEDDED_DB_PORT: port,
        },
        url: `127.0.0.1:${port}/`,
      };
    },
  },
];

const cli = (script: string, args: string[], env: Record<string, string | undefined>) =>
  runToExit(['--import', 'tsx', `src/cli/${script}.ts`, ...args], env);

/** Starts Studio's CLI and resolves with the line naming its database, then stops it. */
async function studioDatabaseLine(env: Record<string, string | undefined>): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/studio.ts'], {
    cwd: path.join(import.meta.dirname, '..'),
    env: childEnv({ ...env, STUDIO_PORT: String(await freePort()) }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    return await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const line = /Prisma Studio on .*/.exec(output)?.[0];
        if (line) resolve(line);
      });
      child.once('exit', () => {
        reject(new Error(`studio exited before naming its database:\n${output}`));
      });
    });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe('every entry point uses the configured database', () => {
  it.each(modes)('$name', { timeout: 180_000 }, async ({ arrange }) => {
    const workDir = await mkdtemp(path.join(tmpdir(), 'tasks-database-selection-'));
    cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    const { env: modeEnv, url } = await arrange(workDir);
    const env = { ...isolated, ...modeEnv };

    const migrated = await cli('migrate', [], env);
    expect(migrated.output).toContain('Applied:');
    expect(migrated.code).toBe(0);
    expect((await cli('migrate', ['status'], env)).code).toBe(0);

    const seeded = await cli('seed', [], env);
    expect(seeded.output).toContain('Created demo@example.com');
    expect(seeded.code).toBe(0);

    const server = await spawnServer({ ...env, MIGRATE_ON_START: 'false' });
    try {
      const login = await fetch(`${server.baseUrl}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'demo@example.com', password: 'demo-password-123' }),
      });
      expect(login.status).toBe(200);
      expect(await studioDatabaseLine(env)).toContain(url);
    } finally {
      await server.stop();
    }
  });
});
