import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Prisma } from './generated/prisma/client.js';
import type { TaskStatus } from './generated/prisma/enums.js';

/** A task as the API returns it (Prisma's `Task` without `ownerId`). */
export interface TaskRecord {
  id: string;
  title: string;
  description: string | null;
  status: TaskStatus;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The same columns through Prisma, for the task queries that stay with it. */
export const taskRecordSelect = {
  id: true,
  title: true,
  description: true,
  status: true,
  version: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.TaskSelect;

export interface NewTask {
  ownerId: string;
  title: string;
  description?: string | null | undefined;
  status?: TaskStatus | undefined;
}

export interface TaskChanges {
  title?: string | undefined;
  /** `null` clears it; `undefined` leaves it. */
  description?: string | null | undefined;
  status?: TaskStatus | undefined;
}

export type TaskSortField = 'createdAt' | 'updatedAt' | 'title';
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
  /** Rows strictly after this one in the listing's order: its sort key and id. */
  after?: { key: string | Date; id: string } | undefined;
  /** Rows to return at most. */
  limit: number;
}

/** A statement as sent, for whoever inspects them (`DatabaseClientOptions.onQuery`). */
export interface SentStatement {
  sql: string;
  params: unknown[];
}

const returnedColumns = 'id, title, description, status, version, "createdAt", "updatedAt"';

const sortColumns: Record<TaskSortField, string> = {
  createdAt: '"createdAt"',
  updatedAt: '"updatedAt"',
  title: 'title',
};

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
 * starts at the cursor and page 10 000 costs what page 1 costs (list-query-plan.test.ts).
 */
function listStatement({ ownerId, sort, order, statuses, contains, after, limit }: TaskListQuery) {
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
  const column = sortColumns[sort];
  if (after) {
    shape.push('after');
    const [inclusive, exclusive] = order === 'desc' ? ['<=', '<'] : ['>=', '>'];
    const key = parameter(after.key);
    const id = parameter(after.id);
    conditions.push(
      `${column} ${inclusive} ${key}`,
      `(${column} ${exclusive} ${key} OR id ${exclusive} ${id})`,
    );
  }
  const direction = order === 'desc' ? 'DESC' : 'ASC';
  const statement: Statement = {
    name: contains === undefined ? shape.join('_') : undefined,
    text: `SELECT ${returnedColumns} FROM "Task" WHERE ${conditions.join(' AND ')}
           ORDER BY ${column} ${direction}, id ${direction} LIMIT ${parameter(limit)}`,
  };
  return { statement, values };
}

interface Statement {
  /** The prepared statement's name on each connection, when statements are prepared. */
  name: string | undefined;
  text: string;
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
  // The owner's row is locked while its count is compared, so concurrent creates of one owner
  // take turns and the quota holds exactly ("taskCount" is kept by a trigger on "Task").
  create: {
    name: 'task_create',
    text: `WITH owner AS (
             SELECT id FROM "User" WHERE id = $2 AND "taskCount" < $6 FOR UPDATE
           )
           INSERT INTO "Task" (id, "ownerId", title, description, status, "updatedAt")
           SELECT $1, owner.id, $3, $4, COALESCE($5::"TaskStatus", 'open'), now() FROM owner
           RETURNING ${returnedColumns}`,
  },
  updateOwned: {
    name: 'task_update_owned',
    text: `UPDATE "Task" SET
             title = COALESCE($3, title),
             description = CASE WHEN $4::boolean THEN $5 ELSE description END,
             status = COALESCE($6::"TaskStatus", status),
             version = version + 1,
             "updatedAt" = now()
           WHERE id = $1 AND "ownerId" = $2 AND ($7::int IS NULL OR version = $7)
           RETURNING ${returnedColumns}`,
  },
} satisfies Record<string, Statement>;

export interface TaskStatementsOptions {
  /**
   * Prepare each statement once per connection (named statements), so PostgreSQL parses and
   * plans it once instead of on every query: in the benchmark, a task read went from 0.50x to
   * 0.65x the hand-written baseline's throughput with this alone. Switch it off where a
   * connection is not one server session: the embedded PGlite (every connection shares its one
   * session, so a name prepared on one already exists on the next) and PgBouncer in transaction
   * mode before 1.21 or without `max_prepared_statements`.
   */
  prepared: boolean;
  /** Called with each statement before it is sent. */
  onQuery?: ((statement: SentStatement) => void) | undefined;
}

/** A version 7 UUID, as the schema's `@default(uuid(7))`: 48-bit milliseconds, then randomness. */
function uuidv7(now: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The statements of the busiest task routes (read, create, change by id, list), written in SQL
 * on the pool Prisma's adapter uses. Through Prisma's client a read cost ~180 us of CPU here
 * against ~45 us this way, and a 51-row page ~400 us more (bench/ and issue 7): the largest
 * single cost of those routes. Deletes, transactions (idempotent creates), accounts and every
 * schema change stay with Prisma; `task-statements.test.ts` holds these statements to what the
 * Prisma equivalents return.
 */
export class TaskStatements {
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: TaskStatementsOptions,
  ) {}

  async findOwned(id: string, ownerId: string): Promise<TaskRecord | null> {
    return this.first(statements.findOwned, [id, ownerId]);
  }

  /** The tasks among `ids` that `ownerId` owns, in no particular order. */
  async findManyOwned(ids: readonly string[], ownerId: string): Promise<TaskRecord[]> {
    return this.send(statements.findManyOwned, [ids, ownerId]);
  }

  /** Creates the task unless its owner already owns `maxOwned` tasks (or is gone): then `null`. */
  async create(
    { ownerId, title, description, status }: NewTask,
    { maxOwned }: { maxOwned: number },
  ): Promise<TaskRecord | null> {
    return this.first(statements.create, [
      uuidv7(Date.now()),
      ownerId,
      title,
      description ?? null,
      status ?? null,
      maxOwned,
    ]);
  }

  /** Applies `changes` and bumps the version; `null` when no task matches (or `version` differs). */
  async updateOwned(
    id: string,
    ownerId: string,
    changes: TaskChanges,
    expectedVersion?: number,
  ): Promise<TaskRecord | null> {
    return this.first(statements.updateOwned, [
      id,
      ownerId,
      changes.title ?? null,
      changes.description !== undefined,
      changes.description ?? null,
      changes.status ?? null,
      expectedVersion ?? null,
    ]);
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

  private async send(statement: Statement, values: unknown[]): Promise<TaskRecord[]> {
    this.options.onQuery?.({ sql: statement.text, params: values });
    const { rows } = await this.pool.query<TaskRecord>(
      this.options.prepared && statement.name !== undefined
        ? { name: statement.name, text: statement.text, values }
        : { text: statement.text, values },
    );
    return rows;
  }
}

/**
 * Inside a Prisma transaction about to create a task for `ownerId`: locks the owner's row and
 * says whether the owner may have one more task (the same rule as `TaskStatements.create`).
 */
export async function lockOwnerWithinQuota(
  tx: Prisma.TransactionClient,
  ownerId: string,
  maxOwned: number,
): Promise<boolean> {
  const rows = await tx.$queryRaw<unknown[]>`
    SELECT 1 FROM "User" WHERE id = ${ownerId}::uuid AND "taskCount" < ${maxOwned} FOR UPDATE`;
  return rows.length > 0;
}
