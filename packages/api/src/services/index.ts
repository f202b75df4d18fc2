import type {
  AccountRepository,
  ChangeRepository,
  TaskRepository,
  WebhookRepository,
} from '@tasks/db';
import type { Clock } from '../clock.js';
import { createAccessTokens, type AccessTokenConfig } from '../security/access-tokens.js';
import { AttemptThrottle, type AttemptBudgets } from '../security/attempt-throttle.js';
import { createPasswordHasher, type PasswordHashingLimits } from '../security/passwords.js';
import { createRateLimiter, type RateLimiter } from '../security/rate-limiter.js';
import { AuthService } from './auth-service.js';
import { PersonalAccessTokenService } from './personal-access-token-service.js';
import {
  ChangeFeed,
  createLocalChangeSignal,
  type ChangeFeedConfig,
  type ChangeSignal,
} from './change-feed.js';
import { TaskService } from './task-service.js';
import { WebhookService, type WebhookConfig } from './webhook-service.js';
import type { ResolveHost } from '../webhooks/url-policy.js';

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
  /** Personal access tokens one user may have; one more is QUOTA_EXCEEDED. */
  maxTokensPerUser: number;
  /** See `AuthServiceDependencies.sessionCacheMs`; default 0 (a query per request). */
  sessionCacheMs?: number;
  /** Refuse unverified accounts but where a procedure allows them; default false. */
  requireVerifiedEmail?: boolean;
  changeFeed: ChangeFeedConfig;
  webhooks: WebhookConfig;
}

export interface ServiceDependencies {
  /** Every task query, and every account, session and refresh-token query (`createDatabase`). */
  tasks: TaskRepository;
  accounts: AccountRepository;
  changes: ChangeRepository;
  webhooks: WebhookRepository;
  /** How instances tell each other about new changes; default: this process only. */
  changeSignal?: ChangeSignal;
  clock: Clock;
  config: ServicesConfig;
  /** Where attempt budgets are counted; default: this process's memory. */
  rateLimiter?: RateLimiter;
  /** How webhook receivers' hosts resolve; default: the system's resolver. */
  resolveHost?: ResolveHost;
}

export interface Services {
  auth: AuthService;
  personalAccessTokens: PersonalAccessTokenService;
  tasks: TaskService;
  changes: ChangeFeed;
  webhooks: WebhookService;
  throttle: AttemptThrottle;
}

/** Built once per process (or per test) from explicit dependencies; nothing is global. */
export function createServices({
  tasks,
  accounts,
  changes,
  webhooks,
  changeSignal = createLocalChangeSignal(),
  clock,
  config,
  rateLimiter = createRateLimiter(),
  resolveHost,
}: ServiceDependencies): Services {
  const feed = new ChangeFeed(changes, clock, config.changeFeed, changeSignal);
  const sessionCacheMs = config.sessionCacheMs ?? 0;
  const requireVerifiedEmail = config.requireVerifiedEmail ?? false;
  const personalAccessTokens = new PersonalAccessTokenService(accounts, clock, {
    maxPerUser: config.maxTokensPerUser,
    cacheMs: sessionCacheMs,
    requireVerifiedEmail,
  });
  return {
    auth: new AuthService({
      accounts,
      clock,
      passwords: createPasswordHasher(config.bcryptCost, config.passwordHashing),
      accessTokens: createAccessTokens(config.accessTokens, clock),
      personalAccessTokens,
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
      sessionCacheMs,
      requireVerifiedEmail,
      maxSessionsPerUser: config.maxSessionsPerUser,
    }),
    personalAccessTokens,
    tasks: new TaskService(tasks, clock, config.taskQuotaPerUser, (userId) => {
      feed.changed(userId);
    }),
    changes: feed,
    webhooks: new WebhookService(webhooks, clock, config.webhooks, resolveHost),
    throttle: new AttemptThrottle(rateLimiter, config.attempts),
  };
}
