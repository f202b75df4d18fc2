import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { applyMigrations, embeddedClientOptions, resolveDevDatabase } from '@tasks/db';
import { buildApp } from './app.js';
import { closeGracefully } from './graceful-close.js';
import { ConfigError, loadConfig, type AppConfig } from './config.js';

/**
 * The environment, over the values of a `.env` file when there is one (ENV_FILE, or `.env` where
 * `pnpm` was started): the real environment always wins, as with `node --env-file`.
 */
function environment(): Record<string, string | undefined> {
  const file = process.env.ENV_FILE ?? path.join(process.env.INIT_CWD ?? process.cwd(), '.env');
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...process.env };
}

/** DATABASE_URL, or the embedded PostgreSQL of zero-setup development (data in `.data/`). */
function openDatabase(config: AppConfig) {
  return resolveDevDatabase(
    { DATABASE_URL: config.databaseUrl, EMBEDDED_DB_PORT: config.embeddedDb.port?.toString() },
    { dataDir: config.embeddedDb.dataDir },
  );
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(environment());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }

  const database = await openDatabase(config);
  if (config.migrateOnStart) {
    const { applied } = await applyMigrations({
      url: database.url,
      migrationsDir: config.migrationsDir,
    });
    if (applied.length > 0) console.info(`Applied migrations: ${applied.join(', ')}`);
  }
  const app = await buildApp({
    ...config,
    databaseUrl: database.url,
    ...(database.source === 'embedded' && {
      dbPoolSize: embeddedClientOptions.poolSize,
      dbPreparedStatements: embeddedClientOptions.preparedStatements,
    }),
  });
  if (database.source === 'embedded') {
    app.log.info({ url: database.url }, 'using the embedded development database');
  }

  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closing) {
      app.log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    closing = true;
    app.log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    // In-flight requests get the grace period; a request that hangs must not keep the process.
    setTimeout(() => {
      app.log.error('grace period over: exiting with requests still in flight');
      process.exit(1);
    }, config.shutdownGraceMs).unref();
    await closeGracefully(app, { drainMs: config.shutdownDrainMs });
    await database.stop();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void shutdown(signal));
  }

  await app.listen({ host: config.host, port: config.port });
}

await main();
