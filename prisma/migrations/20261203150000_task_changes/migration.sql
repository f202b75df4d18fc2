-- The change feed: every committed write of a task appends one row here, in the write's own
-- transaction, by triggers (so every path that writes tasks, the API, seeds, imports and Prisma
-- Studio alike, is covered, and a rolled-back write leaves nothing).
CREATE TABLE "TaskChange" (
    "id" BIGSERIAL NOT NULL,
    "transactionId" BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    "userId" UUID NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "taskId" UUID NOT NULL,
    "task" JSONB,
    "requestId" VARCHAR(200),
    "occurredAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TaskChange_pkey" PRIMARY KEY ("id")
);

-- A reader's next page: one user's changes in (transactionId, id) order, after its cursor.
CREATE INDEX "TaskChange_userId_transactionId_id_idx" ON "TaskChange"("userId", "transactionId", "id");
-- The instance-wide watcher: every change after a position, whoever it belongs to.
CREATE INDEX "TaskChange_transactionId_id_idx" ON "TaskChange"("transactionId", "id");
-- Retention: the oldest rows go first.
CREATE INDEX "TaskChange_occurredAt_idx" ON "TaskChange"("occurredAt");

ALTER TABLE "TaskChange" ADD CONSTRAINT "TaskChange_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Kept by hand (triggers are outside the Prisma schema). The task after the change is the row
-- as JSON without its owner: a new column appears in it without touching these functions. The
-- request that caused the change, when the API made it, is the transaction-local setting
-- `tasks.request_id` (set by the repository in the same statement or transaction).
CREATE FUNCTION "Task_changes_recorded"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  request_id text := nullif(current_setting('tasks.request_id', true), '');
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "TaskChange" ("userId", "type", "taskId", "task", "requestId")
    SELECT "ownerId", 'task.created', "id", to_jsonb(changed) - 'ownerId', request_id FROM changed;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO "TaskChange" ("userId", "type", "taskId", "task", "requestId")
    SELECT "ownerId", 'task.updated', "id", to_jsonb(changed) - 'ownerId', request_id FROM changed;
  ELSE
    INSERT INTO "TaskChange" ("userId", "type", "taskId", "task", "requestId")
    SELECT "ownerId", 'task.deleted', "id", NULL, request_id FROM changed;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "Task_changes_inserted"
  AFTER INSERT ON "Task" REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION "Task_changes_recorded"();

CREATE TRIGGER "Task_changes_updated"
  AFTER UPDATE ON "Task" REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION "Task_changes_recorded"();

CREATE TRIGGER "Task_changes_deleted"
  AFTER DELETE ON "Task" REFERENCING OLD TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION "Task_changes_recorded"();
