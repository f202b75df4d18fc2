import { changeAsJson, changeFromJson, type ChangeRecord } from './change-repository.js';
import type { Prisma, PrismaClient } from './generated/prisma/client.js';
import type { Statement, StatementRunner } from './statements.js';

/** A user's webhook endpoint as the API shows it (the secret only at creation). */
export interface WebhookEndpointRecord {
  id: string;
  url: string;
  description: string | null;
  /** Change types delivered; empty: every type. */
  events: string[];
  secret: string;
  disabledAt: Date | null;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewWebhookEndpoint {
  ownerId: string;
  url: string;
  description: string | null;
  events: string[];
  secret: string;
}

/** Absent fields keep their value; `enabled: true` also clears why it was disabled. */
export interface WebhookEndpointChanges {
  url?: string;
  description?: string | null;
  events?: string[];
  enabled?: boolean;
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookAttemptRecord {
  attemptedAt: Date;
  responseStatus: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
}

export interface WebhookDeliveryRecord {
  id: string;
  eventType: string;
  status: WebhookDeliveryStatus;
  attemptCount: number;
  /** When the next attempt is due; null once the delivery succeeded or failed for good. */
  nextAttemptAt: Date | null;
  createdAt: Date;
  attempts: WebhookAttemptRecord[];
}

/** What the delivery job needs: the delivery, where it goes and how to sign it. */
export interface PendingDelivery {
  id: string;
  eventType: string;
  /** The body fixed by an earlier attempt (or a ping's); null before the first attempt. */
  payload: unknown;
  /** Before the first attempt, the change to build the body from; null once it is gone. */
  change: ChangeRecord | null;
  status: WebhookDeliveryStatus;
  attemptCount: number;
  nextAttemptAt: Date | null;
  createdAt: Date;
  endpoint: Pick<WebhookEndpointRecord, 'id' | 'url' | 'secret' | 'disabledAt'>;
}

/** How an attempt ends the delivery, or when the next one is due. */
export type AttemptOutcome =
  { status: 'succeeded' } | { status: 'failed' } | { status: 'pending'; nextAttemptAt: Date };

const endpointSelect = {
  id: true,
  url: true,
  description: true,
  events: true,
  secret: true,
  disabledAt: true,
  disabledReason: true,
  createdAt: true,
  updatedAt: true,
} as const satisfies Prisma.WebhookEndpointSelect;

const deliverySelect = {
  id: true,
  eventType: true,
  status: true,
  attemptCount: true,
  nextAttemptAt: true,
  createdAt: true,
  attempts: {
    orderBy: { id: 'asc' },
    select: {
      attemptedAt: true,
      responseStatus: true,
      durationMs: true,
      error: true,
      responseExcerpt: true,
    },
  },
} as const satisfies Prisma.WebhookDeliverySelect;

/** The delivery job, enqueued with the row it delivers (as the trigger on TaskChange does). */
const deliveryJob = (deliveryId: string, runAt: string) =>
  `graphile_worker.add_job('webhook:deliver', json_build_object('deliveryId', ${deliveryId}),
     run_at := ${runAt}, max_attempts := 25)`;

interface PendingDeliveryRow {
  id: string;
  eventType: string;
  payload: unknown;
  change: unknown;
  status: string;
  attemptCount: number;
  nextAttemptAt: Date | null;
  createdAt: Date;
  endpointId: string;
  url: string;
  secret: string;
  disabledAt: Date | null;
}

const statements = {
  // The delivery, its endpoint and (before the first attempt) its change: one round trip.
  pending: {
    name: 'webhook_delivery_pending',
    text: `SELECT delivery.id, delivery."eventType", delivery.payload, delivery.status,
                  delivery."attemptCount", delivery."nextAttemptAt", delivery."createdAt",
                  endpoint.id AS "endpointId", endpoint.url, endpoint.secret, endpoint."disabledAt",
                  (SELECT ${changeAsJson('change')} FROM "TaskChange" change
                   WHERE change.id = delivery."changeId" AND delivery.payload IS NULL) AS change
           FROM "WebhookDelivery" delivery
           JOIN "WebhookEndpoint" endpoint ON endpoint.id = delivery."endpointId"
           WHERE delivery.id = $1`,
  },
  // The attempt, the delivery's new state, its body (kept from the first attempt on) and, when
  // another attempt is due, its job: one statement, so one transaction, so a crash cannot record
  // a failure and lose the retry.
  recordAttempt: {
    name: 'webhook_attempt_record',
    text: `WITH attempt AS (
             INSERT INTO "WebhookAttempt"
               ("deliveryId", "attemptedAt", "responseStatus", "durationMs", error, "responseExcerpt")
             VALUES ($1, $2, $3, $4, $5, $6)
           ), delivery AS (
             UPDATE "WebhookDelivery"
             SET status = $7, "attemptCount" = "attemptCount" + 1, "nextAttemptAt" = $8,
                 payload = coalesce(payload, $9::json)
             WHERE id = $1
             RETURNING id
           )
           SELECT CASE WHEN $8::timestamptz IS NULL THEN NULL
                       ELSE ${deliveryJob('delivery.id', '$8::timestamptz')} END AS job
           FROM delivery`,
  },
  ping: {
    name: 'webhook_ping',
    text: `WITH delivery AS (
             INSERT INTO "WebhookDelivery" ("endpointId", "eventType", payload)
             SELECT id, 'webhook.ping', $3::jsonb FROM "WebhookEndpoint"
             WHERE id = $1 AND "ownerId" = $2
             RETURNING id
           )
           SELECT id, ${deliveryJob('id', 'now()')} IS NOT NULL AS queued FROM delivery`,
  },
  purge: {
    name: 'webhook_delivery_purge',
    text: `DELETE FROM "WebhookDelivery" WHERE id IN (
             SELECT id FROM "WebhookDelivery"
             WHERE "createdAt" < $1 AND status <> 'pending' ORDER BY "createdAt" LIMIT $2
           )`,
  },
} satisfies Record<string, Statement>;

const asStatus = (status: string) => status as WebhookDeliveryStatus;

/**
 * Webhook endpoints, their deliveries and attempts. Deliveries of changes are created by the
 * trigger on TaskChange (see the webhooks migration); this creates pings and records attempts.
 */
export class WebhookRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly sql: StatementRunner,
  ) {}

  /**
   * Creates an endpoint unless its owner already has `maxPerOwner`; the owner's row is locked
   * meanwhile, so concurrent creations cannot pass the limit together.
   */
  async create(endpoint: NewWebhookEndpoint, maxPerOwner: number) {
    return this.prisma.$transaction(async (transaction) => {
      await transaction.$executeRaw`SELECT FROM "User" WHERE id = ${endpoint.ownerId}::uuid FOR UPDATE`;
      const owned = await transaction.webhookEndpoint.count({
        where: { ownerId: endpoint.ownerId },
      });
      if (owned >= maxPerOwner) return 'limit' as const;
      return transaction.webhookEndpoint.create({ data: endpoint, select: endpointSelect });
    });
  }

  list(ownerId: string): Promise<WebhookEndpointRecord[]> {
    return this.prisma.webhookEndpoint.findMany({
      where: { ownerId },
      orderBy: { id: 'asc' },
      select: endpointSelect,
    });
  }

  find(ownerId: string, id: string): Promise<WebhookEndpointRecord | null> {
    return this.prisma.webhookEndpoint.findFirst({
      where: { id, ownerId },
      select: endpointSelect,
    });
  }

  async update(
    ownerId: string,
    id: string,
    { enabled, ...changes }: WebhookEndpointChanges,
  ): Promise<WebhookEndpointRecord | null> {
    const { count } = await this.prisma.webhookEndpoint.updateMany({
      where: { id, ownerId },
      data: {
        ...changes,
        ...(enabled === true && { disabledAt: null, disabledReason: null }),
        ...(enabled === false && {
          disabledAt: new Date(),
          disabledReason: 'disabled by its owner',
        }),
      },
    });
    return count === 0 ? null : this.find(ownerId, id);
  }

  async delete(ownerId: string, id: string): Promise<boolean> {
    const { count } = await this.prisma.webhookEndpoint.deleteMany({ where: { id, ownerId } });
    return count === 1;
  }

  /** Switches an endpoint off, saying why (it failed for a whole retry window). */
  async disable(id: string, reason: string): Promise<void> {
    await this.prisma.webhookEndpoint.updateMany({
      where: { id, disabledAt: null },
      data: { disabledAt: new Date(), disabledReason: reason },
    });
  }

  /** An endpoint's deliveries, newest first, after `before` (a delivery id of a previous page). */
  async deliveries(
    ownerId: string,
    endpointId: string,
    { before, limit }: { before?: string | undefined; limit: number },
  ): Promise<WebhookDeliveryRecord[]> {
    const cursor = before
      ? await this.prisma.webhookDelivery.findFirst({
          where: { id: before, endpointId },
          select: { id: true, createdAt: true },
        })
      : null;
    const rows = await this.prisma.webhookDelivery.findMany({
      where: {
        endpointId,
        endpoint: { ownerId },
        ...(cursor && {
          OR: [
            { createdAt: { lt: cursor.createdAt } },
            { createdAt: cursor.createdAt, id: { lt: cursor.id } },
          ],
        }),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      select: deliverySelect,
    });
    return rows.map((row) => ({ ...row, status: asStatus(row.status) }));
  }

  /** A `webhook.ping` delivery to one of `ownerId`'s endpoints, queued at once; null: no such endpoint. */
  async ping(ownerId: string, endpointId: string, payload: unknown): Promise<string | null> {
    const [row] = await this.sql.rows<{ id: string }>(statements.ping, [
      endpointId,
      ownerId,
      JSON.stringify(payload),
    ]);
    return row?.id ?? null;
  }

  async pending(deliveryId: string): Promise<PendingDelivery | null> {
    const [row] = await this.sql.rows<PendingDeliveryRow>(statements.pending, [deliveryId]);
    if (!row) return null;
    const { endpointId, url, secret, disabledAt, change, status, ...delivery } = row;
    return {
      ...delivery,
      status: asStatus(status),
      change: change === null ? null : changeFromJson(change),
      endpoint: { id: endpointId, url, secret, disabledAt },
    };
  }

  /**
   * Records an attempt and its outcome; a next attempt gets its job in the same transaction, so
   * a crash cannot record the failure and lose the retry.
   */
  async recordAttempt(
    deliveryId: string,
    attempt: WebhookAttemptRecord,
    outcome: AttemptOutcome,
    /** The body sent, kept for every later attempt (a first attempt's). */
    payload: unknown,
  ): Promise<void> {
    await this.sql.query(statements.recordAttempt, [
      deliveryId,
      attempt.attemptedAt,
      attempt.responseStatus,
      attempt.durationMs,
      attempt.error,
      attempt.responseExcerpt,
      outcome.status,
      outcome.status === 'pending' ? outcome.nextAttemptAt : null,
      JSON.stringify(payload),
    ]);
  }

  /** Ends a delivery that will not be attempted (its endpoint was disabled), with no attempt. */
  async abandon(deliveryId: string): Promise<void> {
    await this.prisma.webhookDelivery.update({
      where: { id: deliveryId },
      data: { status: 'failed', nextAttemptAt: null },
    });
  }

  /** True when one of the endpoint's deliveries succeeded at or after `since`. */
  async succeededSince(endpointId: string, since: Date): Promise<boolean> {
    const attempt = await this.prisma.webhookAttempt.findFirst({
      where: {
        attemptedAt: { gte: since },
        responseStatus: { gte: 200, lt: 300 },
        delivery: { endpointId },
      },
      select: { id: true },
    });
    return attempt !== null;
  }

  /** Deletes up to `limit` finished deliveries created before `cutoff`; resolves with how many. */
  async purgeFinished(cutoff: Date, limit: number): Promise<number> {
    return (await this.sql.query(statements.purge, [cutoff, limit])).rowCount ?? 0;
  }
}
