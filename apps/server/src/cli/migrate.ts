// `pnpm db:migrate [deploy|status|dev --name <name>]` against the configured database: the one
// `pnpm dev` uses, read from the same environment and `.env` (DATABASE_URL, or the embedded
// development database with EMBEDDED_DB_DIR and EMBEDDED_DB_PORT).
import { parseArgs } from 'node:util';
import { applyMigrations, createMigration, getMigrationStatus } from '@tasks/db';
import { loadConfigOrExit } from '../config.js';
import { openConfiguredDatabase } from '../database.js';

const usage = 'usage: pnpm db:migrate [deploy | status | dev --name <name>]';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string', short: 'n' } },
});
const command = positionals[0] ?? 'deploy';
if (!['deploy', 'status', 'dev'].includes(command) || positionals.length > 1) {
  console.error(usage);
  process.exit(2);
}
if (command === 'dev' && !values.name) {
  console.error(`db:migrate dev needs a name for the migration\n${usage}`);
  process.exit(2);
}

// Production never falls back to the embedded database; the server's MIGRATIONS_DIR too, since
// its readiness check must look where this applies them.
const config = loadConfigOrExit('tool');
const { migrationsDir } = config;
const database = await openConfiguredDatabase(config);
if (database.source === 'embedded') console.error(`Embedded PostgreSQL: ${database.url}`);
try {
  process.exitCode = await run(database.url);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  await database.stop();
}

async function run(url: string): Promise<number> {
  switch (command) {
    case 'deploy': {
      const { applied } = await applyMigrations({ url, migrationsDir });
      console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'No pending migrations.');
      return 0;
    }
    case 'dev': {
      const created = await createMigration({ url, migrationsDir, name: values.name ?? '' });
      console.log(created ? `Created and applied ${created}` : 'No schema changes.');
      return 0;
    }
    default: {
      const status = await getMigrationStatus({ url, migrationsDir });
      for (const label of ['applied', 'pending', 'failed', 'modified'] as const) {
        console.log(`${label}: ${status[label].join(', ') || '-'}`);
      }
      const unhealthy = status.pending.length + status.failed.length + status.modified.length;
      return unhealthy > 0 ? 1 : 0;
    }
  }
}
