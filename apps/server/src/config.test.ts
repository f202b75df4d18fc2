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

  it('refuses production without a JWT secret or a database', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgresql://db/x' })).toThrow(
      /JWT_SECRET: is required in production/,
    );
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) })).toThrow(
      /DATABASE_URL: is required in production/,
    );
  });

  it('parses lists and booleans', () => {
    const config = loadConfig({
      CORS_ORIGINS: 'http://a.test, http://b.test',
      MIGRATE_ON_START: 'false',
    });
    expect(config.corsOrigins).toEqual(['http://a.test', 'http://b.test']);
    expect(config.migrateOnStart).toBe(false);
  });
});
