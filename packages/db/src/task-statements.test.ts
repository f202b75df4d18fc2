import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from './client.js';
import { taskRecordSelect, type TaskChanges } from './task-statements.js';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

// Each statement is held to what Prisma reads and writes for the same task, so a schema change
// that these statements miss fails here rather than in a response.

let database: TestDatabase;
let db: Database;
let ownerId: string;
let otherOwnerId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ url: database.url, poolSize: database.poolSize });
  const createUser = (email: string) =>
    db.prisma.user.create({ data: { email, passwordHash: 'not a hash' }, select: { id: true } });
  ({ id: ownerId } = await createUser('owner@example.com'));
  ({ id: otherOwnerId } = await createUser('other@example.com'));
});
afterAll(async () => {
  await db.prisma.$disconnect();
  await database.drop();
});

const readWithPrisma = (id: string) =>
  db.prisma.task.findUniqueOrThrow({ where: { id }, select: taskRecordSelect });

describe('TaskStatements', () => {
  it('creates what Prisma reads back, with the schema defaults and a version 7 id', async () => {
    const created = await db.tasks.create({ ownerId, title: 'Write the report' });
    expect(created).toEqual(await readWithPrisma(created.id));
    expect(created).toMatchObject({ description: null, status: 'open', version: 1 });
    expect(created.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(created.updatedAt).toEqual(created.createdAt);

    const detailed = await db.tasks.create({
      ownerId,
      title: 'Review',
      description: 'By Friday',
      status: 'in_progress',
    });
    expect(detailed).toEqual(await readWithPrisma(detailed.id));
    expect(detailed).toMatchObject({ description: 'By Friday', status: 'in_progress' });
  });

  it("finds a task only for its owner, as Prisma's findFirst does", async () => {
    const { id } = await db.prisma.task.create({ data: { ownerId, title: 'Mine' } });
    const viaPrisma = await db.prisma.task.findFirst({
      where: { id, ownerId },
      select: taskRecordSelect,
    });
    expect(await db.tasks.findOwned(id, ownerId)).toEqual(viaPrisma);
    expect(await db.tasks.findOwned(id, otherOwnerId)).toBeNull();
    expect(await db.tasks.findOwned('00000000-0000-7000-8000-000000000000', ownerId)).toBeNull();
  });

  it.each<[string, TaskChanges]>([
    ['the title', { title: 'Renamed' }],
    ['the status', { status: 'done' }],
    ['the description', { description: 'More detail' }],
    ['a cleared description', { description: null }],
    ['everything at once', { title: 'All', description: null, status: 'in_progress' }],
  ])('changes %s exactly as the same Prisma update does', async (_, changes) => {
    const data = { ownerId, title: 'Before', description: 'Old detail', status: 'open' as const };
    const [viaStatements, viaPrisma] = await Promise.all([
      db.prisma.task.create({ data, select: { id: true } }),
      db.prisma.task.create({ data, select: { id: true } }),
    ]);
    const changed = await db.tasks.updateOwned(viaStatements.id, ownerId, changes);
    const expected = await db.prisma.task.update({
      where: { id: viaPrisma.id },
      data: { ...changes, version: { increment: 1 } },
      select: taskRecordSelect,
    });
    expect(changed).toEqual(await readWithPrisma(viaStatements.id));
    const { title, description, status, version } = expected;
    expect(changed).toMatchObject({ title, description, status, version });
    expect(changed?.updatedAt.getTime()).toBeGreaterThanOrEqual(changed?.createdAt.getTime() ?? 0);
  });

  it("changes nothing for another owner's task or a stale version", async () => {
    const task = await db.tasks.create({ ownerId, title: 'Guarded' });
    expect(await db.tasks.updateOwned(task.id, otherOwnerId, { title: 'Stolen' })).toBeNull();
    expect(await db.tasks.updateOwned(task.id, ownerId, { title: 'Late' }, 2)).toBeNull();
    expect(await readWithPrisma(task.id)).toEqual(task);

    const changed = await db.tasks.updateOwned(task.id, ownerId, { title: 'On time' }, 1);
    expect(changed).toMatchObject({ title: 'On time', version: 2 });
  });
});
