import underPressure from '@fastify/under-pressure';
import { ApiError } from '@tasks/api';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../config.js';

/**
 * Sheds load before any work is done: while the event loop lags or the heap is over its
 * threshold (sampled every second by @fastify/under-pressure), every request is answered
 * `503 SERVICE_UNAVAILABLE` with `Retry-After`, so the backlog shrinks instead of memory growing.
 * `/health` is still answered, since a busy instance is alive and restarting it would only
 * lose its work; `/ready` is shed like the rest, which takes the instance out of rotation until
 * it has caught up. (Requests waiting for a database connection are bounded separately, by
 * `DB_POOL_MAX_WAITING`.)
 */
export async function registerLoadShedding(
  app: FastifyInstance,
  { maxEventLoopDelayMs, maxHeapUsedBytes }: AppConfig['loadShedding'],
): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    maxHeapUsedBytes,
    pressureHandler: async (request, _reply, type) => {
      if (request.routeOptions.url === '/health') return;
      throw new ApiError('SERVICE_UNAVAILABLE', `The server is overloaded (${type})`);
    },
  });
}
