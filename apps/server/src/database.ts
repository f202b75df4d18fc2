import {
  applyMigrations,
  embeddedClientOptions,
  resolveDevDatabase,
  type DevDatabase,
} from '@tasks/db';
import type { AppConfig } from './config.js';

/**
 * The one database of this configuration, whichever entry point asks (server, migrations, seed,
 * Studio): DATABASE_URL, else the embedded development database in its configured directory
 * and port.
 */
export function openConfiguredDatabase(config: AppConfig): Promise<DevDatabase> {
  return resolveDevDatabase({
    url: config.databaseUrl,
    dataDir: config.embeddedDb.dataDir,
    port: config.embeddedDb.port,
  });
}

/**
 * The database of a long-running process (the API, `pnpm worker`), migrated when configured to
 * be, and the configuration adjusted to what the server is: a PGlite allows one connection, no
 * named statements and no LISTEN.
 */
export async function openServiceDatabase(
  config: AppConfig,
): Promise<{ database: DevDatabase; config: AppConfig & { databaseUrl: string } }> {
  const database = await openConfiguredDatabase(config);
  if (config.migrateOnStart) {
    const { applied } = await applyMigrations({
      url: database.url,
      migrationsDir: config.migrationsDir,
    });
    if (applied.length > 0) console.info(`Applied migrations: ${applied.join(', ')}`);
  }
  return {
    database,
    config: {
      ...config,
      databaseUrl: database.url,
      ...(database.servedByPglite && {
        dbPoolSize: embeddedClientOptions.poolSize,
        dbPreparedStatements: embeddedClientOptions.preparedStatements,
        // PGlite's one session cannot hold a LISTEN for this process alone.
        changeFeed: { ...config.changeFeed, signal: 'poll' as const },
      }),
    },
  };
}
