import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnServer } from './spawn-server.js';

/** The README's first command path: no DATABASE_URL, so the server brings its own PostgreSQL. */
async function startWithoutDatabaseUrl(dataDir: string) {
  return spawnServer({
    DATABASE_URL: undefined,
    NODE_ENV: undefined,
    EMBEDDED_DB_DIR: dataDir,
    EMBEDDED_DB_PORT: String(await freePort()),
    BCRYPT_COST: '4',
    LOG_LEVEL: 'warn',
  });
}

const json = (body: unknown, token?: string) => ({
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    ...(token && { authorization: `Bearer ${token}` }),
  },
  body: JSON.stringify(body),
});

let dataDir: string | undefined;
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('zero-setup development server', () => {
  it(
    'starts its embedded PostgreSQL, migrates, serves REST, and keeps data across restarts',
    { timeout: 180_000 },
    async () => {
      dataDir = await mkdtemp(path.join(tmpdir(), 'tasks-dev-'));
      const first = await startWithoutDatabaseUrl(path.join(dataDir, 'pglite'));
      expect(first.output()).toContain('JWT_SECRET is not set');

      const credentials = { email: 'newcomer@example.com', password: 'correct horse battery' };
      expect((await fetch(`${first.baseUrl}/auth/register`, json(credentials))).status).toBe(201);
      const { accessToken } = (await (
        await fetch(`${first.baseUrl}/auth/login`, json(credentials))
      ).json()) as { accessToken: string };
      const created = await fetch(
        `${first.baseUrl}/tasks`,
        json({ title: 'First task' }, accessToken),
      );
      expect(created.status).toBe(201);
      const location = created.headers.get('location') ?? '';
      const read = await fetch(`${first.baseUrl}${location}`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(await read.json()).toMatchObject({ title: 'First task' });
      expect(await first.stop()).toBe(0);

      const second = await startWithoutDatabaseUrl(path.join(dataDir, 'pglite'));
      const again = await fetch(`${second.baseUrl}${location}`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(await again.json()).toMatchObject({ title: 'First task' });
      expect(await second.stop()).toBe(0);
    },
  );

  it(
    'lets a production process share the database a development server serves',
    { timeout: 180_000 },
    async () => {
      const trialDir = await mkdtemp(path.join(tmpdir(), 'tasks-trial-'));
      const development = await startWithoutDatabaseUrl(path.join(trialDir, 'pglite'));
      const production = await spawnServer({
        NODE_ENV: 'production',
        DATABASE_URL: await embeddedDatabaseUrl(path.join(trialDir, 'pglite')),
        JWT_SECRET: 'trial-secret-that-is-long-enough-0123456789',
        BCRYPT_COST: '4',
        LOG_LEVEL: 'warn',
      });
      try {
        expect(production.output()).toContain('embedded PostgreSQL');
        const credentials = { email: 'trial@example.com', password: 'correct horse battery' };
        await fetch(`${development.baseUrl}/auth/register`, json(credentials));
        const { accessToken } = (await (
          await fetch(`${production.baseUrl}/auth/login`, json(credentials))
        ).json()) as { accessToken: string };
        const headers = { authorization: `Bearer ${accessToken}` };
        for (const title of ['One', 'Two', 'Three']) {
          const created = await fetch(`${production.baseUrl}/tasks`, json({ title }, accessToken));
          expect(created.status).toBe(201);
        }
        // Concurrent lists of every shape spread over the pool: each must be answered.
        const listings = await Promise.all(
          ['createdAt', 'updatedAt', 'title'].flatMap((sort) =>
            ['asc', 'desc', 'asc', 'desc'].map((order) =>
              fetch(`${production.baseUrl}/tasks?sort=${sort}&order=${order}`, { headers }),
            ),
          ),
        );
        expect(listings.map((response) => response.status)).toEqual(listings.map(() => 200));
        expect((await fetch(`${production.baseUrl}/ready`)).status).toBe(200);
      } finally {
        await production.stop();
        await development.stop();
        await rm(trialDir, { recursive: true, force: true });
      }
    },
  );
});

/** The address a development server wrote next to its data directory. */
async function embeddedDatabaseUrl(dataDir: string): Promise<string> {
  const info = JSON.parse(await readFile(`${dataDir}.server.json`, 'utf8')) as { url: string };
  return info.url;
}
