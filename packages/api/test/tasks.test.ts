import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness } from './harness.js';

let api: ApiHarness;
let ann: Awaited<ReturnType<ApiHarness['signUp']>>;
let bob: Awaited<ReturnType<ApiHarness['signUp']>>;

beforeAll(async () => {
  api = await createApiHarness();
  ann = await api.signUp();
  bob = await api.signUp();
});
afterAll(() => api.close());

describe('tasks CRUD', () => {
  it('creates a task for the caller with defaults and a trimmed title', async () => {
    const task = await ann.caller.tasks.create({ title: '  Buy milk  ' });
    expect(task).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/),
      title: 'Buy milk',
      description: null,
      status: 'open',
      dueAt: null,
      version: 1,
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    const stored = await api.db.task.findUniqueOrThrow({ where: { id: task.id } });
    expect(stored.ownerId).toBe(ann.id);
  });

  it('reads, updates and deletes its own task', async () => {
    const created = await ann.caller.tasks.create({
      title: 'Write report',
      description: 'Q3',
      status: 'in_progress',
    });
    expect(await ann.caller.tasks.get({ id: created.id })).toEqual(created);

    const updated = await ann.caller.tasks.update({
      id: created.id,
      status: 'done',
      description: null,
    });
    expect(updated).toMatchObject({
      id: created.id,
      title: 'Write report',
      status: 'done',
      description: null,
    });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());

    await expect(ann.caller.tasks.delete({ id: created.id })).resolves.toBeUndefined();
    await expect(ann.caller.tasks.get({ id: created.id })).rejects.toMatchObject({
      apiCode: 'TASK_NOT_FOUND',
      status: 404,
    });
    await expect(ann.caller.tasks.delete({ id: created.id })).rejects.toMatchObject({
      apiCode: 'TASK_NOT_FOUND',
    });
  });

  it('sets, keeps and clears a due date, given as a Date or as ISO 8601 text', async () => {
    const due = new Date('2026-12-04T17:00:00.000Z');
    const created = await ann.caller.tasks.create({ title: 'Due soon', dueAt: due });
    expect(created.dueAt).toEqual(due);

    const renamed = await ann.caller.tasks.update({ id: created.id, title: 'Due sooner' });
    expect(renamed.dueAt).toEqual(due);

    // An offset names an instant as well as Z does: kept as UTC, to the millisecond.
    const moved = await ann.caller.tasks.update({
      id: created.id,
      dueAt: '2026-12-05T09:30:00.1234+01:00',
    });
    expect(moved.dueAt).toEqual(new Date('2026-12-05T08:30:00.123Z'));
    expect(await ann.caller.tasks.get({ id: created.id })).toEqual(moved);

    const cleared = await ann.caller.tasks.update({ id: created.id, dueAt: null });
    expect(cleared).toMatchObject({ dueAt: null, title: 'Due sooner', version: 4 });
  });

  it("hides another user's task on every operation and leaves it unchanged", async () => {
    const secret = await ann.caller.tasks.create({ title: 'Ann only' });
    const notFound = { apiCode: 'TASK_NOT_FOUND', status: 404 };
    await expect(bob.caller.tasks.get({ id: secret.id })).rejects.toMatchObject(notFound);
    await expect(
      bob.caller.tasks.update({ id: secret.id, title: 'hijacked' }),
    ).rejects.toMatchObject(notFound);
    await expect(bob.caller.tasks.delete({ id: secret.id })).rejects.toMatchObject(notFound);
    const bobsList = await bob.caller.tasks.list({});
    expect(bobsList.items.map((task) => task.id)).not.toContain(secret.id);
    expect(await ann.caller.tasks.get({ id: secret.id })).toEqual(secret);
  });

  it('requires authentication for every task operation', async () => {
    const anonymous = api.caller();
    const id = '01963a5e-7c1a-7b4e-9f35-2f9c1d7e8a10';
    const calls = [
      anonymous.tasks.create({ title: 'x' }),
      anonymous.tasks.list({}),
      anonymous.tasks.get({ id }),
      anonymous.tasks.update({ id, title: 'x' }),
      anonymous.tasks.delete({ id }),
    ];
    for (const call of calls)
      await expect(call).rejects.toMatchObject({ apiCode: 'UNAUTHENTICATED' });
  });
});

describe('task validation', () => {
  const cases: [string, () => Promise<unknown>, string][] = [
    ['blank title', () => ann.caller.tasks.create({ title: '   ' }), 'title'],
    ['title over 200', () => ann.caller.tasks.create({ title: 'x'.repeat(201) }), 'title'],
    [
      'description over 2000',
      () => ann.caller.tasks.create({ title: 'ok', description: 'x'.repeat(2001) }),
      'description',
    ],
    [
      'unknown status',
      () => ann.caller.tasks.create({ title: 'ok', status: 'archived' as 'open' }),
      'status',
    ],
    ['malformed id', () => ann.caller.tasks.get({ id: 'not-a-uuid' }), 'id'],
    [
      'empty update',
      () => ann.caller.tasks.update({ id: '01963a5e-7c1a-7b4e-9f35-2f9c1d7e8a10' }),
      'title',
    ],
    ['limit 0', () => ann.caller.tasks.list({ limit: 0 }), 'limit'],
    ['limit 201', () => ann.caller.tasks.list({ limit: 201 }), 'limit'],
    ['forged cursor', () => ann.caller.tasks.list({ cursor: 'bm90LWEtY3Vyc29y' }), 'cursor'],
    // PostgreSQL text cannot hold U+0000: refused up front, not a 500 from the database.
    ['NUL in a title', () => ann.caller.tasks.create({ title: 'a\u0000b' }), 'title'],
    [
      'NUL in a description',
      () => ann.caller.tasks.create({ title: 'ok', description: '\u0000' }),
      'description',
    ],
    [
      'NUL in an idempotency key',
      () => ann.caller.tasks.create({ title: 'ok', idempotencyKey: 'k\u0000' }),
      'idempotencyKey',
    ],
    ['NUL in a search', () => ann.caller.tasks.list({ q: 'a\u0000' }), 'q'],
    // A due date must name one instant PostgreSQL can hold: 422, never a 500.
    [
      'a due date in words',
      () => ann.caller.tasks.create({ title: 'ok', dueAt: 'tomorrow' }),
      'dueAt',
    ],
    [
      'a due day without a time',
      () => ann.caller.tasks.create({ title: 'ok', dueAt: '2026-12-04' }),
      'dueAt',
    ],
    [
      'a due time without a zone',
      () => ann.caller.tasks.create({ title: 'ok', dueAt: '2026-12-04T17:00:00' }),
      'dueAt',
    ],
    [
      'a due date of year 0',
      () => ann.caller.tasks.create({ title: 'ok', dueAt: '0000-12-31T00:00:00Z' }),
      'dueAt',
    ],
    [
      'a due date past year 9999',
      () => ann.caller.tasks.create({ title: 'ok', dueAt: new Date(8.64e15) }),
      'dueAt',
    ],
    [
      'an invalid Date',
      () =>
        ann.caller.tasks.update({
          id: '01963a5e-7c1a-7b4e-9f35-2f9c1d7e8a10',
          dueAt: new Date(Number.NaN),
        }),
      'dueAt',
    ],
    ['a dueBefore in words', () => ann.caller.tasks.list({ dueBefore: 'soon' }), 'dueBefore'],
    [
      'an impossible dueAfter',
      () => ann.caller.tasks.list({ dueAfter: '2026-02-30T00:00:00Z' }),
      'dueAfter',
    ],
  ];
  it.each(cases)('rejects %s with VALIDATION_FAILED naming the field', async (_, call, path) => {
    await expect(call()).rejects.toMatchObject({
      apiCode: 'VALIDATION_FAILED',
      status: 422,
      fieldErrors: [expect.objectContaining({ path })],
    });
  });

  it('accepts the boundaries: 200-char title, 2000-char description', async () => {
    const task = await ann.caller.tasks.create({
      title: 'x'.repeat(200),
      description: 'y'.repeat(2000),
    });
    expect(task.title).toHaveLength(200);
    expect(task.description).toHaveLength(2000);
  });
});

describe('tasks.list', () => {
  it('pages newest first with a cursor, without repeats or gaps', async () => {
    const pager = await api.signUp();
    const created = [];
    for (let i = 0; i < 7; i++)
      created.push(await pager.caller.tasks.create({ title: `task ${i}` }));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await pager.caller.tasks.list({ limit: 3, cursor });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((task) => task.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(created.map((task) => task.id).reverse());
  });

  it('defaults to 50 items and returns a null cursor on the last page', async () => {
    const many = await api.signUp();
    await api.db.task.createMany({
      data: Array.from({ length: 55 }, (_, i) => ({ ownerId: many.id, title: `bulk ${i}` })),
    });
    const first = await many.caller.tasks.list({});
    expect(first.items).toHaveLength(50);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await many.caller.tasks.list({ cursor: first.nextCursor ?? undefined });
    expect(second.items).toHaveLength(5);
    expect(second.nextCursor).toBeNull();
  });
});
