import { createHash } from 'node:crypto';
import type { TaskListQuery, TaskRecord, TaskRepository, WriteOptions } from '@tasks/db';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import DataLoader from 'dataloader';
import { ApiError, validationError } from '../errors.js';
import { withoutNul } from '../schemas/common.js';
import {
  taskSortFields,
  type CreateTaskInput,
  type DeleteTaskInput,
  type ListTasksInput,
  type TaskOutput,
  type TaskPage,
  type UpdateTaskInput,
} from '../schemas/task.js';

/** How long an Idempotency-Key keeps its first response. */
export const idempotencyWindowMs = 24 * 60 * 60 * 1000;

type SortField = ListTasksInput['sort'];
type SortOrder = ListTasksInput['order'];

/**
 * Where the previous page ended, in the page's own sort: the sort key of its last row and the id
 * that breaks ties. Bound to its sort and order, since a position means nothing in another one.
 * A timestamp key is its ISO 8601 text; a task without a due date sorts as if due at infinity,
 * which no `Date` can hold, so its key is the text `infinity` (PostgreSQL's own spelling).
 */
const cursorSchema = z.object({
  sort: z.enum(taskSortFields),
  order: z.enum(['asc', 'desc']),
  key: withoutNul(z.string()),
  id: z.uuid(),
});
type Cursor = z.infer<typeof cursorSchema>;

const noDueDateKey = 'infinity';

/** The cursor of the page after `last` (exported for the benchmark, which builds a deep one). */
export function encodeCursor<Sort extends SortField>(
  sort: Sort,
  order: SortOrder,
  last: Pick<TaskOutput, Sort | 'id'>,
): string {
  const value: TaskOutput[SortField] = last[sort];
  const key = value === null ? noDueDateKey : value instanceof Date ? value.toISOString() : value;
  const cursor: Cursor = { sort, order, key, id: last.id };
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

const invalidCursor = (message: string) =>
  validationError([{ path: 'cursor', code: 'invalid_cursor', message }]);

function decodeCursor(raw: string, sort: SortField, order: SortOrder): Cursor {
  let cursor: Cursor;
  try {
    cursor = cursorSchema.parse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
  } catch {
    throw invalidCursor('Not a cursor returned by this API');
  }
  if (cursor.sort !== sort || cursor.order !== order) {
    throw invalidCursor(`This cursor belongs to sort=${cursor.sort}&order=${cursor.order}`);
  }
  const validKey =
    sort === 'title' ||
    isCursorTimestamp(cursor.key) ||
    (sort === 'dueAt' && cursor.key === noDueDateKey);
  if (!validKey) throw invalidCursor('Not a cursor returned by this API');
  return cursor;
}

/**
 * Exactly what `encodeCursor` writes for a row's timestamp: `toISOString` of a date in years
 * 0001-9999. Other dates JS can parse (year -200000, say) are out of PostgreSQL's range.
 */
function isCursorTimestamp(key: string): boolean {
  const time = Date.parse(key);
  return /^(?!0000)\d{4}-/.test(key) && !Number.isNaN(time) && new Date(time).toISOString() === key;
}

/** The row the cursor points after, its sort key typed as the column is (a missing due date, null). */
function cursorPosition({ sort, key, id }: Cursor): NonNullable<TaskListQuery['after']> {
  if (sort === 'title') return { key, id };
  return { key: key === noDueDateKey ? null : new Date(key), id };
}

const quotaExceeded = (maxOwned: number) =>
  new ApiError('QUOTA_EXCEEDED', `A user may own at most ${maxOwned} tasks; delete some first`);

const taskNotFound = () => new ApiError('TASK_NOT_FOUND', 'No task with this id');
const versionMismatch = () =>
  new ApiError('PRECONDITION_FAILED', 'The task has changed since the given version (If-Match)');

const keyReused = () =>
  new ApiError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with another request', {
    errors: [
      { path: 'idempotencyKey', code: 'reused', message: 'Key already used with a different body' },
    ],
  });

/**
 * Reads of tasks by id shared by the calls of one request (a `/trpc` batch): DataLoader waits for
 * the event loop's next turn, by which every call of the batch has asked, then sends one query
 * per owner. Ten `tasks.get` calls cost one round trip instead of ten.
 */
export type TaskReads = DataLoader<{ ownerId: string; id: string }, TaskRecord | null, string>;

/** Every method is scoped to one owner: another user's task is indistinguishable from none. */
export class TaskService {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly clock: Clock,
    /** Tasks one user may own. */
    private readonly maxOwned: number,
    /** Told after a write of `userId`'s tasks committed (the change feed wakes its readers). */
    private readonly changed: (userId: string) => void,
  ) {}

  /** Shared reads for one request; see `TaskReads`. */
  createReads(): TaskReads {
    return new DataLoader(
      async (keys) => {
        const idsByOwner = new Map<string, string[]>();
        for (const { ownerId, id } of keys)
          idsByOwner.set(ownerId, [...(idsByOwner.get(ownerId) ?? []), id]);
        const found = new Map<string, TaskRecord>();
        await Promise.all(
          [...idsByOwner].map(async ([ownerId, ids]) => {
            const tasks = await this.tasks.findManyOwned(ids, ownerId);
            for (const task of tasks) found.set(`${ownerId}/${task.id}`, task);
          }),
        );
        return keys.map(({ ownerId, id }) => found.get(`${ownerId}/${id}`) ?? null);
      },
      {
        // One request's reads; a cache would serve a read issued after a write stale.
        cache: false,
        batchScheduleFn: (callback) => setImmediate(callback),
      },
    );
  }

  /**
   * With an idempotency key, the task and its first answer are stored together, and a retry
   * with the same key and request gets that answer again (see `TaskRepository.createIdempotent`).
   */
  async create(
    ownerId: string,
    { idempotencyKey, ...input }: CreateTaskInput,
    { requestId }: WriteOptions = {},
  ): Promise<TaskOutput> {
    const quota = { maxOwned: this.maxOwned, requestId };
    if (idempotencyKey === undefined) {
      const task = await this.tasks.create({ ...input, ownerId }, quota);
      if (!task) throw quotaExceeded(this.maxOwned);
      this.changed(ownerId);
      return task;
    }
    const result = await this.tasks.createIdempotent({ ...input, ownerId }, quota, {
      userId: ownerId,
      key: idempotencyKey,
      requestHash: hashRequest(input),
      responseStatus: 201,
      notBefore: new Date(this.clock.now().getTime() - idempotencyWindowMs),
    });
    switch (result.outcome) {
      case 'quota-exceeded':
        throw quotaExceeded(this.maxOwned);
      case 'key-reused':
        throw keyReused();
      case 'created':
        this.changed(ownerId);
        return result.task;
      default:
        return result.task;
    }
  }

  /** With `reads`, shares one query with the request's other reads (`TaskReads`). */
  async get(ownerId: string, id: string, reads?: TaskReads): Promise<TaskOutput> {
    const task = reads
      ? await reads.load({ ownerId, id })
      : await this.tasks.findOwned(id, ownerId);
    if (!task) throw taskNotFound();
    return task;
  }

  async update(
    ownerId: string,
    { id, expectedVersion, ...changes }: UpdateTaskInput,
    { requestId }: WriteOptions = {},
  ): Promise<TaskOutput> {
    const task = await this.tasks.updateOwned(id, ownerId, changes, { expectedVersion, requestId });
    if (!task) throw await this.missingOrChanged(ownerId, id, expectedVersion);
    this.changed(ownerId);
    return task;
  }

  async delete(
    ownerId: string,
    { id, expectedVersion }: DeleteTaskInput,
    { requestId }: WriteOptions = {},
  ): Promise<void> {
    if (!(await this.tasks.deleteOwned(id, ownerId, { expectedVersion, requestId }))) {
      throw await this.missingOrChanged(ownerId, id, expectedVersion);
    }
    this.changed(ownerId);
  }

  /**
   * Keyset-paginated, in `sort` then id order: stable while rows are inserted (no repeats, no
   * gaps) and as cheap deep down as on the first page.
   */
  async list(
    ownerId: string,
    { limit, cursor, status, q, dueBefore, dueAfter, sort, order }: ListTasksInput,
  ): Promise<TaskPage> {
    const rows = await this.tasks.list({
      ownerId,
      sort,
      order,
      statuses: status,
      contains: q,
      dueBefore,
      dueAfter,
      after: cursor === undefined ? undefined : cursorPosition(decodeCursor(cursor, sort, order)),
      // One more than asked: whether it comes back says if there is a next page.
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeCursor(sort, order, last) : null,
    };
  }

  /** After a conditional write matched nothing: 404 when the task is gone, else 412. */
  private async missingOrChanged(
    ownerId: string,
    id: string,
    expectedVersion: number | undefined,
  ): Promise<ApiError> {
    if (expectedVersion === undefined) return taskNotFound();
    return (await this.tasks.existsOwned(id, ownerId)) ? versionMismatch() : taskNotFound();
  }
}

/** The same validated request always hashes the same, whatever the key order it arrived in. */
function hashRequest(input: Omit<CreateTaskInput, 'idempotencyKey'>): string {
  const canonical = JSON.stringify(Object.entries(input).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(canonical).digest('hex');
}
