/**
 * The API is stateless: two instances on different ports, one PostgreSQL and one Redis, serve
 * the same users, honour each other's tokens and revocations, and share rate-limit budgets.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, describeWhere, type TestDatabase } from '@tasks/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnServer, type SpawnedServer } from './spawn-server.js';

const redisUrl = process.env.REDIS_URL;
const redisMissing = redisUrl
  ? undefined
  : 'REDIS_URL is not set (a Redis on 127.0.0.1:6379: REDIS_URL=redis://127.0.0.1:6379)';
const sessionCacheMs = 500;

describeWhere(redisMissing, 'two instances behind one database and one Redis (REDIS_URL)', () => {
  let database: TestDatabase;
  let a: SpawnedServer;
  let b: SpawnedServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    const shared = {
      ...database.serverEnv,
      REDIS_URL: redisUrl,
      RATE_LIMIT_REDIS_PREFIX: `tasks-test:scale-out-${randomUUID()}:`,
      AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '3',
      JWT_SECRET: 'scale-out-secret-that-is-long-enough-000',
      BCRYPT_COST: '4',
      LOG_LEVEL: 'warn',
      SESSION_CACHE_MS: String(sessionCacheMs),
    };
    [a, b] = await Promise.all([spawnServer(shared), spawnServer(shared)]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
    await database.drop();
  });

  const call = (
    server: SpawnedServer,
    route: string,
    init: { body?: unknown; token?: string; method?: string } = {},
  ) =>
    fetch(`${server.baseUrl}${route}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.body !== undefined && { 'content-type': 'application/json' }),
        ...(init.token && { authorization: `Bearer ${init.token}` }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });

  it('serves one set of users: a token or a task from one instance works on the other', async () => {
    const credentials = { email: 'roaming@example.com', password: 'correct horse battery' };
    expect((await call(a, '/auth/register', { body: credentials })).status).toBe(201);
    const { accessToken, refreshToken } = (await (
      await call(b, '/auth/login', { body: credentials })
    ).json()) as {
      accessToken: string;
      refreshToken: string;
    };
    expect((await call(a, '/auth/me', { token: accessToken })).status).toBe(200);

    const created = await call(a, '/tasks', { body: { title: 'made on A' }, token: accessToken });
    const location = created.headers.get('location') ?? '';
    expect(await (await call(b, location, { token: accessToken })).json()).toMatchObject({
      title: 'made on A',
    });

    // A logout on B ends the session on B at once, and on A once A's trust in its last check
    // (SESSION_CACHE_MS) runs out. A last checked before the logout, so from SESSION_CACHE_MS
    // after it (on the clock both instances read) A must ask the database again and refuse on
    // its first answer. The wait only sets that up: a slow machine lengthens it, never fails it.
    expect((await call(b, '/auth/logout', { body: { refreshToken } })).status).toBe(204);
    const trustRunsOut = Date.now() + sessionCacheMs;
    expect((await call(b, '/auth/me', { token: accessToken })).status).toBe(401);
    while (Date.now() < trustRunsOut) await sleep(trustRunsOut - Date.now());
    expect((await call(a, '/auth/me', { token: accessToken })).status).toBe(401);
  });

  it('shares rate-limit budgets: attempts on A count on B', async () => {
    const target = { email: 'targeted@example.com', password: 'wrong password' };
    const attempts = [a, b, a].map((server) => call(server, '/auth/login', { body: target }));
    expect((await Promise.all(attempts)).map((response) => response.status)).toEqual([
      401, 401, 401,
    ]);
    const fourth = await call(b, '/auth/login', { body: target });
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});
