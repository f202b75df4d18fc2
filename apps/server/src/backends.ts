import { createJobHandlers, housekeepingSchedule, type ChangeFeed, type Clock } from '@tasks/api';
import { createDatabase, servesPglite, type Database } from '@tasks/db';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import type { AppConfig } from './config.js';
import { createMailer } from './mailer.js';
import type { Metrics } from './metrics.js';
import { createRedisChangeSignal } from './redis-change-signal.js';
import { startWorkers, type WorkerRuntime } from './workers.js';

type ServiceConfig = AppConfig & { databaseUrl: string };

/** JSON lines for machines; pretty output only when a person watches a terminal. */
export function createLogger(config: AppConfig): FastifyBaseLogger {
  return pino({
    level: config.logLevel,
    // Defence in depth: nothing logs bodies or headers today, and nothing ever should leak these.
    redact: [
      'req.headers.authorization',
      'req.headers.cookie',
      'res.headers["set-cookie"]',
      '*.password',
      '*.currentPassword',
      '*.newPassword',
      '*.refreshToken',
      '*.accessToken',
    ],
    ...(process.stdout.isTTY && {
      transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } },
    }),
  });
}

/**
 * The database client and the change signal of a long-running process (the API or `pnpm
 * worker`), as configured; the caller closes both.
 */
export function connectBackends(config: ServiceConfig, log: FastifyBaseLogger) {
  const database = createDatabase({
    url: config.databaseUrl,
    poolSize: config.dbPoolSize,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    queryTimeoutMs: config.dbQueryTimeoutMs,
    maxWaiting: config.dbPoolMaxWaiting,
    preparedStatements: config.dbPreparedStatements,
  });
  const onSignalError = (error: unknown) => {
    log.warn({ err: error }, 'change signal interrupted; streams catch up by reading');
  };
  const changeSignal =
    config.changeFeed.signal === 'redis' && config.rateLimit.redisUrl
      ? createRedisChangeSignal({
          url: config.rateLimit.redisUrl,
          channel: `${config.rateLimit.redisKeyPrefix}changes`,
          onError: onSignalError,
        })
      : database.createChangeSignal({
          kind: config.changeFeed.signal === 'poll' ? 'poll' : 'notify',
          pollIntervalMs: config.changeFeed.pollIntervalMs,
          onError: onSignalError,
        });
  return { database, changeSignal };
}

/** The job workers with every handler and the housekeeping schedule. */
export async function startConfiguredWorkers(
  config: ServiceConfig,
  {
    database,
    feed,
    clock,
    log,
    metrics,
  }: {
    database: Database;
    feed: ChangeFeed;
    clock: Clock;
    log: FastifyBaseLogger;
    metrics: Metrics | undefined;
  },
): Promise<WorkerRuntime> {
  return startWorkers({
    databaseUrl: config.databaseUrl,
    sharedPool: (await servesPglite(database.pool)) ? database.pool : undefined,
    jobs: config.jobs,
    preparedStatements: config.dbPreparedStatements,
    handlers: createJobHandlers({
      webhooks: database.webhooks,
      changes: database.changes,
      tasks: database.tasks,
      accounts: database.accounts,
      feed,
      mailer: createMailer(config.mail, log),
      clock,
      config: { webhooks: config.webhooks, accountMail: config.accountMail },
      log,
      ...(metrics && {
        onDeliveryAttempt: (outcome) => {
          metrics.deliveryAttempt(outcome);
        },
      }),
    }),
    schedule: housekeepingSchedule,
    log,
    metrics,
  });
}
