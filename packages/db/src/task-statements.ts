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

const returnedColumns = 'id, title, description, status, version, "createdAt", "updatedAt"';

interface Statement {
  /** The prepared statement's name on each connection, when statements are prepared. */
  name: string;
  text: string;
}

const statements = {
  findOwned: {
    name: 'task_find_owned',
    text: `SELECT ${returnedColumns} FROM "Task" WHERE id = $1 AND "ownerId" = $2`,
  },
  create: {
    name: 'task_create',
    text: `INSERT INTO "Task" (id, "ownerId", title, description, status, "updatedAt")
           VALUES ($1, $2, $3, $4, COALESCE($5::"TaskStatus", 'open'), now())
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
 * The statements of the busiest task routes (read, create, change by id), written in SQL on the
 * pool Prisma's adapter uses. Through Prisma's client each cost ~180 us of CPU here against
 * ~45 us this way (bench/ and issue 7): the largest single cost of those routes. Everything
 * else, every schema change and every transaction stays with Prisma; `task-statements.test.ts`
 * holds these to what the Prisma equivalents return.
 */
export class TaskStatements {
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: TaskStatementsOptions,
  ) {}

  async findOwned(id: string, ownerId: string): Promise<TaskRecord | null> {
    return this.first(statements.findOwned, [id, ownerId]);
  }

  async create({ ownerId, title, description, status }: NewTask): Promise<TaskRecord> {
    const id = uuidv7(Date.now());
    const task = await this.first(statements.create, [
      id,
      ownerId,
      title,
      description ?? null,
      status ?? null,
    ]);
    if (!task) throw new Error('INSERT ... RETURNING returned no row');
    return task;
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

  private async first(statement: Statement, values: unknown[]): Promise<TaskRecord | null> {
    const { rows } = await this.pool.query<TaskRecord>(
      this.options.prepared ? { ...statement, values } : { text: statement.text, values },
    );
    return rows[0] ?? null;
  }
}
