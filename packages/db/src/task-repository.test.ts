import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, type Database } from './client.js';
import type { Prisma } from './generated/prisma/client.js';
import {
  taskRecordSelect,
  type NewTask,
  type SortOrder,
  type TaskRecord,
  type TaskRepository,
  type TaskChanges,
  type TaskListQuery,
  type TaskSortField,
} from './task-repository.js';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

// Each statement is held to what Prisma reads and writes for the same task, so a schema change
// that these statements miss fails here rather than in a response.

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

/** Far above what any test here creates: the quota itself is tested at the API. */
const noQuota = { maxOwned: 1_000_000 };

async function createTask(tasks: TaskRepository, task: NewTask): Promise<TaskRecord> {
  const created = await tasks.create(task, noQuota);
  if (!created) throw new Error('the quota refused a task');
  return created;
}

const readWithPrisma = (id: string) =>
  db.prisma.task.findUniqueOrThrow({ where: { id }, select: taskRecordSelect });

const march = (day: number) => new Date(Date.UTC(2026, 2, day));

describe('TaskRepository', () => {
  it('creates what Prisma reads back, with the schema defaults and a version 7 id', async () => {
    const created = await createTask(db.tasks, { ownerId, title: 'Write the report' });
    expect(created).toEqual(await readWithPrisma(created.id));
    expect(created).toMatchObject({ description: null, status: 'open', dueAt: null, version: 1 });
    expect(created.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(created.updatedAt).toEqual(created.createdAt);

    const detailed = await createTask(db.tasks, {
      ownerId,
      title: 'Review',
      description: 'By Friday',
      status: 'in_progress',
      dueAt: new Date('2026-12-04T17:00:00.000Z'),
    });
    expect(detailed).toEqual(await readWithPrisma(detailed.id));
    expect(detailed).toMatchObject({
      description: 'By Friday',
      status: 'in_progress',
      dueAt: new Date('2026-12-04T17:00:00.000Z'),
    });
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

    const { id: otherId } = await db.prisma.task.create({ data: { ownerId, title: 'Also mine' } });
    const { id: notMine } = await db.prisma.task.create({
      data: { ownerId: otherOwnerId, title: 'Theirs' },
    });
    const many = await db.tasks.findManyOwned([id, otherId, notMine, id], ownerId);
    expect(many.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      await db.prisma.task.findMany({
        where: { id: { in: [id, otherId, notMine] }, ownerId },
        select: taskRecordSelect,
        orderBy: { id: 'asc' },
      }),
    );
    expect(many).toHaveLength(2);
  });

  it.each<[string, TaskChanges]>([
    ['the title', { title: 'Renamed' }],
    ['the status', { status: 'done' }],
    ['the description', { description: 'More detail' }],
    ['a cleared description', { description: null }],
    ['the due date', { dueAt: new Date('2027-01-15T09:30:00.250Z') }],
    ['a cleared due date', { dueAt: null }],
    [
      'everything at once',
      { title: 'All', description: null, status: 'in_progress', dueAt: new Date(0) },
    ],
  ])('changes %s exactly as the same Prisma update does', async (_, changes) => {
    const data = {
      ownerId,
      title: 'Before',
      description: 'Old detail',
      status: 'open' as const,
      dueAt: new Date('2026-12-24T18:00:00.000Z'),
    };
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
    const { title, description, status, dueAt, version } = expected;
    expect(changed).toMatchObject({ title, description, status, dueAt, version });
    expect(changed?.updatedAt.getTime()).toBeGreaterThanOrEqual(changed?.createdAt.getTime() ?? 0);
  });

  it("changes nothing for another owner's task or a stale version", async () => {
    const task = await createTask(db.tasks, { ownerId, title: 'Guarded' });
    expect(await db.tasks.updateOwned(task.id, otherOwnerId, { title: 'Stolen' })).toBeNull();
    expect(
      await db.tasks.updateOwned(task.id, ownerId, { title: 'Late' }, { expectedVersion: 2 }),
    ).toBeNull();
    expect(await readWithPrisma(task.id)).toEqual(task);

    const changed = await db.tasks.updateOwned(
      task.id,
      ownerId,
      { title: 'On time' },
      { expectedVersion: 1 },
    );
    expect(changed).toMatchObject({ title: 'On time', version: 2 });
  });

  describe('list', () => {
    let listerId: string;
    beforeAll(async () => {
      ({ id: listerId } = await db.prisma.user.create({
        data: { email: 'lister@example.com', passwordHash: 'not a hash' },
      }));
      const statuses = ['open', 'in_progress', 'done'] as const;
      // Repeated titles and timestamps, so that the id must break ties; LIKE wildcards in text;
      // every fifth task without a due date.
      await db.prisma.task.createMany({
        data: Array.from({ length: 60 }, (_, i) => ({
          ownerId: listerId,
          title: `${['Alpha', 'beta', 'Gamma 50%', 'delta_x'][i % 4]}`,
          description: i % 3 === 0 ? null : `Notes ${i % 5} on 100% of it`,
          status: statuses[i % 3],
          createdAt: new Date(Date.UTC(2026, 0, 1 + (i % 7))),
          updatedAt: new Date(Date.UTC(2026, 1, 1 + (i % 11))),
          dueAt: i % 5 === 0 ? null : march(1 + (i % 6)),
        })),
      });
    });

    /**
     * The same page through Prisma: the statement must match it row for row. Prisma sorts by the
     * column with its nulls placed, where the statement sorts by the column with null as infinity.
     */
    const listWithPrisma = ({
      sort,
      order,
      statuses,
      contains,
      dueBefore,
      dueAfter,
      after,
      limit,
    }: TaskListQuery) => {
      const where: Prisma.TaskWhereInput[] = [{ ownerId: listerId }];
      if (statuses) where.push({ status: { in: statuses } });
      if (dueBefore) where.push({ dueAt: { lt: dueBefore } });
      if (dueAfter) where.push({ dueAt: { gte: dueAfter } });
      if (contains !== undefined) {
        const literal = contains.replace(/[\\%_]/g, (character) => `\\${character}`);
        where.push({
          OR: [
            { title: { contains: literal, mode: 'insensitive' } },
            { description: { contains: literal, mode: 'insensitive' } },
          ],
        });
      }
      if (after) {
        const exclusive = order === 'desc' ? 'lt' : 'gt';
        const tie = { [sort]: after.key, id: { [exclusive]: after.id } };
        // Past a dated row ascending come the later dates and every undated row; past an undated
        // row descending, every dated row.
        const beyond =
          after.key === null
            ? order === 'desc'
              ? [{ dueAt: { not: null } }]
              : []
            : sort === 'dueAt' && order === 'asc'
              ? [{ dueAt: { gt: after.key } }, { dueAt: null }]
              : [{ [sort]: { [exclusive]: after.key } }];
        where.push({ OR: [...beyond, tie] });
      }
      const nulls = order === 'asc' ? 'last' : 'first';
      return db.prisma.task.findMany({
        where: { AND: where },
        orderBy: [
          sort === 'dueAt' ? { dueAt: { sort: order, nulls } } : { [sort]: order },
          { id: order },
        ],
        take: limit,
        select: taskRecordSelect,
      });
    };

    const shapes = (['createdAt', 'updatedAt', 'title', 'dueAt'] as TaskSortField[]).flatMap(
      (sort) => (['desc', 'asc'] as SortOrder[]).map((order) => ({ sort, order })),
    );

    it.each(shapes)(
      'pages by $sort $order as Prisma does, filtered or not',
      async ({ sort, order }) => {
        const filters: Pick<TaskListQuery, 'statuses' | 'contains' | 'dueBefore' | 'dueAfter'>[] = [
          {},
          { statuses: ['open', 'done'] },
          { contains: 'ALPHA' },
          { contains: '50%' },
          { contains: '_' },
          { contains: '100%', statuses: ['in_progress'] },
          { dueBefore: march(6) },
          { dueAfter: march(3) },
          { dueAfter: march(2), dueBefore: march(6), contains: 'notes' },
        ];
        for (const filter of filters) {
          let after: TaskListQuery['after'];
          let pages = 0;
          for (;;) {
            const query = { ownerId: listerId, sort, order, ...filter, after, limit: 7 };
            const page = await db.tasks.list(query);
            expect(page).toEqual(await listWithPrisma(query));
            const last = page.at(-1);
            if (!last || page.length < 7) break;
            after = { key: last[sort], id: last.id };
            pages++;
          }
          expect(pages).toBeGreaterThan(filter.contains === undefined ? 3 : 0);
        }
      },
    );

    it('lists tasks without a due date last ascending, first descending, and never filters them in', async () => {
      const list = (query: Partial<TaskListQuery>) =>
        db.tasks.list({ ownerId: listerId, sort: 'dueAt', order: 'asc', limit: 200, ...query });
      const ascending = await list({});
      const firstUndated = ascending.findIndex((task) => task.dueAt === null);
      expect(firstUndated).toBe(48);
      expect(ascending.slice(firstUndated).every((task) => task.dueAt === null)).toBe(true);
      expect(await list({ order: 'desc' })).toEqual([...ascending].reverse());

      const dueBeforeThird = await list({ dueBefore: march(3) });
      const dueFromThird = await list({ dueAfter: march(3) });
      expect(dueBeforeThird.every(({ dueAt }) => dueAt && dueAt < march(3))).toBe(true);
      expect(dueFromThird.every(({ dueAt }) => dueAt && dueAt >= march(3))).toBe(true);
      // Before and at-or-after one instant split the dated tasks exactly.
      expect([...dueBeforeThird, ...dueFromThird]).toEqual(ascending.slice(0, firstUndated));
    });
  });

  it("keeps every owner's task count through bulk inserts, deletes and a change of owner", async () => {
    const { id: counted } = await db.prisma.user.create({
      data: { email: 'counted@example.com', passwordHash: 'not a hash' },
    });
    const taskCount = async (id: string) =>
      (await db.prisma.user.findUniqueOrThrow({ where: { id }, select: { taskCount: true } }))
        .taskCount;
    const otherBefore = await taskCount(otherOwnerId);
    await db.prisma.task.createMany({
      data: Array.from({ length: 5 }, (_, index) => ({ ownerId: counted, title: `bulk ${index}` })),
    });
    const moved = await db.prisma.task.findFirstOrThrow({
      where: { ownerId: counted, title: 'bulk 0' },
    });
    await db.prisma.task.update({ where: { id: moved.id }, data: { ownerId: otherOwnerId } });
    await db.prisma.task.deleteMany({
      where: { ownerId: counted, title: { in: ['bulk 3', 'bulk 4'] } },
    });
    expect(await taskCount(counted)).toBe(2);
    expect(await taskCount(otherOwnerId)).toBe(otherBefore + 1);
    expect(await db.prisma.task.count({ where: { ownerId: counted } })).toBe(2);
  });

  it('keeps answering after a failed statement costs it its connection', async () => {
    const task = await createTask(db.tasks, { ownerId, title: 'Survivor' });
    const single = createDatabase({
      url: database.url,
      poolSize: 1,
      preparedStatements: database.preparedStatements,
    });
    try {
      expect(await single.tasks.findOwned(task.id, ownerId)).toEqual(task);
      // Not a uuid: PostgreSQL refuses the parameter, and pg's pool drops that connection.
      await expect(single.tasks.findOwned('not-a-uuid', ownerId)).rejects.toMatchObject({
        code: '22P02',
      });
      expect(await single.tasks.findOwned(task.id, ownerId)).toEqual(task);
    } finally {
      await single.close();
    }
  });

  it('prepares each statement once on its connection, when asked to', async (context) => {
    context.skip(
      inject('testDatabase').kind !== 'server',
      'PGlite serves every connection from one session, where named statements are off',
    );
    const single = createDatabase({ url: database.url, poolSize: 1, preparedStatements: true });
    try {
      const task = await createTask(single.tasks, { ownerId, title: 'Prepared' });
      await single.tasks.findOwned(task.id, ownerId);
      await single.tasks.findOwned(task.id, ownerId);
      await single.tasks.updateOwned(task.id, ownerId, { status: 'done' });
      // Prisma runs on the same single connection, so it sees that session's statements.
      const prepared = await single.prisma.$queryRaw<{ name: string }[]>`
          SELECT name FROM pg_prepared_statements ORDER BY name`;
      expect(prepared.map(({ name }) => name)).toEqual([
        // One statement per shape: the columns a create or a change sets.
        'task_create(title)',
        'task_find_owned',
        'task_update_owned(status)',
      ]);
    } finally {
      await single.close();
    }
  });
});
