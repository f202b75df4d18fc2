import { v7 as uuidv7 } from 'uuid';
import type { Prisma, PrismaClient, Task } from './generated/prisma/client.js';
import type { TaskStatus } from './generated/prisma/enums.js';
import { requestSettings, type Statement, type StatementRunner } from './statements.js';
import { currentTraceparent } from './trace-context.js';
import { isUniqueViolation } from './unique-violation.js';

/**
 * The columns of a task as the API reads and writes them, with their SQL types: the one list.
 * The statements, the Prisma selection, the row type (`TaskRecord`) and the decoding of a stored
 * copy all follow from it, so a new field is one line here (and the Prisma schema, a migration
 * and the API's zod schema).
 */
const taskColumns = {
  id: { type: 'uuid' },
  title: { type: 'varchar', writable: true },
  description: { type: 'varchar', writable: true },
  status: { type: '"TaskStatus"', writable: true },
  dueAt: { type: 'timestamptz', writable: true },
  version: { type: 'int4' },
  createdAt: { type: 'timestamptz' },
  updatedAt: { type: 'timestamptz' },
} as const satisfies Partial<Record<keyof Task, { type: string; writable?: true }>>;

type TaskColumn = keyof typeof taskColumns;
type WritableColumn = {
  [Column in TaskColumn]: (typeof taskColumns)[Column] extends { writable: true } ? Column : never;
}[TaskColumn];

/** A task as the API returns it. */
export type TaskRecord = Pick<Task, TaskColumn>;

/** The fields a new task sets (required as the schema requires them); the others take defaults. */
export type NewTask = Pick<Prisma.TaskUncheckedCreateInput, 'ownerId' | WritableColumn>;

/** The fields a change sets; absent ones keep their value (`description: null` clears it). */
export type TaskChanges = Partial<Pick<Task, WritableColumn>>;

const columnNames = Object.keys(taskColumns) as TaskColumn[];
const writableColumns = columnNames.filter(
  (column): column is WritableColumn => 'writable' in taskColumns[column],
);
const quoted = (column: string) => `"${column}"`;
const returnedColumns = columnNames.map(quoted).join(', ');

/** The same columns through Prisma. */
export const taskRecordSelect = Object.fromEntries(
  columnNames.map((column) => [column, true]),
) as Record<TaskColumn, true>;

/**
 * A task as stored in JSON (an idempotent create's first answer, a change in the feed), typed
 * back. A column added since the copy was stored is absent from it: it reads as null.
 */
export function decodeStoredTask(stored: unknown): TaskRecord {
  const fields = stored as Partial<Record<TaskColumn, unknown>>;
  return Object.fromEntries(
    columnNames.map((column) => {
      const value = fields[column] ?? null;
      return [
        column,
        taskColumns[column].type === 'timestamptz' && value !== null
          ? new Date(value as string)
          : value,
      ];
    }),
  ) as TaskRecord;
}

export type TaskSortField = 'createdAt' | 'updatedAt' | 'title' | 'dueAt';
export type SortOrder = 'asc' | 'desc';

/** One page of an owner's tasks, in `sort` then id order. */
export interface TaskListQuery {
  ownerId: string;
  sort: TaskSortField;
  order: SortOrder;
  /** Only these statuses; absent, all. */
  statuses?: TaskStatus[] | undefined;
  /** Text the title or the description contains, case-insensitively; LIKE wildcards are literal. */
  contains?: string | undefined;
  /** Only tasks due strictly before this instant (never those without a due date). */
  dueBefore?: Date | undefined;
  /** Only tasks due at or after this instant (never those without a due date). */
  dueAfter?: Date | undefined;
  /**
   * Rows strictly after this one in the listing's order: the value of its sort column (for
   * `dueAt`, null when the row has no due date) and its id.
   */
  after?: { key: string | Date | null; id: string } | undefined;
  /** Rows to return at most. */
  limit: number;
}

const sortColumns: Record<Exclude<TaskSortField, 'dueAt'>, string> = {
  createdAt: '"createdAt"',
  updatedAt: '"updatedAt"',
  title: 'title',
};

/**
 * The due-date sort key: a task without a due date sorts as if due at the end of time, last
 * ascending and first descending, so one index serves both directions and the key is never null.
 * The index "Task_ownerId_dueAt_coalesced_id_idx" (task_due_at migration) holds exactly this
 * expression; the planner only uses it for conditions and orderings written the same way.
 */
const dueAtSortKey = `COALESCE("dueAt", 'infinity'::timestamptz)`;

/** LIKE wildcards in user text are literal characters, not patterns. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/**
 * The listing statement of a query and its values. Its name says its shape (sort, order, which
 * filters, first page or not): few enough shapes to prepare each once per connection. A search is
 * not prepared: how selective its text is decides between the trigram indexes and the sort's
 * index, which one cached generic plan could not do for every text. The cursor condition carries
 * a redundant `key <= value` bound (`>=` ascending) that becomes the index condition, so the scan
 * starts at the cursor and page 10 000 costs what page 1 costs (list-query-plan.test.ts). By due
 * date, where every undated task has the same key and ties are common, the cursor condition is a
 * row comparison, `(key, id) > (value, id)`, which is an index condition as a whole: the scan
 * starts at the cursor's row itself rather than at the first of its ties.
 */
function listStatement({
  ownerId,
  sort,
  order,
  statuses,
  contains,
  dueBefore,
  dueAfter,
  after,
  limit,
}: TaskListQuery) {
  const values: unknown[] = [ownerId];
  const parameter = (value: unknown) => `$${values.push(value)}`;
  const shape = ['task_list', sort, order];
  const conditions = ['"ownerId" = $1'];
  if (statuses) {
    shape.push('status');
    conditions.push(`status = ANY(${parameter(statuses)}::"TaskStatus"[])`);
  }
  if (contains !== undefined) {
    const pattern = parameter(`%${escapeLike(contains)}%`);
    conditions.push(`(title ILIKE ${pattern} OR description ILIKE ${pattern})`);
  }
  // Sorted by due date, the filters bound the scan of the sort's own index, so they are written on
  // its key (an instant before infinity leaves undated tasks out; at or after one must say so).
  // Sorted otherwise, they filter the rows of that sort's index as `status` does: on the key, a
  // generic plan would guess the window narrow and trade the ordered scan for a Sort of all of it.
  const dueColumn = sort === 'dueAt' ? dueAtSortKey : '"dueAt"';
  if (dueBefore) {
    shape.push('due_before');
    conditions.push(`${dueColumn} < ${parameter(dueBefore)}::timestamptz`);
  }
  if (dueAfter) {
    shape.push('due_after');
    conditions.push(`${dueColumn} >= ${parameter(dueAfter)}::timestamptz`);
    if (sort === 'dueAt') conditions.push(`${dueAtSortKey} < 'infinity'::timestamptz`);
  }
  const column = sort === 'dueAt' ? dueAtSortKey : sortColumns[sort];
  if (after) {
    shape.push('after');
    const [inclusive, exclusive] = order === 'desc' ? ['<=', '<'] : ['>=', '>'];
    if (sort === 'dueAt') {
      const key = `COALESCE(${parameter(after.key)}::timestamptz, 'infinity'::timestamptz)`;
      conditions.push(`(${column}, id) ${exclusive} (${key}, ${parameter(after.id)})`);
    } else {
      const key = parameter(after.key);
      const id = parameter(after.id);
      conditions.push(
        `${column} ${inclusive} ${key}`,
        `(${column} ${exclusive} ${key} OR id ${exclusive} ${id})`,
      );
    }
  }
  const direction = order === 'desc' ? 'DESC' : 'ASC';
  const statement: Statement = {
    name: contains === undefined ? shape.join('_') : undefined,
    text: `SELECT ${returnedColumns} FROM "Task" WHERE ${conditions.join(' AND ')}
           ORDER BY ${column} ${direction}, id ${direction} LIMIT ${parameter(limit)}`,
  };
  return { statement, values };
}

const statements = {
  findOwned: {
    name: 'task_find_owned',
    text: `SELECT ${returnedColumns} FROM "Task" WHERE id = $1 AND "ownerId" = $2`,
  },
  findManyOwned: {
    name: 'task_find_many_owned',
    text: `SELECT ${returnedColumns} FROM "Task" WHERE id = ANY($1::uuid[]) AND "ownerId" = $2`,
  },
  existsOwned: {
    name: 'task_exists_owned',
    text: `SELECT 1 FROM "Task" WHERE id = $1 AND "ownerId" = $2`,
  },
  deleteOwned: {
    name: 'task_delete_owned',
    text: `DELETE FROM "Task"
           WHERE id = $1 AND "ownerId" = $2 AND ($3::int IS NULL OR version = $3)
             AND ${requestSettings('$4', '$5')} IS NOT NULL`,
  },
} satisfies Record<string, Statement>;

/** `$n::type` for each column, numbered from `first`. */
const typedParameters = (columns: readonly WritableColumn[], first: number) =>
  columns.map((column, index) => `$${first + index}::${taskColumns[column].type}`);

/** The columns a new task or a change sets, in the list's order: the statement's shape. */
const presentColumns = (fields: Partial<Record<WritableColumn, unknown>>) =>
  writableColumns.filter((column) => fields[column] !== undefined);

/**
 * An INSERT of the given columns (the others take their defaults). The owner's row is locked
 * while its count is compared, so concurrent creates of one owner take turns and the quota
 * holds exactly ("taskCount" is kept by a trigger on "Task").
 */
function createStatement(columns: readonly WritableColumn[]): Statement {
  return {
    name: `task_create(${columns.join(',')})`,
    text: `WITH owner AS (
             SELECT id, ${requestSettings('$4', '$5')} FROM "User"
             WHERE id = $2 AND "taskCount" < $3 FOR UPDATE
           )
           INSERT INTO "Task" (id, "ownerId", ${columns.map(quoted).join(', ')}, "updatedAt")
           SELECT $1, owner.id, ${typedParameters(columns, 6).join(', ')}, now() FROM owner
           RETURNING ${returnedColumns}`,
  };
}

/** An UPDATE of the given columns that bumps the version, when `$3` (if given) still matches it. */
function updateStatement(columns: readonly WritableColumn[]): Statement {
  const assignments = typedParameters(columns, 6).map(
    (parameter, index) => `${quoted(columns[index] ?? '')} = ${parameter}`,
  );
  return {
    name: `task_update_owned(${columns.join(',')})`,
    text: `UPDATE "Task" SET ${[...assignments, 'version = version + 1', '"updatedAt" = now()'].join(', ')}
           WHERE id = $1 AND "ownerId" = $2 AND ($3::int IS NULL OR version = $3)
             AND ${requestSettings('$4', '$5')} IS NOT NULL
           RETURNING ${returnedColumns}`,
  };
}

/** What every write may say about itself. */
export interface WriteOptions {
  /** The request that makes the write, recorded with its change in the feed. */
  requestId?: string | undefined;
}

/** A change or a deletion, applied only while the task is still at `expectedVersion`, if given. */
export interface ConditionalWrite extends WriteOptions {
  expectedVersion?: number | undefined;
}

/** What an idempotent create did: see `TaskRepository.createIdempotent`. */
export type IdempotentCreate =
  | { outcome: 'created' | 'replayed'; task: TaskRecord }
  | { outcome: 'key-reused' }
  | { outcome: 'quota-exceeded' };

/** A key's first use, as an idempotent create records it. */
export interface IdempotencyRecord {
  userId: string;
  key: string;
  /** Fingerprint of the request; the same key with another request is `key-reused`. */
  requestHash: string;
  /** The status of the first answer, stored with it. */
  responseStatus: number;
  /** Keys first used before this are forgotten: the request runs anew. */
  notBefore: Date;
}

/** Thrown inside the idempotent create's transaction to roll it back at the quota. */
class QuotaReached extends Error {}

/**
 * Every task query. Reads, creates, changes, deletes and listings are SQL written here on the
 * pool Prisma's adapter uses (Prisma's client costs several times the CPU on these hot routes);
 * the idempotent create, a transaction over two tables, goes through Prisma. Every method is
 * scoped to an owner: another owner's task is indistinguishable from none.
 * `task-repository.test.ts` holds the SQL to what Prisma reads and writes for the same task.
 */
export class TaskRepository {
  constructor(
    private readonly sql: StatementRunner,
    private readonly prisma: PrismaClient,
  ) {}

  async findOwned(id: string, ownerId: string): Promise<TaskRecord | null> {
    return this.first(statements.findOwned, [id, ownerId]);
  }

  /** The tasks among `ids` that `ownerId` owns, in no particular order. */
  async findManyOwned(ids: readonly string[], ownerId: string): Promise<TaskRecord[]> {
    return this.send(statements.findManyOwned, [ids, ownerId]);
  }

  async existsOwned(id: string, ownerId: string): Promise<boolean> {
    return (await this.send(statements.existsOwned, [id, ownerId])).length > 0;
  }

  /** Creates the task unless its owner already owns `maxOwned` tasks (or is gone): then `null`. */
  async create(
    task: NewTask,
    { maxOwned, requestId }: { maxOwned: number } & WriteOptions,
  ): Promise<TaskRecord | null> {
    const columns = presentColumns(task);
    return this.first(createStatement(columns), [
      uuidv7(),
      task.ownerId,
      maxOwned,
      requestId ?? null,
      currentTraceparent(),
      ...columns.map((column) => task[column]),
    ]);
  }

  /**
   * Creates the task and records `key`'s first answer in one transaction, or answers as that
   * first answer did: a concurrent duplicate waits on the key's primary key, fails, rolls its
   * own task back and replays. A retry replays even once the quota is reached.
   */
  async createIdempotent(
    task: NewTask,
    { maxOwned, requestId }: { maxOwned: number } & WriteOptions,
    { userId, key, requestHash, responseStatus, notBefore }: IdempotencyRecord,
  ): Promise<IdempotentCreate> {
    const where = { userId_key: { userId, key } };
    await this.prisma.idempotencyKey.deleteMany({
      where: { userId, key, createdAt: { lt: notBefore } },
    });
    try {
      const created = await this.prisma.$transaction(async (tx) => {
        if (!(await lockOwnerWithinQuota(tx, task.ownerId, maxOwned, requestId))) {
          throw new QuotaReached();
        }
        const record = await tx.task.create({ data: task, select: taskRecordSelect });
        await tx.idempotencyKey.create({
          data: {
            userId,
            key,
            requestHash,
            responseStatus,
            responseBody: JSON.parse(JSON.stringify(record)) as Prisma.InputJsonObject,
          },
        });
        return record;
      });
      return { outcome: 'created', task: created };
    } catch (error) {
      const quotaReached = error instanceof QuotaReached;
      if (!quotaReached && !isUniqueViolation(error)) throw error;
      const first = await this.prisma.idempotencyKey.findUnique({ where });
      if (!first) {
        if (quotaReached) return { outcome: 'quota-exceeded' };
        throw error;
      }
      if (first.requestHash !== requestHash) return { outcome: 'key-reused' };
      return { outcome: 'replayed', task: decodeStoredTask(first.responseBody) };
    }
  }

  /**
   * Applies `changes` and bumps the version; `null` when no task matches (or `expectedVersion`
   * is given and differs).
   */
  async updateOwned(
    id: string,
    ownerId: string,
    changes: TaskChanges,
    { expectedVersion, requestId }: ConditionalWrite = {},
  ): Promise<TaskRecord | null> {
    const columns = presentColumns(changes);
    return this.first(updateStatement(columns), [
      id,
      ownerId,
      expectedVersion ?? null,
      requestId ?? null,
      currentTraceparent(),
      ...columns.map((column) => changes[column]),
    ]);
  }

  /** Deletes the task; false when none matches (or `expectedVersion` is given and differs). */
  async deleteOwned(
    id: string,
    ownerId: string,
    { expectedVersion, requestId }: ConditionalWrite = {},
  ): Promise<boolean> {
    const result = await this.sql.query(statements.deleteOwned, [
      id,
      ownerId,
      expectedVersion ?? null,
      requestId ?? null,
      currentTraceparent(),
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  /**
   * Inserts tasks as they are, ids, versions and timestamps included (demo data, imports); a
   * task whose id exists is left alone, edited or not. A task given without a due date has none.
   * Resolves with how many were inserted. Quotas do not apply: this is for operators, not clients.
   */
  async insertMissing(
    tasks: (Omit<TaskRecord, 'dueAt'> &
      Partial<Pick<TaskRecord, 'dueAt'>> &
      Pick<Task, 'ownerId'>)[],
  ): Promise<number> {
    const { count } = await this.prisma.task.createMany({ data: tasks, skipDuplicates: true });
    return count;
  }

  /** One page of `query.ownerId`'s tasks: see `TaskListQuery`. */
  async list(query: TaskListQuery): Promise<TaskRecord[]> {
    const { statement, values } = listStatement(query);
    return this.send(statement, values);
  }

  private async first(statement: Statement, values: unknown[]): Promise<TaskRecord | null> {
    const [row] = await this.send(statement, values);
    return row ?? null;
  }

  private send(statement: Statement, values: unknown[]): Promise<TaskRecord[]> {
    return this.sql.rows<TaskRecord>(statement, values);
  }

  /**
   * Deletes up to `limit` idempotency keys created before `cutoff` (past their replay window);
   * resolves with how many.
   */
  purgeIdempotencyKeys(cutoff: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM "IdempotencyKey" WHERE ("userId", key) IN (
        SELECT "userId", key FROM "IdempotencyKey" WHERE "createdAt" < ${cutoff} LIMIT ${limit}
      )`;
  }
}

/**
 * Inside a Prisma transaction about to create a task for `ownerId`: locks the owner's row and
 * says whether the owner may have one more task (the same rule as `TaskRepository.create`).
 */
async function lockOwnerWithinQuota(
  tx: Prisma.TransactionClient,
  ownerId: string,
  maxOwned: number,
  requestId: string | undefined,
): Promise<boolean> {
  // The request rides along for the change and the jobs the task's insert makes (see
  // `requestSettings`).
  const rows = await tx.$queryRaw<unknown[]>`
    SELECT set_config('tasks.request_id', ${requestId ?? ''}, true),
           set_config('tasks.traceparent', ${currentTraceparent() ?? ''}, true)
    FROM "User" WHERE id = ${ownerId}::uuid AND "taskCount" < ${maxOwned} FOR UPDATE`;
  return rows.length > 0;
}
