import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has working development defaults, with a loudly flagged JWT secret', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      environment: 'development',
      port: 3000,
      databaseUrl: undefined,
      migrateOnStart: true,
      bcryptCost: 12,
      dbPreparedStatements: true,
    });
    expect(config.jwt.isDevDefault).toBe(true);
  });

  it('reports every problem at once', () => {
    const attempt = () =>
      loadConfig({
        PORT: 'eighty',
        BCRYPT_COST: '99',
        DATABASE_URL: 'mysql://x',
        JWT_SECRET: 'short',
      });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as ConfigError).problems.join('\n');
      for (const name of ['PORT', 'BCRYPT_COST', 'DATABASE_URL', 'JWT_SECRET'])
        expect(problems).toContain(name);
    }
  });

  it('traces once an OTLP endpoint is set, taking an empty value as unset', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }).tracing).toBeUndefined();
    const endpoint = 'http://127.0.0.1:4318';
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }).tracing).toEqual({
      serviceName: 'tasks-api',
    });
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'w' }).tracing,
    ).toEqual({ serviceName: 'w' });
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true' }).tracing,
    ).toBeUndefined();
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER/);
  });

  it('refuses production without a JWT secret or a database', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgresql://db/x' })).toThrow(
      /JWT_SECRET: is required in production/,
    );
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) })).toThrow(
      /DATABASE_URL: is required in production/,
    );
  });

  it('refuses a client-side query timeout that would fire before PostgreSQL cancels the statement', () => {
    expect(() => loadConfig({ DB_STATEMENT_TIMEOUT_MS: '15000' })).toThrow(
      /DB_QUERY_TIMEOUT_MS: must be greater than DB_STATEMENT_TIMEOUT_MS/,
    );
    expect(
      loadConfig({ DB_STATEMENT_TIMEOUT_MS: '15000', DB_QUERY_TIMEOUT_MS: '20000' }),
    ).toMatchObject({ dbStatementTimeoutMs: 15_000, dbQueryTimeoutMs: 20_000 });
  });

  it('parses lists and booleans', () => {
    const config = loadConfig({
      CORS_ORIGINS: 'http://a.test, http://b.test',
      MIGRATE_ON_START: 'false',
      DB_PREPARED_STATEMENTS: 'false',
    });
    expect(config.corsOrigins).toEqual(['http://a.test', 'http://b.test']);
    expect(config.migrateOnStart).toBe(false);
    expect(config.dbPreparedStatements).toBe(false);
  });

  it('has rate limits by default, counted in memory', () => {
    expect(loadConfig({}).rateLimit).toEqual({
      max: 300,
      windowMs: 60_000,
      auth: { maxPerIp: 20, maxPerAccount: 5, windowMs: 60_000 },
      redisUrl: undefined,
      redisKeyPrefix: 'tasks-api:rate-limit:',
    });
  });

  it('parses rate limits and the Redis store', () => {
    const config = loadConfig({
      RATE_LIMIT_MAX: '1000',
      RATE_LIMIT_WINDOW_MS: '10000',
      AUTH_RATE_LIMIT_MAX_PER_IP: '50',
      AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '10',
      AUTH_RATE_LIMIT_WINDOW_MS: '900000',
      REDIS_URL: 'rediss://user:secret@cache.internal:6380/2',
      RATE_LIMIT_REDIS_PREFIX: 'staging:rl:',
    });
    expect(config.rateLimit).toEqual({
      max: 1000,
      windowMs: 10_000,
      auth: { maxPerIp: 50, maxPerAccount: 10, windowMs: 900_000 },
      redisUrl: 'rediss://user:secret@cache.internal:6380/2',
      redisKeyPrefix: 'staging:rl:',
    });
  });

  it('refuses rate limits that would disable or break limiting', () => {
    const attempt = () =>
      loadConfig({
        RATE_LIMIT_MAX: '0',
        RATE_LIMIT_WINDOW_MS: '10',
        AUTH_RATE_LIMIT_MAX_PER_IP: '-1',
        AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: 'many',
        AUTH_RATE_LIMIT_WINDOW_MS: '0',
        REDIS_URL: 'http://cache.internal:6379',
        RATE_LIMIT_REDIS_PREFIX: '',
      });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const fields = (error as ConfigError).problems.map((problem) => problem.split(':')[0]);
      expect(fields.sort()).toEqual([
        'AUTH_RATE_LIMIT_MAX_PER_ACCOUNT',
        'AUTH_RATE_LIMIT_MAX_PER_IP',
        'AUTH_RATE_LIMIT_WINDOW_MS',
        'RATE_LIMIT_MAX',
        'RATE_LIMIT_REDIS_PREFIX',
        'RATE_LIMIT_WINDOW_MS',
        'REDIS_URL',
      ]);
    }
  });

  it('serves metrics only with METRICS_PORT, on the API host by default, never on PORT', () => {
    expect(loadConfig({}).metrics).toBeUndefined();
    expect(loadConfig({ HOST: '0.0.0.0', METRICS_PORT: '9464' }).metrics).toEqual({
      host: '0.0.0.0',
      port: 9464,
    });
    expect(
      loadConfig({ HOST: '0.0.0.0', METRICS_PORT: '9464', METRICS_HOST: '10.0.0.5' }).metrics,
    ).toEqual({ host: '10.0.0.5', port: 9464 });
    expect(() => loadConfig({ PORT: '3000', METRICS_PORT: '3000' })).toThrow(
      'METRICS_PORT: must differ from PORT',
    );
  });
});
