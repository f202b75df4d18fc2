-- AlterTable
ALTER TABLE "Task" ADD COLUMN     "dueAt" TIMESTAMPTZ(3);

-- CreateIndex (kept by hand: Prisma cannot declare an expression index; see the Task model)
-- Keyset listing by due date: a task without one sorts as if due at 'infinity', so one index
-- serves both directions (undated tasks last ascending, first descending), the id breaking ties.
CREATE INDEX "Task_ownerId_dueAt_coalesced_id_idx" ON "Task"("ownerId", (COALESCE("dueAt", 'infinity'::timestamptz)), "id");
