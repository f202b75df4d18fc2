import { z } from 'zod';
import { timestamp, uuid } from './common.js';

export const taskStatus = z.enum(['open', 'in_progress', 'done']);
const title = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .meta({ examples: ['Write the release notes'] });
const description = z
  .string()
  .max(2000)
  .nullable()
  .meta({ examples: ['Cover the new search'] });

export const taskOutput = z
  .object({
    id: uuid,
    title: z.string(),
    description: z.string().nullable(),
    status: taskStatus,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Task' });

export const taskIdInput = z.object({ id: uuid });

export const createTaskInput = z.object({
  title,
  description: description.optional(),
  status: taskStatus.optional(),
});

export const updateTaskInput = z
  .object({
    id: uuid,
    title: title.optional(),
    description: description.optional(),
    status: taskStatus.optional(),
  })
  .refine(
    (input) =>
      input.title !== undefined || input.description !== undefined || input.status !== undefined,
    { message: 'Provide at least one of title, description, status', path: ['title'] },
  );

export const listTasksInput = z.object({
  limit: z.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .max(200)
    .optional()
    .meta({ description: "Opaque cursor from the previous page's `nextCursor`" }),
});

export const taskPageOutput = z
  .object({ items: z.array(taskOutput), nextCursor: z.string().nullable() })
  .meta({ id: 'TaskPage' });

export type TaskOutput = z.infer<typeof taskOutput>;
export type CreateTaskInput = z.infer<typeof createTaskInput>;
export type UpdateTaskInput = z.infer<typeof updateTaskInput>;
export type ListTasksInput = z.infer<typeof listTasksInput>;
export type TaskPage = z.infer<typeof taskPageOutput>;
