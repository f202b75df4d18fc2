/** `pnpm db:seed`: the demo account and its tasks, idempotent, usable through the real API. */
import { createDatabaseClient, type PrismaClient } from '@tasks/db';
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { runToExit } from './spawn-server.js';

let database: TestDatabase;
let db: PrismaClient;
beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabaseClient({ url: database.url, poolSize: database.poolSize });
});
afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

/** The CLI as `pnpm db:seed` runs it, against the test database. */
const seed = () =>
  runToExit(['--import', 'tsx', 'src/cli/seed.ts'], {
    ...database.serverEnv,
    BCRYPT_COST: '4',
    SEED_PASSWORD: undefined,
  });

/** Everything the seed writes, in a comparable form. */
async function snapshot() {
  return {
    users: await db.user.findMany({ orderBy: { id: 'asc' } }),
    tasks: await db.task.findMany({ orderBy: { id: 'asc' } }),
    sessions: await db.session.count(),
  };
}

describe('db:seed', () => {
  it('creates the demo account and its tasks once; a second run changes nothing', async () => {
    const first = await seed();
    expect(first.code).toBe(0);
    expect(first.output).toContain('Created demo@example.com with password demo-password-123');
    expect(first.output).toContain('Tasks: 40 created, 0 already present');
    const afterFirst = await snapshot();
    expect(afterFirst.users).toHaveLength(1);
    expect(afterFirst.tasks).toHaveLength(40);

    const second = await seed();
    expect(second.code).toBe(0);
    expect(second.output).toContain('demo@example.com already exists');
    expect(second.output).toContain('Tasks: 0 created, 40 already present');
    expect(await snapshot()).toEqual(afterFirst);
  });

  it('lets the demo user sign in and list varied tasks through the API', async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      ...database.serverEnv,
    });
    const app = await buildApp({ ...config, databaseUrl: database.url });
    try {
      const login = await app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: 'demo@example.com', password: 'demo-password-123' },
      });
      expect(login.statusCode).toBe(200);
      const { accessToken } = login.json<{ accessToken: string }>();
      const list = await app.inject({
        url: '/tasks?limit=100',
        headers: { authorization: `Bearer ${accessToken}` },
      });
      const { items } = list.json<{ items: { status: string; createdAt: string }[] }>();
      expect(items).toHaveLength(40);
      expect(new Set(items.map((task) => task.status))).toEqual(
        new Set(['open', 'in_progress', 'done']),
      );
      const created = items.map((task) => Date.parse(task.createdAt));
      const spreadDays = (Math.max(...created) - Math.min(...created)) / 86_400_000;
      expect(spreadDays).toBeGreaterThan(28);
    } finally {
      await app.close();
    }
  });
});
