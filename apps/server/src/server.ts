import { applyMigrations, embeddedPoolSize, resolveDevDatabase } from '@tasks/db';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type AppConfig } from './config.js';

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
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }

  const database = await openDatabase(config);
  if (config.migrateOnStart) {
    const { applied } = await applyMigrations({ url: database.url });
    if (applied.length > 0) console.info(`Applied migrations: ${applied.join(', ')}`);
  }
  const app = await buildApp({
    ...config,
    databaseUrl: database.url,
    ...(database.source === 'embedded' && { dbPoolSize: embeddedPoolSize }),
  });
  if (database.source === 'embedded')
    app.log.info({ url: database.url }, 'using the embedded development database');

  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    // A second signal means "now": skip the graceful path.
    if (closing) process.exit(1);
    closing = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await database.stop();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void shutdown(signal));
  }

  await app.listen({ host: config.host, port: config.port });
}

await main();
