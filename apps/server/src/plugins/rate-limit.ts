import { once } from 'node:events';
import { ApiError, createRateLimiter, type Budget, type RateLimiter } from '@tasks/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config.js';
import { clientAddress } from '../request-details.js';

/** Load balancers and orchestrators probe these constantly; a 429 would take the instance out. */
const probeRoutes = new Set(['/health', '/ready']);

/** The shared store: commands fail fast during an outage instead of queueing behind requests. */
async function connectRedis(app: FastifyInstance, url: string): Promise<Redis> {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 500,
  });
  // ioredis retries forever in the background; log an outage once, not on every retry.
  let available = true;
  redis.on('error', (error: Error) => {
    if (available) app.log.error({ err: error }, 'rate limit store unavailable: limits are off');
    available = false;
  });
  redis.on('ready', () => {
    if (!available) app.log.info('rate limit store reconnected: limits are on');
    available = true;
  });
  // Requests before the first connection would go uncounted; a store that is down at boot
  // must not stop the API from starting, so its error is only logged (above).
  await once(redis, 'ready').catch(() => undefined);
  app.addHook('onClose', () => {
    redis.disconnect();
  });
  return redis;
}

/**
 * Where every budget is counted: Redis when `redisUrl` is set (every instance spends one
 * budget), else this process's memory. A store outage lets requests through rather than
 * failing them all.
 */
export async function createRateLimiterFor(
  app: FastifyInstance,
  config: AppConfig['rateLimit'],
): Promise<RateLimiter> {
  const redis = config.redisUrl ? await connectRedis(app, config.redisUrl) : undefined;
  return createRateLimiter({
    ...(redis && { redis, keyPrefix: config.redisKeyPrefix }),
    // The outage itself is logged once by the connection's error handler.
    onStoreError: () => undefined,
  });
}

export interface GlobalRateLimitOptions {
  limiter: RateLimiter;
  budget: Budget;
  /** How many calls a request holds (a `/trpc` batch several): each one is charged. */
  callsIn: (request: FastifyRequest) => number;
}

/**
 * The global budget per client address, on every route but the probes, checked before the
 * body is read so a flood costs as little as possible. Exceeding it answers 429
 * `RATE_LIMITED` with `Retry-After`; every answer says the budget (`X-RateLimit-*`). The
 * stricter budgets of sign-in, sign-up, refresh and password change are charged per call by
 * the API itself (`throttled` procedures).
 */
export function registerGlobalRateLimit(
  app: FastifyInstance,
  { limiter, budget, callsIn }: GlobalRateLimitOptions,
): void {
  app.addHook('onRequest', async (request, reply) => {
    if (probeRoutes.has(request.routeOptions.url ?? '')) return;
    const key = `global:${clientAddress(request)}`;
    const verdict = await limiter.consume(key, budget, callsIn(request));
    reply.header('x-ratelimit-limit', verdict.max);
    reply.header('x-ratelimit-remaining', verdict.remaining);
    reply.header('x-ratelimit-reset', verdict.resetSeconds);
    if (verdict.allowed) return;
    request.log.info({ rateLimitKey: key }, 'rate limited');
    throw new ApiError('RATE_LIMITED', `Too many requests; retry in ${verdict.resetSeconds} s`, {
      retryAfterSeconds: verdict.resetSeconds,
    });
  });
}
