-- Webhook endpoints, their deliveries and attempts; jobs enqueued by triggers in the writing
-- transaction itself (graphile-worker's `add_job`, whose schema `applyMigrations` installs first),
-- so a rolled-back write enqueues nothing and a committed one never loses its job.

-- CreateTable
CREATE TABLE "WebhookEndpoint" (
    "id" UUID NOT NULL,
    "ownerId" UUID NOT NULL,
    "url" VARCHAR(2000) NOT NULL,
    "description" VARCHAR(500),
    "events" VARCHAR(40)[],
    "secret" VARCHAR(100) NOT NULL,
    "disabledAt" TIMESTAMPTZ(3),
    "disabledReason" VARCHAR(300),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "WebhookEndpoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WebhookDelivery" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "endpointId" UUID NOT NULL,
    "eventType" VARCHAR(40) NOT NULL,
    "changeId" BIGINT,
    "payload" JSON,
    "status" VARCHAR(20) NOT NULL DEFAULT 'pending',
    "attemptCount" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMPTZ(3) DEFAULT CURRENT_TIMESTAMP,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WebhookDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WebhookAttempt" (
    "id" BIGSERIAL NOT NULL,
    "deliveryId" UUID NOT NULL,
    "attemptedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "responseStatus" INTEGER,
    "durationMs" INTEGER NOT NULL,
    "error" VARCHAR(300),
    "responseExcerpt" VARCHAR(1024),

    CONSTRAINT "WebhookAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "JobWorker" (
    "id" VARCHAR(100) NOT NULL,
    "hostname" VARCHAR(255) NOT NULL,
    "pid" INTEGER NOT NULL,
    "startedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "seenAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "JobWorker_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Session_expiresAt_idx" ON "Session"("expiresAt");

-- CreateIndex
CREATE INDEX "Session_revokedAt_idx" ON "Session"("revokedAt");

-- CreateIndex
CREATE INDEX "WebhookEndpoint_ownerId_id_idx" ON "WebhookEndpoint"("ownerId", "id");

-- CreateIndex
CREATE INDEX "WebhookDelivery_endpointId_createdAt_id_idx" ON "WebhookDelivery"("endpointId", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "WebhookDelivery_createdAt_idx" ON "WebhookDelivery"("createdAt");

-- CreateIndex
CREATE INDEX "WebhookAttempt_deliveryId_id_idx" ON "WebhookAttempt"("deliveryId", "id");

-- AddForeignKey
ALTER TABLE "WebhookEndpoint" ADD CONSTRAINT "WebhookEndpoint_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookDelivery" ADD CONSTRAINT "WebhookDelivery_endpointId_fkey" FOREIGN KEY ("endpointId") REFERENCES "WebhookEndpoint"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookAttempt" ADD CONSTRAINT "WebhookAttempt_deliveryId_fkey" FOREIGN KEY ("deliveryId") REFERENCES "WebhookDelivery"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Every change of a user becomes one delivery per enabled endpoint of theirs that wants its type
-- (no types listed: all), each with its delivery job, in the transaction of the change.
CREATE FUNCTION "TaskChange_webhook_deliveries_created"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  queued integer;
BEGIN
  WITH delivery AS (
    INSERT INTO "WebhookDelivery" ("endpointId", "eventType", "changeId")
    SELECT endpoint."id", change."type", change."id"
    FROM recorded AS change
    JOIN "WebhookEndpoint" AS endpoint ON endpoint."ownerId" = change."userId"
    WHERE endpoint."disabledAt" IS NULL
      AND (coalesce(cardinality(endpoint."events"), 0) = 0 OR change."type" = ANY (endpoint."events"))
    RETURNING "id"
  )
  SELECT count(graphile_worker.add_job(
    'webhook:deliver', json_build_object('deliveryId', delivery."id"), max_attempts := 25
  )) INTO queued FROM delivery;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "TaskChange_webhook_deliveries"
  AFTER INSERT ON "TaskChange" REFERENCING NEW TABLE AS recorded
  FOR EACH STATEMENT EXECUTE FUNCTION "TaskChange_webhook_deliveries_created"();

-- A task that is due and not done has one `task:due` job, keyed by the task: moving its due date
-- reschedules that job, completing or deleting the task removes it (the job checks again when it
-- runs, so a removal that loses a race with a running job changes nothing).
CREATE FUNCTION "Task_due_jobs_scheduled"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM graphile_worker.add_job(
      'task:due', json_build_object('taskId', "id", 'dueAt', "dueAt"),
      run_at := "dueAt", job_key := 'task:due:' || "id", job_key_mode := 'replace'
    )
    FROM new_rows WHERE "dueAt" IS NOT NULL AND "status" <> 'done';
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM CASE
      WHEN after."dueAt" IS NOT NULL AND after."status" <> 'done' THEN
        graphile_worker.add_job(
          'task:due', json_build_object('taskId', after."id", 'dueAt', after."dueAt"),
          run_at := after."dueAt", job_key := 'task:due:' || after."id", job_key_mode := 'replace'
        )
      ELSE graphile_worker.remove_job('task:due:' || after."id")
    END
    FROM new_rows AS after JOIN old_rows AS before ON before."id" = after."id"
    WHERE after."dueAt" IS DISTINCT FROM before."dueAt"
       OR (after."status" = 'done') IS DISTINCT FROM (before."status" = 'done');
  ELSE
    PERFORM graphile_worker.remove_job('task:due:' || "id") FROM old_rows WHERE "dueAt" IS NOT NULL;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "Task_due_jobs_inserted"
  AFTER INSERT ON "Task" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "Task_due_jobs_scheduled"();

CREATE TRIGGER "Task_due_jobs_updated"
  AFTER UPDATE ON "Task" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "Task_due_jobs_scheduled"();

CREATE TRIGGER "Task_due_jobs_deleted"
  AFTER DELETE ON "Task" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "Task_due_jobs_scheduled"();
