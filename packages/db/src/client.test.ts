import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createDatabase,
  createDatabaseClient,
  DatabaseBusyError,
  isConnectionFailure,
} from './client.js';
import { startEmbeddedPostgres } from './embedded.js';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

it('refuses a query at once when every connection is busy and no more may wait', async () => {
  // None may wait: a query that finds the only connection busy is refused.
  const db = createDatabaseClient({ url: database.url, poolSize: 1, maxWaiting: 0 });
  try {
    let holding: () => void = () => undefined;
    const connectionHeld = new Promise<void>((resolve) => {
      holding = resolve;
    });
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    // An open transaction keeps the only connection busy until `finish()`.
    const transaction = db.$transaction(async (tx) => {
      await tx.user.count();
      holding();
      await finished;
    });
    await connectionHeld;

    const refused = await db.user.count().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(DatabaseBusyError);
    expect(isConnectionFailure(refused)).toBe(true);

    finish();
    await transaction;
    expect(await db.user.count()).toBe(0);
  } finally {
    await db.$disconnect();
  }
});

it('tells failures of the connection from failures of the query', () => {
  expect(isConnectionFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
  expect(isConnectionFailure(new Error('Query read timeout'))).toBe(true);
  expect(isConnectionFailure(new Error('duplicate key value violates unique constraint'))).toBe(
    false,
  );
  expect(isConnectionFailure('Query read timeout')).toBe(false);
});

it('pings the way the repositories query, so a database that cannot serve them is unready', async () => {
  // Two processes preparing statements on one PGlite session: the second one's names collide.
  const embedded = await startEmbeddedPostgres();
  const first = createDatabase({ url: embedded.url, poolSize: 1 });
  const second = createDatabase({ url: embedded.url, poolSize: 1 });
  const unprepared = createDatabase({ url: embedded.url, poolSize: 1, preparedStatements: false });
  try {
    await first.ping();
    await expect(second.ping()).rejects.toThrow(/already exists/);
    await unprepared.ping();
  } finally {
    await Promise.all([first.close(), second.close(), unprepared.close()]);
    await embedded.stop();
  }
});
