import type { ServicesConfig } from '@tasks/api';
import { z } from 'zod';

/** Used only outside production, and announced loudly at boot when it is. */
const devJwtSecret = 'dev-only-insecure-jwt-secret-change-me-0123456789';

const commaSeparated = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

/**
 * Which proxies to believe about the client address (`X-Forwarded-For`): `false` (default: the
 * TCP peer is the client), `true` (any), a hop count, or comma-separated addresses/CIDRs.
 */
const trustProxy = z
  .string()
  .default('false')
  .transform((value, context): boolean | number | string[] => {
    if (value === 'true' || value === 'false') return value === 'true';
    if (/^\d+$/.test(value)) return Number(value);
    const entries = value.split(',').map((entry) => entry.trim());
    if (entries.every((entry) => /^[\d.:a-fA-F]+(\/\d{1,3})?$/.test(entry))) return entries;
    context.addIssue({ code: 'custom', message: 'must be true, false, a hop count or IPs/CIDRs' });
    return z.NEVER;
  });

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    EMBEDDED_DB_DIR: z.string().min(1).optional(),
    EMBEDDED_DB_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
    DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    DB_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
    DB_POOL_MAX_WAITING: z.coerce.number().int().min(0).max(100_000).default(1_000),
    DB_PREPARED_STATEMENTS: z.stringbool().default(true),
    LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
    LOAD_SHED_MAX_HEAP_USED_MB: z.coerce.number().int().min(0).max(1_048_576).default(0),
    MIGRATE_ON_START: z.stringbool().optional(),
    MIGRATIONS_DIR: z.string().min(1).optional(),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    JWT_ISSUER: z.string().min(1).default('tasks-api'),
    JWT_AUDIENCE: z.string().min(1).default('tasks-api'),
    ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
    REFRESH_TOKEN_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(365 * 86_400)
      .default(30 * 86_400),
    SESSION_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
    BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
    PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).max(10_000).default(32),
    TASK_QUOTA_PER_USER: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
    MAX_SESSIONS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(50),
    TRPC_MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000).default(50),
    MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(2_048),
    HEADERS_TIMEOUT_MS: z.coerce.number().int().min(500).max(600_000).default(10_000),
    CORS_ORIGINS: commaSeparated,
    BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(65_536),
    RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(300),
    RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1000).max(86_400_000).default(60_000),
    AUTH_RATE_LIMIT_MAX_PER_IP: z.coerce.number().int().min(1).default(20),
    AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: z.coerce.number().int().min(1).default(5),
    AUTH_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1000).max(86_400_000).default(60_000),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    RATE_LIMIT_REDIS_PREFIX: z.string().min(1).default('tasks-api:rate-limit:'),
    TRUST_PROXY: trustProxy,
    REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
    KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(72_000),
    SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(600_000).default(1_000),
    SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
  })
  .superRefine((env, context) => {
    // PostgreSQL cancels a slow statement first and the connection survives; the client-side
    // bound is for a database that does not answer at all.
    if (env.DB_QUERY_TIMEOUT_MS <= env.DB_STATEMENT_TIMEOUT_MS) {
      context.addIssue({
        code: 'custom',
        path: ['DB_QUERY_TIMEOUT_MS'],
        message: 'must be greater than DB_STATEMENT_TIMEOUT_MS',
      });
    }
    // Node refuses a head timeout longer than the whole request's.
    if (env.HEADERS_TIMEOUT_MS > env.REQUEST_TIMEOUT_MS) {
      context.addIssue({
        code: 'custom',
        path: ['HEADERS_TIMEOUT_MS'],
        message: 'must not be greater than REQUEST_TIMEOUT_MS',
      });
    }
    if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
      context.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: 'is required in production',
      });
    }
    // The embedded database is a development convenience, never a production default.
    if (env.NODE_ENV === 'production' && !env.DATABASE_URL) {
      context.addIssue({
        code: 'custom',
        path: ['DATABASE_URL'],
        message: 'is required in production',
      });
    }
  });

/** Every environment variable the service reads (`.env.example` documents each). */
export const envVariableNames = Object.keys(envSchema.shape);

export interface AppConfig {
  environment: 'development' | 'test' | 'production';
  host: string;
  port: number;
  /** Absent: the server process starts the embedded development database. */
  databaseUrl: string | undefined;
  /** Where the embedded development database keeps its data and listens, when overridden. */
  embeddedDb: { dataDir: string | undefined; port: number | undefined };
  dbPoolSize: number;
  dbStatementTimeoutMs: number;
  dbConnectTimeoutMs: number;
  /** Client-side bound on a query's answer: a silent network fails the request with 503. */
  dbQueryTimeoutMs: number;
  /** Queries that may wait for a pooled connection; more are answered 503 at once. */
  dbPoolMaxWaiting: number;
  /** Prepare the hot statements once per connection; off behind an old transaction pooler. */
  dbPreparedStatements: boolean;
  /** Thresholds over which requests are answered 503 before any work; 0 switches one off. */
  loadShedding: { maxEventLoopDelayMs: number; maxHeapUsedBytes: number };
  trustProxy: boolean | number | string[];
  /** Open connections at most; more are closed as they arrive. */
  maxConnections: number;
  /** A connection must deliver a complete request head within this, silent or trickling. */
  headersTimeoutMs: number;
  /** Calls in one `/trpc` batch at most; more are refused with 413 before any runs. */
  trpcMaxBatchSize: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** After SIGTERM, how long open connections keep being served (answers close them). */
  shutdownDrainMs: number;
  /** How long shutdown may take in all before the process exits anyway. */
  shutdownGraceMs: number;
  migrateOnStart: boolean;
  /** Where the migrations of this build are (a bundled deployment); default: `prisma/migrations`. */
  migrationsDir: string | undefined;
  jwt: {
    secret: string;
    issuer: string;
    audience: string;
    ttlSeconds: number;
    isDevDefault: boolean;
  };
  /** Idle lifetime of a session: each refresh extends it by this much. */
  refreshTokenTtlSeconds: number;
  /** How long an open session is trusted without a query; bounds cross-instance revocation. */
  sessionCacheMs: number;
  bcryptCost: number;
  /** bcrypt runs at once, and runs that may wait; more are answered 503 at once. */
  passwordHashing: { concurrency: number; maxQueued: number };
  taskQuotaPerUser: number;
  maxSessionsPerUser: number;
  corsOrigins: string[];
  bodyLimitBytes: number;
  /** Requests allowed per window; sign-in, sign-up and refresh also have stricter budgets. */
  rateLimit: {
    /** Every route but the probes, per client IP; each call of a `/trpc` batch counts. */
    max: number;
    windowMs: number;
    /** Login, register, refresh, password change: per client IP, and per targeted account. */
    auth: { maxPerIp: number; maxPerAccount: number; windowMs: number };
    /** Counters shared by every instance; absent, each process counts in its own memory. */
    redisUrl: string | undefined;
    redisKeyPrefix: string;
  };
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once, at boot; every problem is reported together. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const values = parsed.data;
  return {
    environment: values.NODE_ENV,
    host: values.HOST,
    port: values.PORT,
    databaseUrl: values.DATABASE_URL,
    embeddedDb: { dataDir: values.EMBEDDED_DB_DIR, port: values.EMBEDDED_DB_PORT },
    dbPoolSize: values.DB_POOL_SIZE,
    dbStatementTimeoutMs: values.DB_STATEMENT_TIMEOUT_MS,
    dbConnectTimeoutMs: values.DB_CONNECT_TIMEOUT_MS,
    dbQueryTimeoutMs: values.DB_QUERY_TIMEOUT_MS,
    dbPoolMaxWaiting: values.DB_POOL_MAX_WAITING,
    dbPreparedStatements: values.DB_PREPARED_STATEMENTS,
    loadShedding: {
      maxEventLoopDelayMs: values.LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: values.LOAD_SHED_MAX_HEAP_USED_MB * 1024 * 1024,
    },
    trustProxy: values.TRUST_PROXY,
    maxConnections: values.MAX_CONNECTIONS,
    headersTimeoutMs: values.HEADERS_TIMEOUT_MS,
    trpcMaxBatchSize: values.TRPC_MAX_BATCH_SIZE,
    requestTimeoutMs: values.REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: values.KEEP_ALIVE_TIMEOUT_MS,
    shutdownDrainMs: values.SHUTDOWN_DRAIN_MS,
    shutdownGraceMs: values.SHUTDOWN_GRACE_MS,
    migrateOnStart: values.MIGRATE_ON_START ?? values.NODE_ENV !== 'production',
    migrationsDir: values.MIGRATIONS_DIR,
    jwt: {
      secret: values.JWT_SECRET ?? devJwtSecret,
      issuer: values.JWT_ISSUER,
      audience: values.JWT_AUDIENCE,
      ttlSeconds: values.ACCESS_TOKEN_TTL_SECONDS,
      isDevDefault: values.JWT_SECRET === undefined,
    },
    refreshTokenTtlSeconds: values.REFRESH_TOKEN_TTL_SECONDS,
    sessionCacheMs: values.SESSION_CACHE_MS,
    bcryptCost: values.BCRYPT_COST,
    passwordHashing: {
      concurrency: values.PASSWORD_HASH_CONCURRENCY,
      maxQueued: values.PASSWORD_HASH_QUEUE,
    },
    taskQuotaPerUser: values.TASK_QUOTA_PER_USER,
    maxSessionsPerUser: values.MAX_SESSIONS_PER_USER,
    corsOrigins: values.CORS_ORIGINS,
    bodyLimitBytes: values.BODY_LIMIT_BYTES,
    rateLimit: {
      max: values.RATE_LIMIT_MAX,
      windowMs: values.RATE_LIMIT_WINDOW_MS,
      auth: {
        maxPerIp: values.AUTH_RATE_LIMIT_MAX_PER_IP,
        maxPerAccount: values.AUTH_RATE_LIMIT_MAX_PER_ACCOUNT,
        windowMs: values.AUTH_RATE_LIMIT_WINDOW_MS,
      },
      redisUrl: values.REDIS_URL,
      redisKeyPrefix: values.RATE_LIMIT_REDIS_PREFIX,
    },
    logLevel: values.LOG_LEVEL,
  };
}

/** What the API's services need from the configuration. */
export function servicesConfig(config: AppConfig): ServicesConfig {
  return {
    bcryptCost: config.bcryptCost,
    passwordHashing: config.passwordHashing,
    attempts: {
      perAddress: { max: config.rateLimit.auth.maxPerIp, windowMs: config.rateLimit.auth.windowMs },
      perAccount: {
        max: config.rateLimit.auth.maxPerAccount,
        windowMs: config.rateLimit.auth.windowMs,
      },
    },
    taskQuotaPerUser: config.taskQuotaPerUser,
    maxSessionsPerUser: config.maxSessionsPerUser,
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
    sessionCacheMs: config.sessionCacheMs,
    accessTokens: {
      secret: config.jwt.secret,
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ttlSeconds: config.jwt.ttlSeconds,
    },
  };
}
