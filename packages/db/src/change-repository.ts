import { decodeStoredTask, type TaskRecord } from './task-repository.js';
import type { Statement, StatementRunner } from './statements.js';

/** `task.due`: the job of a task's due date ran while it was not done (see the webhooks migration). */
export const changeTypes = ['task.created', 'task.updated', 'task.deleted', 'task.due'] as const;
export type ChangeType = (typeof changeTypes)[number];

/**
 * A place in the feed: changes are ordered by the writing transaction's id, then by their own.
 * Transactions commit out of that order, so readers only ever return changes of transactions
 * older than every one still running: whatever commits later sorts after what they returned.
 */
export interface ChangePosition {
  transactionId: bigint;
  id: bigint;
}

export interface ChangeRecord {
  position: ChangePosition;
  type: ChangeType;
  taskId: string;
  /** The task after the change; null for a deletion. */
  task: TaskRecord | null;
  requestId: string | null;
  occurredAt: Date;
}

interface ChangeRow {
  /** The writing transaction is older than every one still running: nothing can sort before it. */
  final: boolean;
  id: string;
  transactionId: string;
  userId: string;
  type: ChangeType;
  taskId: string;
  task: unknown;
  requestId: string | null;
  occurredAt: Date;
}

/** The oldest transaction still running: everything below it is final. */
const finishedBelow = 'pg_snapshot_xmin(pg_current_snapshot())::text::bigint';

const statements = {
  horizon: { name: 'change_horizon', text: `SELECT ${finishedBelow}::text AS "transactionId"` },
  after: {
    name: 'change_after',
    text: `SELECT "transactionId" < ${finishedBelow} AS final, id::text, "transactionId"::text,
                  "userId", type, "taskId", task, "requestId", "occurredAt"
           FROM "TaskChange"
           WHERE "userId" = $1 AND ("transactionId", id) > ($2::bigint, $3::bigint)
           ORDER BY "transactionId", id LIMIT $4`,
  },
  anyAfter: {
    name: 'change_any_after',
    text: `SELECT "transactionId" < ${finishedBelow} AS final, id::text, "transactionId"::text,
                  "userId"
           FROM "TaskChange"
           WHERE ("transactionId", id) > ($1::bigint, $2::bigint)
           ORDER BY "transactionId", id LIMIT $3`,
  },
  // Once per due date: a job that runs again (its worker died after this commit) adds nothing.
  due: {
    name: 'change_due',
    text: `INSERT INTO "TaskChange" ("userId", type, "taskId", task)
           SELECT "ownerId", 'task.due', id, to_jsonb(due) - 'ownerId'
           FROM "Task" AS due
           WHERE id = $1 AND "dueAt" = $2::timestamptz AND "dueAt" <= now() AND status <> 'done'
             AND NOT EXISTS (
               SELECT FROM "TaskChange"
               WHERE "taskId" = $1 AND type = 'task.due' AND (task->>'dueAt')::timestamptz = $2::timestamptz
             )
           RETURNING "userId"`,
  },
  prune: {
    name: 'change_prune',
    text: `DELETE FROM "TaskChange" WHERE id IN (
             SELECT id FROM "TaskChange" WHERE "occurredAt" < $1 ORDER BY "occurredAt" LIMIT $2
           )`,
  },
} satisfies Record<string, Statement>;

/** Rows in position order up to the first that is not final yet. */
function finalPrefix<Row extends { final: boolean }>(rows: Row[]): Row[] {
  const pending = rows.findIndex((row) => !row.final);
  return pending === -1 ? rows : rows.slice(0, pending);
}

const positionOf = (row: Pick<ChangeRow, 'transactionId' | 'id'>): ChangePosition => ({
  transactionId: BigInt(row.transactionId),
  id: BigInt(row.id),
});

/**
 * A change as one JSON value, for statements of other tables that carry the change they concern
 * (`alias` names the "TaskChange" row); `changeFromJson` reads it back.
 */
export const changeAsJson = (alias: string) =>
  `json_build_object('id', ${alias}.id::text, 'transactionId', ${alias}."transactionId"::text,
     'type', ${alias}.type, 'taskId', ${alias}."taskId", 'task', ${alias}.task,
     'requestId', ${alias}."requestId", 'occurredAt', ${alias}."occurredAt")`;

export function changeFromJson(json: unknown): ChangeRecord {
  const row = json as Omit<ChangeRow, 'final' | 'userId' | 'occurredAt'> & { occurredAt: string };
  return toChangeRecord({ ...row, occurredAt: new Date(row.occurredAt) });
}

const toChangeRecord = (row: Omit<ChangeRow, 'final' | 'userId'>): ChangeRecord => ({
  position: positionOf(row),
  type: row.type,
  taskId: row.taskId,
  task: row.task === null ? null : decodeStoredTask(row.task),
  requestId: row.requestId,
  occurredAt: row.occurredAt,
});

/** The change feed's rows (written by triggers on "Task", see the task_changes migration). */
export class ChangeRepository {
  constructor(private readonly sql: StatementRunner) {}

  /**
   * Where the feed stands now: every change after it is one a reader has not seen yet (or, for
   * transactions that committed out of order, may see again: readers deduplicate by position).
   */
  async horizon(): Promise<ChangePosition> {
    const [row] = await this.sql.rows<{ transactionId: string }>(statements.horizon, []);
    return { transactionId: BigInt(row?.transactionId ?? 0), id: 0n };
  }

  /**
   * Up to `limit` of `userId`'s changes after `position`, oldest first, as far as they are final.
   * `heldBack`: committed changes follow that an older transaction still running holds back
   * (it may yet commit a change that sorts before them); ask again in a moment.
   */
  async after(
    userId: string,
    position: ChangePosition,
    limit: number,
  ): Promise<{ changes: ChangeRecord[]; heldBack: boolean }> {
    const rows = await this.sql.rows<ChangeRow>(statements.after, [
      userId,
      position.transactionId.toString(),
      position.id.toString(),
      limit,
    ]);
    const final = finalPrefix(rows);
    return { changes: final.map(toChangeRecord), heldBack: final.length < rows.length };
  }

  /** One change by its row id (a webhook delivery's), whoever it belongs to. */
  /**
   * Records `task.due` for a task whose due date `dueAt` has come, unless it is done, its due date
   * moved, or it was recorded already. Resolves with the owner when it recorded one.
   */
  async recordDue(taskId: string, dueAt: string): Promise<string | null> {
    const [row] = await this.sql.rows<{ userId: string }>(statements.due, [taskId, dueAt]);
    return row?.userId ?? null;
  }

  /**
   * Whose changes came after `position`, whoever they belong to (up to `limit` changes), and the
   * position of the last one: what an instance polls when no notification reaches it.
   */
  async usersChangedAfter(
    position: ChangePosition,
    limit: number,
  ): Promise<{ userIds: Set<string>; position: ChangePosition }> {
    const rows = finalPrefix(
      await this.sql.rows<Pick<ChangeRow, 'final' | 'id' | 'transactionId' | 'userId'>>(
        statements.anyAfter,
        [position.transactionId.toString(), position.id.toString(), limit],
      ),
    );
    const last = rows.at(-1);
    return {
      userIds: new Set(rows.map((row) => row.userId)),
      position: last ? positionOf(last) : position,
    };
  }

  /** Deletes up to `limit` changes that occurred before `cutoff`; resolves with how many. */
  async deleteOlderThan(cutoff: Date, limit: number): Promise<number> {
    return (await this.sql.query(statements.prune, [cutoff, limit])).rowCount ?? 0;
  }
}
