import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { ChangePosition, ChangeRecord } from './change-repository.js';
import { createDatabase, type Database } from './client.js';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

let database: TestDatabase;
let db: Database;
let ownerId: string;
let otherOwnerId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({
    url: database.url,
    poolSize: database.poolSize,
    preparedStatements: database.preparedStatements,
  });
  const createUser = (email: string) =>
    db.prisma.user.create({ data: { email, passwordHash: 'not a hash' }, select: { id: true } });
  ({ id: ownerId } = await createUser('owner@example.com'));
  ({ id: otherOwnerId } = await createUser('other@example.com'));
});
afterAll(async () => {
  await db.close();
  await database.drop();
});

/** Everything of `userId`'s feed after `from`, reading until nothing is final or held back. */
async function drain(userId: string, from: ChangePosition): Promise<ChangeRecord[]> {
  const seen: ChangeRecord[] = [];
  let position = from;
  for (;;) {
    const { changes, heldBack } = await db.changes.after(userId, position, 100);
    seen.push(...changes);
    position = changes.at(-1)?.position ?? position;
    if (changes.length === 0 && !heldBack) return seen;
  }
}

it('records each write with the task after it and the request that made it', async () => {
  const from = await db.changes.horizon();
  const quota = { maxOwned: 100 };
  const task = await db.tasks.create({ ownerId, title: 'Recorded' }, { ...quota, requestId: 'r1' });
  if (!task) throw new Error('not created');
  await db.tasks.updateOwned(task.id, ownerId, { status: 'done' }, { requestId: 'r2' });
  // A write that matches nothing records nothing.
  await db.tasks.updateOwned(task.id, otherOwnerId, { status: 'open' }, { requestId: 'r3' });
  await db.tasks.deleteOwned(task.id, ownerId, { requestId: 'r4' });

  const changes = await drain(ownerId, from);
  expect(
    changes.map(({ type, requestId, task: after }) => [type, requestId, after?.status]),
  ).toEqual([
    ['task.created', 'r1', 'open'],
    ['task.updated', 'r2', 'done'],
    ['task.deleted', 'r4', undefined],
  ]);
  expect(changes[1]?.task).toEqual({
    ...task,
    status: 'done',
    version: 2,
    updatedAt: expect.any(Date),
  });
  expect(await drain(otherOwnerId, from)).toEqual([]);
});

it('never lets a reader skip a change that commits after a later one', async (context) => {
  context.skip(
    inject('testDatabase').kind !== 'server',
    'PGlite runs one transaction at a time: commits cannot overtake each other there',
  );
  const from = await db.changes.horizon();
  const writers = 8;
  const transactionsEach = 15;
  const committed = new Set<string>();

  /** Transactions that hold their write a random while, so commits overtake each other. */
  async function writer(index: number) {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      for (let round = 0; round < transactionsEach; round += 1) {
        await client.query('BEGIN');
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO "Task" (id, "ownerId", title, "updatedAt")
           VALUES (gen_random_uuid(), $1, $2, now()) RETURNING id`,
          [ownerId, `writer ${index} round ${round}`],
        );
        await sleep(Math.random() * 15);
        // Every fifth is rolled back: it must leave no change behind.
        if (round % 5 === 4) {
          await client.query('ROLLBACK');
        } else {
          await client.query('COMMIT');
          committed.add(rows[0]?.id ?? '');
        }
      }
    } finally {
      await client.end();
    }
  }

  const seen: ChangeRecord[] = [];
  let position = from;
  const writing = { done: false };
  const reader = (async () => {
    while (!writing.done) {
      const { changes } = await db.changes.after(ownerId, position, 20);
      seen.push(...changes);
      position = changes.at(-1)?.position ?? position;
    }
  })();
  await Promise.all(Array.from({ length: writers }, (_, index) => writer(index)));
  writing.done = true;
  await reader;
  seen.push(...(await drain(ownerId, position)));

  const ids = seen.map(({ taskId }) => taskId);
  expect(new Set(ids).size).toBe(ids.length);
  expect(new Set(ids)).toEqual(committed);
  expect(committed.size).toBe(writers * transactionsEach * (4 / 5));
  // Positions only ever grow.
  for (const [index, change] of seen.entries()) {
    const previous = seen[index - 1]?.position;
    if (!previous) continue;
    const grows =
      change.position.transactionId > previous.transactionId ||
      (change.position.transactionId === previous.transactionId &&
        change.position.id > previous.id);
    expect(grows).toBe(true);
  }
});

it('forgets changes past retention, oldest first', async () => {
  await db.prisma.taskChange.updateMany({
    where: { userId: otherOwnerId },
    data: { occurredAt: new Date('2020-01-01T00:00:00Z') },
  });
  const task = await db.tasks.create({ ownerId: otherOwnerId, title: 'Old' }, { maxOwned: 100 });
  await db.prisma.taskChange.updateMany({
    where: { taskId: task?.id },
    data: { occurredAt: new Date('2020-01-01T00:00:00Z') },
  });
  expect(await db.changes.deleteOlderThan(new Date('2021-01-01T00:00:00Z'), 1_000)).toBe(1);
  expect(await db.prisma.taskChange.count({ where: { userId: otherOwnerId } })).toBe(0);
});
