import { changeTypes } from '@tasks/db';
import { z } from 'zod';
import { timestamp, uuid } from './common.js';
import { taskOutput } from './task.js';

const cursor = z
  .string()
  .min(1)
  .max(200)
  .meta({ examples: ['MTIzNDU2LjQ1Ni4xNzY0NzcwNDAwMDAw'] });

const changeOutput = z
  .object({
    id: cursor.meta({
      description: 'The change\u2019s cursor: pass it as `since` to read what follows',
    }),
    type: z.enum(changeTypes),
    occurredAt: timestamp,
    taskId: uuid,
    task: taskOutput
      .nullable()
      .meta({ description: 'The task after the change; null once deleted' }),
  })
  .meta({ id: 'Change' });

export type ChangeOutput = z.infer<typeof changeOutput>;

export const listChangesInput = z.object({
  since: cursor.optional().meta({
    description:
      'A cursor (a change\u2019s id or a `nextCursor`); without it, no changes and the current cursor',
  }),
  limit: z.number().int().min(1).max(500).default(100).meta({ description: 'Changes at most' }),
});

export type ListChangesInput = z.infer<typeof listChangesInput>;

export const changePageOutput = z
  .object({
    items: z.array(changeOutput),
    nextCursor: cursor.meta({ description: 'Pass it as `since` for the changes after these' }),
  })
  .meta({ id: 'ChangePage' });

export type ChangePage = z.infer<typeof changePageOutput>;

export const followChangesInput = z.object({
  /** Set by tRPC's client on reconnection (tracked events); REST sends `Last-Event-ID`. */
  lastEventId: cursor.nullish(),
  since: cursor.optional(),
});
