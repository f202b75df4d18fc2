import { resolveDevDatabase, type DevDatabase } from '@tasks/db';
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
