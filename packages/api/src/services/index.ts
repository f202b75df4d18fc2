import type { PrismaClient, TaskStatements } from '@tasks/db';
import type { Clock } from '../context.js';
import { createAccessTokens, type AccessTokenConfig } from '../security/access-tokens.js';
import { createPasswordHasher } from '../security/passwords.js';
import { AuthService } from './auth-service.js';
import { TaskService } from './task-service.js';

export interface ServicesConfig {
  accessTokens: AccessTokenConfig;
  refreshTokenTtlSeconds: number;
  bcryptCost: number;
  /** See `AuthServiceDependencies.sessionCacheMs`; default 0 (a query per request). */
  sessionCacheMs?: number;
}

export interface ServiceDependencies {
  db: PrismaClient;
  /** The busiest task statements, on `db`'s pool (`createDatabase` builds both). */
  taskStatements: TaskStatements;
  clock: Clock;
  config: ServicesConfig;
}

export interface Services {
  auth: AuthService;
  tasks: TaskService;
}

/** Built once per process (or per test) from explicit dependencies; nothing is global. */
export function createServices({
  db,
  taskStatements,
  clock,
  config,
}: ServiceDependencies): Services {
  return {
    auth: new AuthService({
      db,
      clock,
      passwords: createPasswordHasher(config.bcryptCost),
      accessTokens: createAccessTokens(config.accessTokens, clock),
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
      sessionCacheMs: config.sessionCacheMs ?? 0,
    }),
    tasks: new TaskService(db, taskStatements, clock),
  };
}

export { AuthService, TaskService };
