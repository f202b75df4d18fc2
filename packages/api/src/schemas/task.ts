import { z } from 'zod';
import { idInput, timestamp, timestampInput, uuid, withoutNul } from './common.js';

const taskStatus = z.enum(['open', 'in_progress', 'done']);
const title = withoutNul(z.string().trim().min(1).max(200)).meta({
  examples: ['Write the release notes'],
});
const description = withoutNul(z.string().max(2000))
  .nullable()
  .meta({ examples: ['Cover the new search'] });
const dueAt = timestampInput.nullable().meta({
  description: 'When the task is due; null for no due date',
  examples: ['2026-12-04T17:00:00.000Z'],
});

export const taskOutput = z
  .object({
    id: uuid,
    title: z.string().meta({ examples: ['Write the release notes'] }),
    description: z
      .string()
      .nullable()
      .meta({ examples: ['Cover the new search'] }),
    status: taskStatus,
    dueAt: timestamp.nullable().meta({
      description: 'When the task is due (UTC); null when it has none',
      examples: ['2026-12-04T17:00:00.000Z'],
    }),
    version: z
      .number()
      .int()
      .min(1)
      .meta({ description: 'Bumped on every change; the ETag quotes it', examples: [1] }),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Task' });

export const taskIdInput = z.object({ id: idInput });

/** REST clients send it as `If-Match: "<version>"`; tRPC clients pass it directly. */
const expectedVersion = z
  .number()
  .int()
  .min(1)
  // The column is a 4-byte integer: a larger version matches no task, and the database would
  // refuse to compare with it.
  .max(2_147_483_647)
  .optional()
  .meta({ description: 'Fail with 412 unless the task still has this version' });

export const deleteTaskInput = taskIdInput.extend({ expectedVersion });

export const createTaskInput = z.object({
  title,
  description: description.optional(),
  status: taskStatus.optional(),
  dueAt: dueAt.optional(),
  /** REST clients send it as the `Idempotency-Key` header. */
  idempotencyKey: withoutNul(z.string().min(1).max(255))
    .optional()
    .meta({ description: 'Retrying with the same key replays the first response (24 h)' }),
});

export const updateTaskInput = z
  .object({
    id: idInput,
    title: title.optional(),
    description: description.optional(),
    status: taskStatus.optional(),
    dueAt: dueAt.optional().meta({
      description: 'When the task is due; null clears it, absent keeps it',
    }),
    expectedVersion,
  })
  .refine(
    (input) =>
      input.title !== undefined ||
      input.description !== undefined ||
      input.status !== undefined ||
      input.dueAt !== undefined,
    { message: 'Provide at least one of title, description, status, dueAt', path: ['title'] },
  );

export const taskSortFields = ['createdAt', 'updatedAt', 'title', 'dueAt'] as const;

export const listTasksInput = z.object({
  limit: z.number().int().min(1).max(200).default(50).meta({ description: 'Page size' }),
  cursor: z.string().max(1000).optional().meta({
    description: 'Opaque `nextCursor` of the previous page; valid with the same `sort` and `order`',
  }),
  status: z
    .array(taskStatus)
    .max(3)
    .optional()
    .meta({ description: 'Only these statuses (repeat the parameter for several)' }),
  q: withoutNul(z.string().trim().min(1).max(200))
    .optional()
    .meta({ description: 'Case-insensitive text to find in the title or description' }),
  // Described before `optional()`: a query parameter's description is read from the inner schema.
  dueBefore: timestampInput
    .meta({
      description: 'Only tasks due strictly before this instant (never tasks without a due date)',
    })
    .optional(),
  dueAfter: timestampInput
    .meta({
      description: 'Only tasks due at or after this instant (never tasks without a due date)',
    })
    .optional(),
  sort: z.enum(taskSortFields).default('createdAt').meta({
    description:
      'The order of the list, ties broken by id. `dueAt` puts tasks without a due date last in ascending order and first in descending order (the ascending list reversed)',
  }),
  order: z.enum(['asc', 'desc']).default('desc'),
});

export const taskPageOutput = z
  .object({
    items: z.array(taskOutput),
    nextCursor: z
      .string()
      .nullable()
      .meta({
        description: 'Pass it as `cursor` for the next page; null on the last page',
        examples: ['eyJzb3J0IjoiY3JlYXRlZEF0Iiwib3JkZXIiOiJkZXNjIn0'],
      }),
  })
  .meta({ id: 'TaskPage' });

export type TaskOutput = z.infer<typeof taskOutput>;
export type CreateTaskInput = z.infer<typeof createTaskInput>;
export type UpdateTaskInput = z.infer<typeof updateTaskInput>;
export type ListTasksInput = z.infer<typeof listTasksInput>;
export type DeleteTaskInput = z.infer<typeof deleteTaskInput>;
export type TaskPage = z.infer<typeof taskPageOutput>;
