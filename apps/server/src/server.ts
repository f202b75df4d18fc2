import { applyMigrations, embeddedClientOptions } from '@tasks/db';
import { buildApp } from './app.js';
import { loadConfigOrExit } from './config.js';
import { openConfiguredDatabase } from './database.js';
import { closeGracefully } from './graceful-close.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const database = await openConfiguredDatabase(config);
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
