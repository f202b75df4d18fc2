import { createHash } from 'node:crypto';
import bcrypt from 'bcrypt';
import pLimit from 'p-limit';
import { ApiError } from '../errors.js';

/**
 * bcrypt only reads the first 72 bytes, and passwords may be up to 128 characters (512 bytes of
 * UTF-8). Hashing with SHA-256 first makes every character count; base64 keeps NUL bytes out.
 */
function prehash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('base64');
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
  /** Spends the same time as a real verification; used when the account does not exist. */
  verifyAgainstDummy(password: string): Promise<void>;
}

export interface PasswordHashingLimits {
  /** bcrypt runs at once, at most: each holds a core (and a libuv thread) for its whole cost. */
  concurrency: number;
  /** Runs that may wait for a free slot; more are refused at once. */
  maxQueued: number;
}

/** Seconds a refused client should wait: a queue of bcrypt runs drains within about that. */
const busyRetryAfterSeconds = 2;

/**
 * bcrypt runs on libuv's thread pool, so hashing never blocks the event loop; but each run costs
 * a core for its whole duration, so an unbounded number of them starves every other request of
 * CPU. Runs go through a bounded queue: past it, the call is answered 503 at once instead of
 * waiting behind work the server cannot catch up with.
 */
export function createPasswordHasher(
  cost: number,
  { concurrency, maxQueued }: PasswordHashingLimits,
): PasswordHasher {
  const limit = pLimit(concurrency);
  const bounded = <T>(work: () => Promise<T>): Promise<T> => {
    if (limit.activeCount + limit.pendingCount >= concurrency + maxQueued) {
      return Promise.reject(
        new ApiError('SERVICE_UNAVAILABLE', 'Too many password checks in progress; retry shortly', {
          retryAfterSeconds: busyRetryAfterSeconds,
        }),
      );
    }
    return limit(work);
  };
  let dummyHash: Promise<string> | undefined;
  return {
    hash: (password) => bounded(() => bcrypt.hash(prehash(password), cost)),
    verify: (password, hash) => bounded(() => bcrypt.compare(prehash(password), hash)),
    async verifyAgainstDummy(password) {
      dummyHash ??= bcrypt.hash('dummy password that never matches', cost);
      const hash = await dummyHash;
      await bounded(() => bcrypt.compare(prehash(password), hash));
    },
  };
}
