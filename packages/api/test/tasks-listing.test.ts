import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouterInputs } from '../src/index.js';
import { createApiHarness, type ApiHarness } from './harness.js';

type ListInput = RouterInputs['tasks']['list'];
let api: ApiHarness;
let user: Awaited<ReturnType<ApiHarness['signUp']>>;

beforeAll(async () => {
  api = await createApiHarness();
  user = await api.signUp();
  // Duplicate titles and timestamps on purpose: the id must break ties.
  const titles = ['delta', 'alpha', 'charlie', 'alpha', 'echo', 'bravo', 'charlie', 'foxtrot'];
  for (const [index, title] of titles.entries()) {
    await user.caller.tasks.create({
      title,
      description: index % 2 ? `note ${index} with 50% OFF` : null,
      status: (['open', 'in_progress', 'done'] as const)[index % 3],
    });
  }
  await api.db.task.createMany({
    data: Array.from({ length: 4 }, () => ({ ownerId: user.id, title: 'same instant' })),
  });
});
afterAll(() => api.close());

async function pageThrough(input: Omit<ListInput, 'cursor'>) {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await user.caller.tasks.list({ ...input, cursor });
    ids.push(...page.items.map((task) => task.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

/** The order PostgreSQL itself gives for the whole set, to compare pages against. */
async function expectedOrder(sort: 'createdAt' | 'updatedAt' | 'title', order: 'asc' | 'desc') {
  const rows = await api.db.task.findMany({
    where: { ownerId: user.id },
    orderBy: [{ [sort]: order }, { id: order }],
    select: { id: true },
  });
  return rows.map((row) => row.id);
}

describe('keyset pagination', () => {
  const sorts = ['createdAt', 'updatedAt', 'title'] as const;
  const orders = ['asc', 'desc'] as const;
  it.each(sorts.flatMap((sort) => orders.map((order) => [sort, order] as const)))(
    'pages by %s %s without repeats or gaps',
    async (sort, order) => {
      expect(await pageThrough({ limit: 3, sort, order })).toEqual(
        await expectedOrder(sort, order),
      );
    },
  );

  it('stays stable while rows are inserted between pages', async () => {
    const before = await expectedOrder('createdAt', 'desc');
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await user.caller.tasks.list({ limit: 4, cursor });
      seen.push(...page.items.map((task) => task.id));
      cursor = page.nextCursor ?? undefined;
      await user.caller.tasks.create({ title: 'inserted meanwhile' });
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => before.includes(id))).toEqual(before);
  });
});

describe('filters', () => {
  it('keeps only the given statuses (several allowed)', async () => {
    const page = await user.caller.tasks.list({ status: ['done', 'in_progress'], limit: 200 });
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.every((task) => task.status !== 'open')).toBe(true);
  });

  it('searches title and description case-insensitively, with wildcards taken literally', async () => {
    const byTitle = await user.caller.tasks.list({ q: 'ALPH', limit: 200 });
    expect(byTitle.items.map((task) => task.title)).toEqual(['alpha', 'alpha']);
    const byDescription = await user.caller.tasks.list({ q: '50% off', limit: 200 });
    expect(byDescription.items).toHaveLength(4);
    expect((await user.caller.tasks.list({ q: '5_%', limit: 200 })).items).toHaveLength(0);
  });

  it('combines filters with pagination', async () => {
    const ids = await pageThrough({
      q: 'a',
      status: ['open'],
      limit: 1,
      sort: 'title',
      order: 'asc',
    });
    const titles = await Promise.all(
      ids.map(async (id) => (await user.caller.tasks.get({ id })).title),
    );
    expect(titles).toEqual([...titles].sort());
  });
});

describe('due dates', () => {
  let planner: Awaited<ReturnType<ApiHarness['signUp']>>;
  const day = (date: number) => new Date(Date.UTC(2026, 11, date));
  beforeAll(async () => {
    planner = await api.signUp();
    // Repeated due dates and several tasks without one, so that the id must break ties.
    for (const [index, date] of [4, null, 2, 4, null, 9, 2, null, 7, 4].entries()) {
      await planner.caller.tasks.create({
        title: `task ${index}`,
        dueAt: date === null ? null : day(date),
      });
    }
  });

  async function pageThroughDueDates(input: Omit<ListInput, 'cursor' | 'sort'>) {
    const tasks: { id: string; dueAt: Date | null }[] = [];
    let cursor: string | undefined;
    do {
      const page = await planner.caller.tasks.list({ ...input, sort: 'dueAt', cursor });
      tasks.push(...page.items.map(({ id, dueAt }) => ({ id, dueAt })));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return tasks;
  }

  it.each(['asc', 'desc'] as const)(
    'pages by dueAt %s without repeats or gaps, tasks without a due date last ascending and first descending',
    async (order) => {
      const rows = await api.db.task.findMany({
        where: { ownerId: planner.id },
        orderBy: [
          { dueAt: { sort: order, nulls: order === 'asc' ? 'last' : 'first' } },
          { id: order },
        ],
        select: { id: true, dueAt: true },
      });
      expect(await pageThroughDueDates({ order, limit: 2 })).toEqual(rows);
      expect(rows.at(order === 'asc' ? -1 : 0)?.dueAt).toBeNull();
    },
  );

  it('filters to [dueAfter, dueBefore), never matching a task without a due date', async () => {
    const dueAts = async (filter: Pick<ListInput, 'dueBefore' | 'dueAfter'>) =>
      (await pageThroughDueDates({ ...filter, order: 'asc', limit: 2 })).map((task) =>
        task.dueAt?.getUTCDate(),
      );
    expect(await dueAts({ dueBefore: day(4) })).toEqual([2, 2]);
    expect(await dueAts({ dueAfter: day(4) })).toEqual([4, 4, 4, 7, 9]);
    expect(await dueAts({ dueAfter: day(4), dueBefore: '2026-12-09T00:00:00Z' })).toEqual([
      4, 4, 4, 7,
    ]);
    // A contradictory window is allowed: it matches nothing.
    expect(await dueAts({ dueAfter: day(9), dueBefore: day(2) })).toEqual([]);
  });

  it('takes a cursor keyed on a missing due date only for sort=dueAt', async () => {
    const { nextCursor } = await planner.caller.tasks.list({
      sort: 'dueAt',
      order: 'desc',
      limit: 1,
    });
    const cursor = JSON.parse(Buffer.from(nextCursor ?? '', 'base64url').toString('utf8')) as {
      key: string;
    };
    expect(cursor.key).toBe('infinity');
    await expect(
      planner.caller.tasks.list({
        sort: 'createdAt',
        cursor: forgedCursor({ sort: 'createdAt', order: 'desc', key: 'infinity' }),
      }),
    ).rejects.toMatchObject({
      apiCode: 'VALIDATION_FAILED',
      fieldErrors: [expect.objectContaining({ path: 'cursor' })],
    });
  });
});

/** A cursor as `tasks.list` writes them, pointing at a row that need not exist. */
const forgedCursor = (fields: { sort: string; order: string; key: string }) =>
  Buffer.from(JSON.stringify({ ...fields, id: '01963a5e-7c1a-7b4e-9f35-2f9c1d7e8a10' })).toString(
    'base64url',
  );

describe('bad listing input is a 422, never ignored', () => {
  it('rejects a cursor of another sort or order', async () => {
    const { nextCursor } = await user.caller.tasks.list({ limit: 1, sort: 'title', order: 'asc' });
    for (const other of [
      { sort: 'createdAt' as const },
      { sort: 'title' as const, order: 'desc' as const },
    ]) {
      await expect(
        user.caller.tasks.list({ cursor: nextCursor ?? '', ...other }),
      ).rejects.toMatchObject({
        apiCode: 'VALIDATION_FAILED',
        fieldErrors: [
          expect.objectContaining({
            path: 'cursor',
            message: expect.stringContaining('sort=title'),
          }),
        ],
      });
    }
  });

  it.each([
    ['an unknown sort', { sort: 'priority' }, 'sort'],
    ['an unknown order', { order: 'sideways' }, 'order'],
    ['an unknown status', { status: ['archived'] }, 'status.0'],
    ['an empty search', { q: '   ' }, 'q'],
    [
      'a cursor that decodes to nonsense',
      { cursor: Buffer.from('{"sort":"title"}').toString('base64url') },
      'cursor',
    ],
    // Dates JS parses but PostgreSQL cannot hold, and text it cannot hold: 422, not a 500.
    [
      'a cursor dated before the range of PostgreSQL',
      {
        cursor: forgedCursor({
          sort: 'createdAt',
          order: 'desc',
          key: '-200000-01-01T00:00:00.000Z',
        }),
      },
      'cursor',
    ],
    [
      'a cursor dated after the range of PostgreSQL',
      {
        sort: 'updatedAt',
        order: 'asc',
        cursor: forgedCursor({
          sort: 'updatedAt',
          order: 'asc',
          key: '+275760-09-13T00:00:00.000Z',
        }),
      },
      'cursor',
    ],
    [
      'a due-date cursor keyed neither on an instant nor on infinity',
      { sort: 'dueAt', cursor: forgedCursor({ sort: 'dueAt', order: 'desc', key: 'never' }) },
      'cursor',
    ],
    [
      'a title cursor holding NUL',
      { sort: 'title', cursor: forgedCursor({ sort: 'title', order: 'desc', key: 'a\u0000' }) },
      'cursor',
    ],
  ])('rejects %s', async (_, input, path) => {
    await expect(user.caller.tasks.list(input as ListInput)).rejects.toMatchObject({
      apiCode: 'VALIDATION_FAILED',
      fieldErrors: [expect.objectContaining({ path })],
    });
  });
});
