import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';

/** How many points a key may spend per window. */
export interface Budget {
  max: number;
  windowMs: number;
}

export interface RateLimitVerdict {
  allowed: boolean;
  /** Points spent in the current window, this charge included. */
  spent: number;
  max: number;
  remaining: number;
  /** Whole seconds until the window resets (at least 1). */
  resetSeconds: number;
}

/**
 * Counters with a budget per window, in this process's memory or shared by every instance.
 * Keys say what is counted (`auth.login:ip:203.0.113.9`); the budget travels with each call so
 * one limiter serves every budget.
 */
export interface RateLimiter {
  /** Spends `points` of `key`'s budget; a store outage allows (and is reported once). */
  consume(key: string, budget: Budget, points?: number): Promise<RateLimitVerdict>;
  /** Gives back points spent by an attempt that turned out not to count. */
  refund(key: string, budget: Budget, points?: number): Promise<void>;
}

export interface RateLimiterOptions {
  /**
   * An ioredis client (`enableOfflineQueue: false`, so a Redis outage fails fast): every
   * instance spends one budget. Absent, each process counts in its own memory.
   */
  redis?: unknown;
  /** Prepended to every key in Redis. */
  keyPrefix?: string;
  /** Called when the store fails; the request is then allowed rather than failed. */
  onStoreError?: (error: unknown) => void;
}

/** rate-limiter-flexible, one of its limiters per budget (they differ only in points and window). */
export function createRateLimiter({
  redis,
  keyPrefix = '',
  onStoreError = () => undefined,
}: RateLimiterOptions = {}): RateLimiter {
  const limiters = new Map<string, RateLimiterAbstract>();
  const limiterFor = ({ max, windowMs }: Budget) => {
    const id = `${max}/${windowMs}`;
    let limiter = limiters.get(id);
    if (!limiter) {
      const options = { points: max, duration: Math.max(1, Math.ceil(windowMs / 1000)) };
      limiter = redis
        ? new RateLimiterRedis({
            ...options,
            storeClient: redis,
            keyPrefix: '',
            rejectIfRedisNotReady: true,
          })
        : new RateLimiterMemory(options);
      limiters.set(id, limiter);
    }
    return limiter;
  };
  const verdict = (allowed: boolean, budget: Budget, result: RateLimiterRes): RateLimitVerdict => ({
    allowed,
    spent: result.consumedPoints,
    max: budget.max,
    remaining: Math.max(0, result.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(result.msBeforeNext / 1000)),
  });
  return {
    async consume(key, budget, points = 1) {
      try {
        return verdict(true, budget, await limiterFor(budget).consume(keyPrefix + key, points));
      } catch (error) {
        if (error instanceof RateLimiterRes) return verdict(false, budget, error);
        onStoreError(error);
        return { allowed: true, spent: 0, max: budget.max, remaining: budget.max, resetSeconds: 1 };
      }
    },
    async refund(key, budget, points = 1) {
      try {
        await limiterFor(budget).reward(keyPrefix + key, points);
      } catch (error) {
        onStoreError(error);
      }
    },
  };
}
