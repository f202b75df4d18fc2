// `pnpm db:migrate [deploy|status|dev --name <name>]` against DATABASE_URL, or the embedded dev
// database when it is unset.
import { parseArgs } from 'node:util';
import { resolveDevDatabase } from '../dev-database.js';
import { applyMigrations, createMigration, getMigrationStatus } from '../migrations.js';

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

// As the server's config: production never falls back to the embedded development database.
if (process.env.NODE_ENV === 'production' && !process.env.DATABASE_URL) {
  console.error('DATABASE_URL is required in production');
  process.exit(1);
}

// The server's MIGRATIONS_DIR too: its readiness check must look where this applies them.
const migrationsDir = process.env.MIGRATIONS_DIR;
const database = await resolveDevDatabase(process.env);
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
