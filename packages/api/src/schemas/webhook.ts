import { changeTypes } from '@tasks/db';
import { z } from 'zod';
import { idInput, timestamp, uuid, withoutNul } from './common.js';

const webhookUrl = withoutNul(z.string().trim().min(1).max(2000)).meta({
  description:
    'Where deliveries are POSTed: `https`, and not resolving to a private, loopback or link-local address',
  examples: ['https://hooks.example.com/tasks'],
});

const eventTypes = z
  .array(z.enum(changeTypes))
  .max(changeTypes.length)
  .refine((types) => new Set(types).size === types.length, 'Must not repeat an event type')
  .meta({ description: 'Change types to deliver; absent or empty: every type' });

const description = withoutNul(z.string().trim().max(500))
  .nullable()
  .meta({ examples: ['Billing service'] });

export const webhookOutput = z
  .object({
    id: uuid,
    url: z.string().meta({ examples: ['https://hooks.example.com/tasks'] }),
    description: z
      .string()
      .nullable()
      .meta({ examples: ['Billing service'] }),
    events: z.array(z.enum(changeTypes)).meta({ description: 'Empty: every change type' }),
    status: z.enum(['enabled', 'disabled']),
    disabledReason: z
      .string()
      .nullable()
      .meta({
        description:
          'Why deliveries stopped: its owner disabled it, or it failed for a whole retry window',
        examples: ['disabled by its owner'],
      }),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Webhook' });

export const createdWebhookOutput = webhookOutput
  .extend({
    secret: z.string().meta({
      description:
        'The Standard Webhooks signing secret: shown this once, keep it to verify `webhook-signature`',
      examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    }),
  })
  .meta({ id: 'CreatedWebhook' });

export const createWebhookInput = z.object({
  url: webhookUrl,
  events: eventTypes.optional(),
  description: description.optional(),
});

export const webhookIdInput = z.object({ id: idInput });

export const updateWebhookInput = z
  .object({
    id: idInput,
    url: webhookUrl.optional(),
    events: eventTypes.optional(),
    description: description.optional(),
    enabled: z.boolean().optional().meta({
      description: 'false stops deliveries; true resumes them (also after an automatic disable)',
    }),
  })
  .refine(
    (input) =>
      input.url !== undefined ||
      input.events !== undefined ||
      input.description !== undefined ||
      input.enabled !== undefined,
    { message: 'Provide at least one of url, events, description, enabled', path: ['url'] },
  );

export const webhookListOutput = z
  .object({ items: z.array(webhookOutput) })
  .meta({ id: 'WebhookList' });

const attemptOutput = z
  .object({
    attemptedAt: timestamp,
    responseStatus: z
      .number()
      .int()
      .min(100)
      .max(599)
      .nullable()
      .meta({
        description: "The receiver's HTTP status; null when none came back",
        examples: [200],
      }),
    durationMs: z
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .meta({ examples: [87] }),
    error: z
      .string()
      .nullable()
      .meta({ examples: ['timed out after 10000 ms'] }),
    responseExcerpt: z
      .string()
      .nullable()
      .meta({ description: 'The start of the response body, at most 1 KiB', examples: ['ok'] }),
  })
  .meta({ id: 'WebhookAttempt' });

const deliveryOutput = z
  .object({
    id: uuid.meta({ description: 'The `webhook-id` header of every attempt of this delivery' }),
    eventType: z.string().meta({ examples: ['task.created'] }),
    status: z.enum(['pending', 'succeeded', 'failed']),
    attemptCount: z
      .number()
      .int()
      .min(0)
      .max(100)
      .meta({ examples: [1] }),
    nextAttemptAt: timestamp.nullable().meta({
      description: 'When the next retry is due; null once finished',
      examples: ['2026-02-14T10:05:00.000Z'],
    }),
    createdAt: timestamp,
    attempts: z.array(attemptOutput),
  })
  .meta({ id: 'WebhookDelivery' });

export const listDeliveriesInput = z.object({
  id: idInput,
  limit: z.number().int().min(1).max(100).default(20).meta({ description: 'Page size' }),
  cursor: uuid.optional().meta({ description: '`nextCursor` of the previous page' }),
});

export const deliveryPageOutput = z
  .object({
    items: z.array(deliveryOutput),
    nextCursor: uuid.nullable().meta({
      description: 'Pass it as `cursor` for the next page; null on the last page',
      examples: ['01963a5e-7c1a-7b4e-9f35-2f9c1d7e8a10'],
    }),
  })
  .meta({ id: 'WebhookDeliveryPage' });

export const pingOutput = z
  .object({ deliveryId: uuid.meta({ description: 'Follow it in the deliveries' }) })
  .meta({ id: 'WebhookPing' });

export type WebhookOutput = z.infer<typeof webhookOutput>;
export type CreateWebhookInput = z.infer<typeof createWebhookInput>;
export type UpdateWebhookInput = z.infer<typeof updateWebhookInput>;
export type ListDeliveriesInput = z.infer<typeof listDeliveriesInput>;
export type DeliveryPage = z.infer<typeof deliveryPageOutput>;
