import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
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

const durationUnits = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** Comma-separated durations such as `5s,5m,2h` (units ms, s, m, h), as milliseconds. */
const durations = z.string().transform((value, context) => {
  const parsed = value.split(',').map((item) => /^(\d+)(ms|s|m|h)$/.exec(item.trim()));
  if (parsed.some((match) => match === null) || parsed.length > 20) {
    context.addIssue({ code: 'custom', message: 'must be up to 20 durations like 5s,5m,2h' });
    return z.NEVER;
  }
  return parsed.map(
    (match) => Number(match?.[1]) * durationUnits[match?.[2] as keyof typeof durationUnits],
  );
});

/** An OTEL_* variable: empty means unset, as OpenTelemetry's specification has it. */
const otel = <Schema extends z.ZodType>(schema: Schema) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema);

const environmentSchema = z.object({
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
  REFRESH_COOKIE_SECURE: z.stringbool().default(true),
  SESSION_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
  PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).max(10_000).default(32),
  TASK_QUOTA_PER_USER: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  MAX_SESSIONS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(50),
  MAX_TOKENS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(50),
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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).optional(),
  // OpenTelemetry's own variables (the SDK reads these and the rest of the specification's):
  // checked here with the others, and they decide whether tracing starts at all.
  OTEL_SDK_DISABLED: otel(z.stringbool().default(false)),
  OTEL_EXPORTER_OTLP_ENDPOINT: otel(z.url({ protocol: /^https?$/ }).optional()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otel(z.url({ protocol: /^https?$/ }).optional()),
  OTEL_SERVICE_NAME: otel(z.string().min(1).default('tasks-api')),
  OTEL_TRACES_SAMPLER: otel(
    z
      .enum([
        'always_on',
        'always_off',
        'traceidratio',
        'parentbased_always_on',
        'parentbased_always_off',
        'parentbased_traceidratio',
      ])
      .optional(),
  ),
  OTEL_TRACES_SAMPLER_ARG: otel(z.coerce.number().min(0).max(1).optional()),
  SEED_PASSWORD: z.string().min(8).max(128).optional(),
  STUDIO_PORT: z.coerce.number().int().min(1).max(65535).default(5555),
  WEB_PORT: z.coerce.number().int().min(1).max(65535).default(5173),
  CHANGES_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  CHANGE_SIGNAL: z.enum(['notify', 'poll', 'redis']).default('notify'),
  CHANGE_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  STREAM_HEARTBEAT_MS: z.coerce.number().int().min(50).max(60_000).default(15_000),
  MAX_STREAMS_PER_USER: z.coerce.number().int().min(1).max(1_000).default(10),
  MAX_STREAMS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  STREAM_SLOW_CLIENT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  JOBS_IN_API: z.stringbool().default(true),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
  JOB_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
  WORKER_DEAD_AFTER_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  WEBHOOK_ALLOW_PRIVATE_URLS: z.stringbool().default(false),
  MAX_WEBHOOKS_PER_USER: z.coerce.number().int().min(1).max(1_000).default(10),
  // Standard Webhooks' suggested schedule: 8 attempts over about 27 hours.
  WEBHOOK_RETRY_SCHEDULE: z.string().default('5s,5m,30m,2h,5h,10h,10h').pipe(durations),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  WEBHOOK_DELIVERY_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  MAIL_FROM: z.string().min(3).max(320).default('Tasks <no-reply@tasks.localhost>'),
  MAIL_DIR: z.string().min(1).optional(),
  WEB_APP_URL: z.url({ protocol: /^https?$/ }).optional(),
  REQUIRE_VERIFIED_EMAIL: z.stringbool().default(false),
});

type Environment = z.output<typeof environmentSchema>;

/**
 * Rules between variables. The JWT secret is required in production only of the processes that
 * serve requests: the migration and Studio tools never sign a token.
 */
function checkEnvironment(servesRequests: boolean) {
  return (env: Environment, context: z.RefinementCtx) => {
    // PostgreSQL cancels a slow statement first and the connection survives; the client-side
    // bound is for a database that does not answer at all.
    if (env.DB_QUERY_TIMEOUT_MS <= env.DB_STATEMENT_TIMEOUT_MS) {
      context.addIssue({
        code: 'custom',
        path: ['DB_QUERY_TIMEOUT_MS'],
        message: 'must be greater than DB_STATEMENT_TIMEOUT_MS',
      });
    }
    if (env.CHANGE_SIGNAL === 'redis' && !env.REDIS_URL) {
      context.addIssue({
        code: 'custom',
        path: ['CHANGE_SIGNAL'],
        message: 'redis needs REDIS_URL',
      });
    }
    // `/metrics` is never served to the public: it has a listener of its own.
    if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
      context.addIssue({
        code: 'custom',
        path: ['METRICS_PORT'],
        message: 'must differ from PORT (metrics are never served on the public port)',
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
    if (servesRequests && env.NODE_ENV === 'production' && !env.JWT_SECRET) {
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
  };
}

/** Every environment variable the service reads (`.env.example` documents each). */
export const envVariableNames = Object.keys(environmentSchema.shape);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The configuration as every entry point uses it, derived from the environment in one place:
 * its type is this schema's output.
 */
const toConfig = (values: Environment) => ({
  environment: values.NODE_ENV,
  host: values.HOST,
  port: values.PORT,
  // Absent: the embedded development database, in `embeddedDb`'s directory and port.
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
  // Browser sessions' refresh token (cookie mode of the REST auth routes): it lives as long as
  // the session would stay open without a refresh.
  refreshTokenCookie: {
    secure: values.REFRESH_COOKIE_SECURE,
    maxAgeSeconds: values.REFRESH_TOKEN_TTL_SECONDS,
  },
  sessionCacheMs: values.SESSION_CACHE_MS,
  bcryptCost: values.BCRYPT_COST,
  passwordHashing: {
    concurrency: values.PASSWORD_HASH_CONCURRENCY,
    maxQueued: values.PASSWORD_HASH_QUEUE,
  },
  taskQuotaPerUser: values.TASK_QUOTA_PER_USER,
  maxSessionsPerUser: values.MAX_SESSIONS_PER_USER,
  maxTokensPerUser: values.MAX_TOKENS_PER_USER,
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
  // Prometheus metrics on a listener of their own, off without METRICS_PORT. By default on the
  // API's own host: reachable wherever the API is (a container's 0.0.0.0 for the scraper beside
  // it), and no further.
  metrics:
    values.METRICS_PORT === undefined
      ? undefined
      : { host: values.METRICS_HOST ?? values.HOST, port: values.METRICS_PORT },
  // Traces over OTLP, on once an endpoint is set (see `tracing.ts`, loaded with `--import`).
  tracing:
    !values.OTEL_SDK_DISABLED &&
    (values.OTEL_EXPORTER_OTLP_ENDPOINT ?? values.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
      ? { serviceName: values.OTEL_SERVICE_NAME }
      : undefined,
  // `pnpm db:seed` and `pnpm db:studio`.
  seedPassword: values.SEED_PASSWORD,
  studioPort: values.STUDIO_PORT,
  // `pnpm dev`: where the web app's dev server listens.
  webPort: values.WEB_PORT,
  changeFeed: {
    retentionMs: values.CHANGES_RETENTION_DAYS * 86_400_000,
    signal: values.CHANGE_SIGNAL,
    pollIntervalMs: values.CHANGE_POLL_MS,
    heartbeatMs: values.STREAM_HEARTBEAT_MS,
    maxStreamsPerUser: values.MAX_STREAMS_PER_USER,
    maxStreams: values.MAX_STREAMS,
    slowClientMs: values.STREAM_SLOW_CLIENT_MS,
  },
  jobs: {
    // `pnpm worker` runs them otherwise.
    inApi: values.JOBS_IN_API,
    concurrency: values.WORKER_CONCURRENCY,
    pollIntervalMs: values.JOB_POLL_MS,
    deadAfterMs: values.WORKER_DEAD_AFTER_MS,
  },
  mail: {
    smtpUrl: values.SMTP_URL,
    from: values.MAIL_FROM,
    // Without SMTP_URL: files in the git-ignored .data/mail of the repository (development).
    dir: values.MAIL_DIR ?? fileURLToPath(new URL('../../../.data/mail', import.meta.url)),
  },
  requireVerifiedEmail: values.REQUIRE_VERIFIED_EMAIL,
  accountMail: {
    webAppUrl: values.WEB_APP_URL ?? `http://127.0.0.1:${values.WEB_PORT}`,
    resetTokenTtlMs: 30 * 60_000,
    verificationTokenTtlMs: 48 * 3_600_000,
  },
  webhooks: {
    allowPrivateUrls: values.WEBHOOK_ALLOW_PRIVATE_URLS,
    maxPerUser: values.MAX_WEBHOOKS_PER_USER,
    retryDelaysMs: values.WEBHOOK_RETRY_SCHEDULE,
    timeoutMs: values.WEBHOOK_TIMEOUT_MS,
    responseExcerptBytes: 1024,
    deliveryRetentionMs: values.WEBHOOK_DELIVERY_RETENTION_DAYS * 86_400_000,
  },
});

const configSchemas = {
  server: environmentSchema.superRefine(checkEnvironment(true)).transform(toConfig),
  tool: environmentSchema.superRefine(checkEnvironment(false)).transform(toConfig),
};

export type AppConfig = z.output<(typeof configSchemas)['server']>;

/**
 * Parses the environment once, at boot; every problem is reported together. A `tool` (the
 * migration runner, Studio) needs no JWT secret, even in production.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  purpose: keyof typeof configSchemas = 'server',
): AppConfig {
  const parsed = configSchemas[purpose].safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  return parsed.data;
}

/**
 * The environment, over the values of a `.env` file when there is one (ENV_FILE, or `.env` where
 * `pnpm` was started): the real environment always wins, as with `node --env-file`. The only
 * place the process environment is read.
 */
function readEnvironment(): Record<string, string | undefined> {
  const file = process.env.ENV_FILE ?? path.join(process.env.INIT_CWD ?? process.cwd(), '.env');
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...process.env };
}

/** The environment of a child process: this one's, with `overrides` on top. */
export function childEnvironment(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

/** For entry points: the configuration, or every problem printed and exit status 1. */
export function loadConfigOrExit(purpose: Parameters<typeof loadConfig>[1] = 'server'): AppConfig {
  try {
    return loadConfig(readEnvironment(), purpose);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

/**
 * For `tracing.ts`, which runs before any entry point: the tracing settings, or undefined when
 * tracing is off or the configuration is invalid (the entry point then reports every problem).
 * The OpenTelemetry SDK reads its variables from the process environment only, so the `.env`
 * file's OTEL_* values are put there (the real environment still wins).
 */
export function tracingConfig(): AppConfig['tracing'] {
  const env = readEnvironment();
  const parsed = configSchemas.tool.safeParse(env);
  if (!parsed.success || !parsed.data.tracing) return undefined;
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('OTEL_')) process.env[name] ??= value;
  }
  return parsed.data.tracing;
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
    maxTokensPerUser: config.maxTokensPerUser,
    changeFeed: config.changeFeed,
    webhooks: config.webhooks,
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
    sessionCacheMs: config.sessionCacheMs,
    requireVerifiedEmail: config.requireVerifiedEmail,
    accessTokens: {
      secret: config.jwt.secret,
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ttlSeconds: config.jwt.ttlSeconds,
    },
  };
}
