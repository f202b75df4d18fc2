import type {
  AccountRepository,
  AttemptOutcome,
  ChangeRepository,
  PendingDelivery,
  TaskRepository,
  WebhookRepository,
} from '@tasks/db';
import type { Clock } from './clock.js';
import type { Logger } from './context.js';
import {
  passwordResetMail,
  verificationMail,
  type AccountMailConfig,
  type Mailer,
} from './mail.js';
import { generateSecretToken } from './security/secret-tokens.js';
import { toChangeOutput, type ChangeFeed } from './services/change-feed.js';
import { idempotencyWindowMs } from './services/task-service.js';
import type { WebhookConfig } from './services/webhook-service.js';
import { sendWebhook, type DeliveryResult } from './webhooks/sender.js';
import type { ResolveHost } from './webhooks/url-policy.js';

/**
 * What a job is given besides its payload. `signal` aborts on shutdown: a handler stops, throws,
 * and the queue runs the job again later.
 */
interface JobContext {
  signal: AbortSignal;
}

export type JobHandler = (payload: unknown, context: JobContext) => Promise<void>;

export interface JobDependencies {
  webhooks: WebhookRepository;
  changes: ChangeRepository;
  tasks: TaskRepository;
  accounts: AccountRepository;
  feed: ChangeFeed;
  mailer: Mailer;
  clock: Clock;
  config: { webhooks: WebhookConfig; accountMail: AccountMailConfig };
  log: Logger;
  /** How receivers' hosts resolve; default: the system's resolver. */
  resolve?: ResolveHost;
  /** Told how each recorded delivery attempt ended (the server's metrics count them). */
  onDeliveryAttempt?: (outcome: AttemptOutcome['status']) => void;
}

/** Rows one housekeeping statement deletes at most: short transactions, short locks. */
const housekeepingBatch = 1_000;
/** Batches one housekeeping run deletes at most; the next run goes on where it stopped. */
const housekeepingMaxBatches = 100;
/** And the time it takes at most, so that a slow database cannot keep a worker busy with it. */
const housekeepingMaxMs = 30_000;

/** Expired personal access tokens stay listed this long. */
const expiredTokensKeptMs = 30 * 24 * 60 * 60 * 1000;

/**
 * Housekeeping, each on its own schedule (cron syntax, UTC). Every run deletes in bounded
 * batches and logs what it deleted.
 */
export const housekeepingSchedule = [
  { job: 'housekeeping:sessions', cron: '*/15 * * * *' },
  { job: 'housekeeping:idempotency-keys', cron: '5,35 * * * *' },
  { job: 'housekeeping:changes', cron: '20 * * * *' },
  { job: 'housekeeping:webhook-deliveries', cron: '40 * * * *' },
  { job: 'housekeeping:access-tokens', cron: '50 * * * *' },
] as const;

/** Every job the workers run, by name: the names the triggers and the schedule enqueue. */
export function createJobHandlers(deps: JobDependencies): Record<string, JobHandler> {
  const { clock, log } = deps;
  const ago = (ms: number) => new Date(clock.now().getTime() - ms);
  const purge = (job: string, deleteBatch: (limit: number) => Promise<number>): JobHandler => {
    return async (_payload, { signal }) => {
      const started = performance.now();
      let deleted = 0;
      let batches = 0;
      const withinBudget = () =>
        batches < housekeepingMaxBatches &&
        performance.now() - started < housekeepingMaxMs &&
        !signal.aborted;
      for (; withinBudget(); batches++) {
        const count = await deleteBatch(housekeepingBatch);
        deleted += count;
        if (count < housekeepingBatch) break;
      }
      log.info(
        { job, deleted, batches, durationMs: Math.round(performance.now() - started) },
        'housekeeping',
      );
    };
  };
  const { accounts, mailer, config } = deps;
  const issueToken = async (
    userId: string,
    purpose: 'password_reset' | 'email_verification',
    ttlMs: number,
  ) => {
    const { token, tokenHash } = generateSecretToken();
    const expiresAt = new Date(clock.now().getTime() + ttlMs);
    await accounts.issueAccountToken({ userId, purpose, tokenHash, expiresAt });
    return token;
  };
  return {
    'webhook:deliver': (payload, context) => deliverWebhook(deps, payload, context),
    // The token is made here, not in the request: it never sits in the queue's tables. A retry
    // (the mail server was down) mails a new one, which voids the last.
    'mail:password-reset': async (payload) => {
      const { email } = payload as { email: string };
      const user = await accounts.findUserByEmail(email);
      if (!user) return;
      const token = await issueToken(user.id, 'password_reset', config.accountMail.resetTokenTtlMs);
      await mailer.send(passwordResetMail(config.accountMail, user.email, token));
    },
    'mail:email-verification': async (payload) => {
      const { userId } = payload as { userId: string };
      const user = await accounts.findUser(userId);
      if (!user || user.emailVerifiedAt) return;
      const ttlMs = config.accountMail.verificationTokenTtlMs;
      const token = await issueToken(user.id, 'email_verification', ttlMs);
      await mailer.send(verificationMail(config.accountMail, user.email, token));
    },
    'task:due': async (payload) => {
      const { taskId, dueAt } = payload as { taskId: string; dueAt: string };
      const ownerId = await deps.changes.recordDue(taskId, dueAt);
      if (ownerId) deps.feed.changed(ownerId);
    },
    'housekeeping:sessions': purge('housekeeping:sessions', (limit) =>
      deps.accounts.purgeEndedSessions(clock.now(), limit),
    ),
    'housekeeping:idempotency-keys': purge('housekeeping:idempotency-keys', (limit) =>
      deps.tasks.purgeIdempotencyKeys(ago(idempotencyWindowMs), limit),
    ),
    'housekeeping:changes': purge('housekeeping:changes', (limit) => deps.feed.prune(limit)),
    'housekeeping:webhook-deliveries': purge('housekeeping:webhook-deliveries', (limit) =>
      deps.webhooks.purgeFinished(ago(deps.config.webhooks.deliveryRetentionMs), limit),
    ),
    // Listed a while after expiry, so that their owners see why a script stopped working.
    'housekeeping:access-tokens': purge('housekeeping:access-tokens', (limit) =>
      deps.accounts.purgeExpiredPersonalAccessTokens(ago(expiredTokensKeptMs), limit),
    ),
  };
}

/**
 * One attempt of one delivery. The attempt, the delivery's new state and its next job are
 * recorded in one transaction; the job itself then ends. A job that runs again for an attempt
 * already recorded (its worker died before the queue heard the job end) finds the delivery
 * finished or not yet due, and does nothing.
 */
async function deliverWebhook(
  deps: JobDependencies,
  payload: unknown,
  { signal }: JobContext,
): Promise<void> {
  const { webhooks, clock, config } = deps;
  const { deliveryId } = payload as { deliveryId: string };
  const delivery = await webhooks.pending(deliveryId);
  if (!delivery || delivery.status !== 'pending') return;
  if (delivery.nextAttemptAt && delivery.nextAttemptAt > clock.now()) return;
  if (delivery.endpoint.disabledAt) {
    await webhooks.abandon(deliveryId);
    return;
  }
  const body = delivery.payload ?? deliveryBody(delivery);
  if (body === null) {
    // Its change is gone (past retention): nothing to send.
    await webhooks.abandon(deliveryId);
    return;
  }
  const attemptedAt = clock.now();
  const result = await sendWebhook(
    {
      url: delivery.endpoint.url,
      secret: delivery.endpoint.secret,
      messageId: delivery.id,
      timestamp: attemptedAt,
      payload: body,
    },
    {
      allowPrivate: config.webhooks.allowPrivateUrls,
      timeoutMs: config.webhooks.timeoutMs,
      responseExcerptBytes: config.webhooks.responseExcerptBytes,
      signal,
      ...(deps.resolve && { resolve: deps.resolve }),
    },
  );
  // Cut short by shutdown, the attempt does not count: the queue runs the job again.
  if (signal.aborted) throw new Error('delivery interrupted by shutdown');
  const outcome = nextStep(config.webhooks, delivery.attemptCount + 1, result, attemptedAt);
  await webhooks.recordAttempt(
    deliveryId,
    {
      attemptedAt,
      responseStatus: result.status,
      durationMs: Math.round(result.durationMs),
      error: result.error,
      responseExcerpt: result.responseExcerpt,
    },
    outcome,
    body,
  );
  deps.onDeliveryAttempt?.(outcome.status);
  if (outcome.status === 'failed') await disableIfFailingThroughout(deps, delivery, result);
}

/**
 * The body of the first attempt, which every retry sends again: the change as the feed shows
 * it. Null when the change is gone.
 */
function deliveryBody(delivery: PendingDelivery): object | null {
  return delivery.change && (JSON.parse(JSON.stringify(toChangeOutput(delivery.change))) as object);
}

function nextStep(
  config: WebhookConfig,
  attemptNumber: number,
  result: DeliveryResult,
  attemptedAt: Date,
): AttemptOutcome {
  if (result.ok) return { status: 'succeeded' };
  const delay = config.retryDelaysMs[attemptNumber - 1];
  if (delay === undefined) return { status: 'failed' };
  return { status: 'pending', nextAttemptAt: new Date(attemptedAt.getTime() + delay) };
}

/**
 * A delivery failed for its whole retry window: unless another delivery to the endpoint got
 * through meanwhile, the endpoint is down for good, and further deliveries stop until its owner
 * enables it again.
 */
async function disableIfFailingThroughout(
  deps: JobDependencies,
  delivery: PendingDelivery,
  lastResult: DeliveryResult,
): Promise<void> {
  if (await deps.webhooks.succeededSince(delivery.endpoint.id, delivery.createdAt)) return;
  const lastError = lastResult.status === null ? lastResult.error : `HTTP ${lastResult.status}`;
  const since = delivery.createdAt.toISOString();
  await deps.webhooks.disable(
    delivery.endpoint.id,
    `every delivery failed since ${since}, through all retries (last: ${lastError ?? 'unknown'})`,
  );
  deps.log.warn({ endpointId: delivery.endpoint.id }, 'webhook endpoint disabled after failing');
}
