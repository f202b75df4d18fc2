-- AlterTable
ALTER TABLE "User" ADD COLUMN     "taskCount" INTEGER NOT NULL DEFAULT 0;

-- Kept by hand (triggers are outside the Prisma schema): the number of tasks each user owns,
-- maintained by the database on every path that writes tasks (the API, seeds, imports, Prisma
-- Studio), so that the per-user task quota is one comparison instead of a count. Per statement,
-- over its transition table: a bulk insert updates each owner once, not once per row.
UPDATE "User" SET "taskCount" = (SELECT count(*) FROM "Task" WHERE "Task"."ownerId" = "User"."id");

CREATE FUNCTION "Task_count_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "User" SET "taskCount" = "User"."taskCount" + added.tasks
  FROM (SELECT "ownerId", count(*) AS tasks FROM inserted GROUP BY "ownerId") AS added
  WHERE "User"."id" = added."ownerId";
  RETURN NULL;
END;
$$;

CREATE TRIGGER "Task_count_inserted"
  AFTER INSERT ON "Task" REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION "Task_count_inserted"();

CREATE FUNCTION "Task_count_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "User" SET "taskCount" = "User"."taskCount" - removed.tasks
  FROM (SELECT "ownerId", count(*) AS tasks FROM deleted GROUP BY "ownerId") AS removed
  WHERE "User"."id" = removed."ownerId";
  RETURN NULL;
END;
$$;

CREATE TRIGGER "Task_count_deleted"
  AFTER DELETE ON "Task" REFERENCING OLD TABLE AS deleted
  FOR EACH STATEMENT EXECUTE FUNCTION "Task_count_deleted"();

-- A task given to another owner (never by the API; by hand, in Studio) moves its count along.
CREATE FUNCTION "Task_count_moved"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "User" SET "taskCount" = "taskCount" - 1 WHERE "id" = OLD."ownerId";
  UPDATE "User" SET "taskCount" = "taskCount" + 1 WHERE "id" = NEW."ownerId";
  RETURN NULL;
END;
$$;

CREATE TRIGGER "Task_count_moved"
  AFTER UPDATE OF "ownerId" ON "Task"
  FOR EACH ROW WHEN (OLD."ownerId" IS DISTINCT FROM NEW."ownerId")
  EXECUTE FUNCTION "Task_count_moved"();
