import { z } from 'zod';
import {
  createTaskInput,
  deleteTaskInput,
  listTasksInput,
  taskIdInput,
  taskOutput,
  taskPageOutput,
  updateTaskInput,
} from '../schemas/task.js';
import { tracked } from '@trpc/server';
import { toApiError } from '../errors.js';
import { changePageOutput, followChangesInput, listChangesInput } from '../schemas/change.js';
import { idempotencyKey, ifMatch, lastEventId } from '../header-inputs.js';
import { protectedProcedure, router } from '../trpc.js';

const tags = ['tasks'];

export const tasksRouter = router({
  create: protectedProcedure
    .meta({
      tokenScope: 'tasks:write',
      openapi: {
        method: 'POST',
        path: '/tasks',
        tags,
        summary: 'Create a task',
        description:
          'Creates a task owned by the caller. Send an `Idempotency-Key` to retry safely: the same key and body within 24 h replay the first response. A user owns at most `TASK_QUOTA_PER_USER` tasks (10 000 by default).',
      },
      success: {
        status: 201,
        description: 'The created task',
        location: '/tasks/{id}',
        etag: true,
      },
      headerInputs: [idempotencyKey],
      errors: ['QUOTA_EXCEEDED'],
    })
    .input(createTaskInput)
    .output(taskOutput)
    .mutation(({ ctx, input }) =>
      ctx.services.tasks.create(ctx.userId, input, { requestId: ctx.requestId }),
    ),

  list: protectedProcedure
    .meta({
      tokenScope: 'tasks:read',
      openapi: {
        method: 'GET',
        path: '/tasks',
        tags,
        summary: 'List your tasks',
        description:
          'Newest first by default; filter by `status` (repeatable), `q`, `dueBefore` and `dueAfter`, order by `sort` and `order`. Keyset-paginated: pass `nextCursor` back as `cursor`, with the same `sort` and `order`, for the next page.',
      },
      success: { status: 200, description: 'One page of tasks' },
    })
    .input(listTasksInput)
    .output(taskPageOutput)
    .query(({ ctx, input }) => ctx.services.tasks.list(ctx.userId, input)),

  get: protectedProcedure
    .meta({
      tokenScope: 'tasks:read',
      openapi: {
        method: 'GET',
        path: '/tasks/{id}',
        tags,
        summary: 'Read a task',
        description: "The `ETag` header carries the task's version for a later `If-Match`.",
      },
      success: { status: 200, description: 'The task', etag: true },
      errors: ['TASK_NOT_FOUND'],
    })
    .input(taskIdInput)
    .output(taskOutput)
    .query(({ ctx, input }) => ctx.services.tasks.get(ctx.userId, input.id, ctx.taskReads)),

  update: protectedProcedure
    .meta({
      tokenScope: 'tasks:write',
      openapi: {
        method: 'PATCH',
        path: '/tasks/{id}',
        tags,
        summary: 'Change a task',
        description:
          'Send any of title, description, status, dueAt; `description: null` and `dueAt: null` clear them. With `If-Match`, the change applies only if the task has not changed since (412 otherwise).',
      },
      success: { status: 200, description: 'The updated task', etag: true },
      headerInputs: [ifMatch],
      errors: ['TASK_NOT_FOUND'],
    })
    .input(updateTaskInput)
    .output(taskOutput)
    .mutation(({ ctx, input }) =>
      ctx.services.tasks.update(ctx.userId, input, { requestId: ctx.requestId }),
    ),

  delete: protectedProcedure
    .meta({
      tokenScope: 'tasks:write',
      openapi: {
        method: 'DELETE',
        path: '/tasks/{id}',
        tags,
        summary: 'Delete a task',
        description:
          'With `If-Match`, deletes only if the task has not changed since (412 otherwise).',
      },
      success: { status: 204, description: 'The task was deleted' },
      headerInputs: [ifMatch],
      errors: ['TASK_NOT_FOUND'],
    })
    .input(deleteTaskInput)
    .output(z.void())
    .mutation(({ ctx, input }) =>
      ctx.services.tasks.delete(ctx.userId, input, { requestId: ctx.requestId }),
    ),

  changes: protectedProcedure
    .meta({
      tokenScope: 'tasks:read',
      openapi: {
        method: 'GET',
        path: '/tasks/changes',
        tags,
        summary: 'Changes to your tasks',
        description:
          'Creates, updates and deletes of your tasks after a cursor, oldest first. Without `since`: no changes and the current cursor, so take a cursor, list the tasks, then apply the changes after it. Changes are kept `CHANGES_RETENTION_DAYS` (7 by default); an older cursor is 410.',
      },
      success: {
        status: 200,
        description: 'The changes after the cursor and the cursor after them',
      },
      errors: ['CHANGES_EXPIRED'],
    })
    .input(listChangesInput)
    .output(changePageOutput)
    .query(({ ctx, input }) => ctx.services.changes.page(ctx.userId, input)),

  onChange: protectedProcedure
    .meta({
      tokenScope: 'tasks:read',
      eventStream: {
        path: '/tasks/events',
        tags,
        summary: 'Follow changes to your tasks live',
        description:
          'Server-sent events: one per change (`id:` its cursor, `event:` its type, `data:` the Change), from `Last-Event-ID` or `since` (else from now on), and a comment at least every 15 s. The stream ends when the access token expires or its session is revoked (an `error` event says so): reconnect with a fresh token and the last id. Send the token in `Authorization`, never in the URL.',
      },
      headerInputs: [lastEventId],
      errors: ['CHANGES_EXPIRED', 'TOO_MANY_STREAMS'],
    })
    .input(followChangesInput)
    .subscription(({ ctx, input, signal }) => {
      const changes = ctx.services.changes.follow({
        userId: ctx.userId,
        since: input.lastEventId ?? input.since,
        sinceField: input.lastEventId ? 'lastEventId' : 'since',
        // Only a refused token ends the stream; a database too busy to say keeps it going.
        stillAuthorized: () =>
          ctx.services.auth.authenticate(ctx.authorization).then(
            () => true,
            (error: unknown) => toApiError(error).apiCode !== 'UNAUTHENTICATED',
          ),
        signal,
        log: ctx.log,
      });
      return (async function* () {
        for await (const change of changes) yield tracked(change.id, change);
      })();
    }),
});
