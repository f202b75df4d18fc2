-- The jobs a traced request causes carry its trace: their runs link back to it. Kept by hand
-- (functions are outside the Prisma schema). The request's span is the transaction-local setting
-- `tasks.traceparent` (a W3C traceparent, set by the repository in the writing statement beside
-- `tasks.request_id`); without one, as outside a traced request, payloads are as before.
CREATE FUNCTION "job_payload_with_trace"(payload jsonb) RETURNS json LANGUAGE sql STABLE AS $$
  SELECT (payload || jsonb_strip_nulls(jsonb_build_object(
    'traceparent', nullif(current_setting('tasks.traceparent', true), '')
  )))::json
$$;

CREATE OR REPLACE FUNCTION "TaskChange_webhook_deliveries_created"() RETURNS trigger LANGUAGE plpgsql AS $$
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
    'webhook:deliver', "job_payload_with_trace"(jsonb_build_object('deliveryId', delivery."id")),
    max_attempts := 25
  )) INTO queued FROM delivery;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION "Task_due_jobs_scheduled"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM graphile_worker.add_job(
      'task:due', "job_payload_with_trace"(jsonb_build_object('taskId', "id", 'dueAt', "dueAt")),
      run_at := "dueAt", job_key := 'task:due:' || "id", job_key_mode := 'replace'
    )
    FROM new_rows WHERE "dueAt" IS NOT NULL AND "status" <> 'done';
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM CASE
      WHEN after."dueAt" IS NOT NULL AND after."status" <> 'done' THEN
        graphile_worker.add_job(
          'task:due',
          "job_payload_with_trace"(jsonb_build_object('taskId', after."id", 'dueAt', after."dueAt")),
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

CREATE OR REPLACE FUNCTION "User_verification_mail_queued"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM graphile_worker.add_job(
    'mail:email-verification', "job_payload_with_trace"(jsonb_build_object('userId', "id")),
    job_key := 'mail:email-verification:' || "id"
  )
  FROM new_rows WHERE "emailVerifiedAt" IS NULL;
  RETURN NULL;
END;
$$;
