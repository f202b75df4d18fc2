import { applyMigrations } from '@tasks/db';
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { closeGracefully } from '../src/graceful-close.js';
import { testEnv } from './harness.js';

let database: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
  const config = loadConfig({ ...testEnv, ...database.serverEnv });
  app = await buildApp({ ...config, databaseUrl: database.url });
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

describe('/ready', () => {
  it('is 503 while migrations are pending, 200 once applied, and /health never cares', async () => {
    const pending = await app.inject('/ready');
    expect(pending.statusCode).toBe(503);
    expect(pending.json()).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      detail: expect.stringContaining('Migrations not applied'),
    });
    expect((await app.inject('/health')).statusCode).toBe(200);

    await applyMigrations({ url: database.url });
    expect((await app.inject('/ready')).statusCode).toBe(200);
  });

  it('is 503 as soon as shutdown starts draining', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const closing = closeGracefully(app, { drainMs: 200 });
    const during = await app.inject('/ready');
    expect(during.statusCode).toBe(503);
    expect(during.json()).toMatchObject({ detail: 'The server is shutting down' });
    await closing;
  });
});
