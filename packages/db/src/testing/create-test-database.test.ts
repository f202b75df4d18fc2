import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatabaseClient } from '../client.js';
import { getMigrationStatus } from '../migrations.js';
import { withClient } from '../with-client.js';
import { createTestDatabase, type TestDatabase } from './index.js';

let first: TestDatabase;
let second: TestDatabase;

beforeAll(async () => {
  [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
});

afterAll(async () => {
  await Promise.all([first.drop(), second.drop()]);
});

it('gives each caller its own migrated database', async () => {
  expect(first.url).not.toBe(second.url);
  for (const { url } of [first, second]) {
    expect(await getMigrationStatus({ url })).toMatchObject({ pending: [], failed: [] });
  }

  const prisma = createDatabaseClient({ url: first.url, poolSize: 2 });
  try {
    await prisma.user.create({ data: { email: 'ada@example.com', passwordHash: 'x' } });
    expect(await prisma.user.count()).toBe(1);
  } finally {
    await prisma.$disconnect();
  }
  const { rows } = await withClient(second.url, (client) => client.query('SELECT * FROM "User"'));
  expect(rows).toEqual([]);
});
