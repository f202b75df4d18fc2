import { z } from 'zod';
import {
  createdWebhookOutput,
  createWebhookInput,
  deliveryPageOutput,
  listDeliveriesInput,
  pingOutput,
  updateWebhookInput,
  webhookIdInput,
  webhookListOutput,
  webhookOutput,
} from '../schemas/webhook.js';
import { protectedProcedure, router } from '../trpc.js';

const tags = ['webhooks'];

export const webhooksRouter = router({
  create: protectedProcedure
    .meta({
      tokenScope: 'webhooks:write',
      openapi: {
        method: 'POST',
        path: '/webhooks',
        tags,
        summary: 'Register a webhook',
        description:
          'Every change of your tasks whose type is in `events` (all types when absent) is POSTed to `url` as the Change object, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the `secret` returned here, once. A non-2xx answer or no answer within 10 s is retried with growing delays for about a day, with the same `webhook-id`. A user has at most `MAX_WEBHOOKS_PER_USER` webhooks (10 by default).',
      },
      success: {
        status: 201,
        description: 'The webhook, with its signing secret',
        location: '/webhooks/{id}',
      },
      errors: ['QUOTA_EXCEEDED'],
    })
    .input(createWebhookInput)
    .output(createdWebhookOutput)
    .mutation(({ ctx, input }) => ctx.services.webhooks.create(ctx.userId, input)),

  list: protectedProcedure
    .meta({
      tokenScope: 'webhooks:read',
      openapi: {
        method: 'GET',
        path: '/webhooks',
        tags,
        summary: 'List your webhooks',
        description:
          'All of them (at most `MAX_WEBHOOKS_PER_USER`), oldest first, without secrets.',
      },
      success: { status: 200, description: 'Your webhooks, oldest first' },
    })
    .input(z.object({}))
    .output(webhookListOutput)
    .query(({ ctx }) => ctx.services.webhooks.list(ctx.userId)),

  get: protectedProcedure
    .meta({
      tokenScope: 'webhooks:read',
      openapi: {
        method: 'GET',
        path: '/webhooks/{id}',
        tags,
        summary: 'Read a webhook',
        description:
          'Its settings and status: `disabled` with a `disabledReason` once its owner or its failures stopped deliveries.',
      },
      success: { status: 200, description: 'The webhook (without its secret)' },
      errors: ['NOT_FOUND'],
    })
    .input(webhookIdInput)
    .output(webhookOutput)
    .query(({ ctx, input }) => ctx.services.webhooks.get(ctx.userId, input.id)),

  update: protectedProcedure
    .meta({
      tokenScope: 'webhooks:write',
      openapi: {
        method: 'PATCH',
        path: '/webhooks/{id}',
        tags,
        summary: 'Change a webhook',
        description:
          'Change its `url`, `events` or `description`; `enabled: false` stops deliveries, `enabled: true` resumes them, also after the webhook was disabled for failing.',
      },
      success: { status: 200, description: 'The updated webhook' },
      errors: ['NOT_FOUND'],
    })
    .input(updateWebhookInput)
    .output(webhookOutput)
    .mutation(({ ctx, input }) => ctx.services.webhooks.update(ctx.userId, input)),

  delete: protectedProcedure
    .meta({
      tokenScope: 'webhooks:write',
      openapi: {
        method: 'DELETE',
        path: '/webhooks/{id}',
        tags,
        summary: 'Delete a webhook',
        description: 'Deliveries still pending are dropped with it.',
      },
      success: { status: 204, description: 'The webhook was deleted' },
      errors: ['NOT_FOUND'],
    })
    .input(webhookIdInput)
    .output(z.void())
    .mutation(({ ctx, input }) => ctx.services.webhooks.delete(ctx.userId, input.id)),

  deliveries: protectedProcedure
    .meta({
      tokenScope: 'webhooks:read',
      openapi: {
        method: 'GET',
        path: '/webhooks/{id}/deliveries',
        tags,
        summary: "List a webhook's deliveries",
        description:
          'Newest first, each with its attempts (time, response status, duration, error) and when the next retry is due. Finished deliveries are kept `WEBHOOK_DELIVERY_RETENTION_DAYS` (30 by default).',
      },
      success: { status: 200, description: 'One page of deliveries' },
      errors: ['NOT_FOUND'],
    })
    .input(listDeliveriesInput)
    .output(deliveryPageOutput)
    .query(({ ctx, input }) => ctx.services.webhooks.deliveries(ctx.userId, input)),

  ping: protectedProcedure
    .meta({
      tokenScope: 'webhooks:write',
      openapi: {
        method: 'POST',
        path: '/webhooks/{id}/ping',
        tags,
        summary: 'Send a test delivery',
        description:
          'Queues a signed `webhook.ping` delivery (`{type, occurredAt, webhookId}`); follow it in the deliveries.',
      },
      success: { status: 202, description: 'The ping is queued' },
      errors: ['NOT_FOUND'],
    })
    .input(webhookIdInput)
    .output(pingOutput)
    .mutation(({ ctx, input }) => ctx.services.webhooks.ping(ctx.userId, input.id)),
});
