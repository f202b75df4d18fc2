-- AlterTable
ALTER TABLE "User" ADD COLUMN     "taskCount" INTEGER NOT NULL DEFAULT 0;

-- Kept by hand (triggers are outside the Prisma schema): the number of tasks each user owns,
-- maintained by the database on every path that writes tasks (the API, seeds, Prisma Studio),
-- so that the per-user task quota is one indexed comparison instead of a count.
UPDATE "User" SET "taskCount" = (SELECT count(*) FROM "Task" WHERE "Task"."ownerId" = "User"."id");

CREATE FUNCTION "Task_count_per_owner"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE "User" SET "taskCount" = "taskCount" + 1 WHERE "id" = NEW."ownerId";
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE "User" SET "taskCount" = "taskCount" - 1 WHERE "id" = OLD."ownerId";
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "Task_count_per_owner"
  AFTER INSERT OR DELETE OR UPDATE OF "ownerId" ON "Task"
  FOR EACH ROW EXECUTE FUNCTION "Task_count_per_owner"();
