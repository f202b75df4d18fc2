import type { AccountRepository, ChangeRepository, TaskRepository } from '@tasks/db';
import type { Clock } from '../clock.js';
import { createAccessTokens, type AccessTokenConfig } from '../security/access-tokens.js';
import { AttemptThrottle, type AttemptBudgets } from '../security/attempt-throttle.js';
import { createPasswordHasher, type PasswordHashingLimits } from '../security/passwords.js';
import { createRateLimiter, type RateLimiter } from '../security/rate-limiter.js';
import { AuthService } from './auth-service.js';
import {
  ChangeFeed,
  createLocalChangeSignal,
  type ChangeFeedConfig,
  type ChangeSignal,
} from './change-feed.js';
import { TaskService } from './task-service.js';

export interface ServicesConfig {
  accessTokens: AccessTokenConfig;
  refreshTokenTtlSeconds: number;
  bcryptCost: number;
  passwordHashing: PasswordHashingLimits;
  /** Budgets of sign-in, sign-up, refresh and password change (`AttemptThrottle`). */
  attempts: AttemptBudgets;
  /** Tasks one user may own; creating one more is QUOTA_EXCEEDED. */
  taskQuotaPerUser: number;
  /** Open sessions one user may have; a sign-in beyond it ends the oldest. */
  maxSessionsPerUser: number;
  /** See `AuthServiceDependencies.sessionCacheMs`; default 0 (a query per request). */
  sessionCacheMs?: number;
  changeFeed: ChangeFeedConfig;
}

export interface ServiceDependencies {
  /** Every task query, and every account, session and refresh-token query (`createDatabase`). */
  tasks: TaskRepository;
  accounts: AccountRepository;
  changes: ChangeRepository;
  /** How instances tell each other about new changes; default: this process only. */
  changeSignal?: ChangeSignal;
  clock: Clock;
  config: ServicesConfig;
  /** Where attempt budgets are counted; default: this process's memory. */
  rateLimiter?: RateLimiter;
}

export interface Services {
  auth: AuthService;
  tasks: TaskService;
  changes: ChangeFeed;
  throttle: AttemptThrottle;
}

/** Built once per process (or per test) from explicit dependencies; nothing is global. */
export function createServices({
  tasks,
  accounts,
  changes,
  changeSignal = createLocalChangeSignal(),
  clock,
  config,
  rateLimiter = createRateLimiter(),
}: ServiceDependencies): Services {
  const feed = new ChangeFeed(changes, clock, config.changeFeed, changeSignal);
  return {
    auth: new AuthService({
      accounts,
      clock,
      passwords: createPasswordHasher(config.bcryptCost, config.passwordHashing),
      accessTokens: createAccessTokens(config.accessTokens, clock),
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
      sessionCacheMs: config.sessionCacheMs ?? 0,
      maxSessionsPerUser: config.maxSessionsPerUser,
    }),
    tasks: new TaskService(tasks, clock, config.taskQuotaPerUser, (userId) => {
      feed.changed(userId);
    }),
    changes: feed,
    throttle: new AttemptThrottle(rateLimiter, config.attempts),
  };
}
