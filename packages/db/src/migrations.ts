/**
 * The migration runner: `applyMigrations`, `getMigrationStatus` and `createMigration` are its
 * whole interface. It exists because `prisma migrate` needs Prisma's native schema engine, which
 * it downloads from a host these machines cannot reach, and Prisma publishes the engine to npm
 * only as WebAssembly (driven in `schema-engine.ts` through a driver adapter, for `dev`).
 * Applying a migration needs no engine: each `migration.sql` runs in order, in a transaction,
 * recorded in `_prisma_migrations` exactly as Prisma records it, under Prisma's advisory lock.
 * Wherever the native engine is available, `prisma migrate deploy` can take over the same
 * database and folder at any time; replace this module with it then.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger as JobQueueLogger, runMigrations as installJobQueue } from 'graphile-worker';
import type pg from 'pg';
import { withSchemaEngine } from './schema-engine.js';
import { withClient } from './with-client.js';

/**
 * Set only in apps/server's bundle (`apps/server/build.ts`), where this module shares the entry
 * file's URL and `prisma/` is copied beside it; from source, `prisma/` is at the repository root.
 */
declare const __BUNDLED_PRISMA_DIR__: string | undefined;
const prismaDir =
  typeof __BUNDLED_PRISMA_DIR__ === 'string' ? __BUNDLED_PRISMA_DIR__ : '../../../prisma/';

export const defaultMigrationsDir = fileURLToPath(
  new URL(`${prismaDir}migrations`, import.meta.url),
);
export const defaultSchemaPath = fileURLToPath(
  new URL(`${prismaDir}schema.prisma`, import.meta.url),
);

/** graphile-worker announces each of its migrations on the console; the caller reports instead. */
const silentJobQueueLogger = new JobQueueLogger(() => () => {});

/** The key Prisma's schema engine locks with, so we also serialise against `prisma migrate`. */
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

// Prisma's own definition: the native CLI can take over this table at any time.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationsOptions {
  /** PostgreSQL connection string of the database to migrate. */
  url: string;
  /** Folder holding one `<timestamp>_<name>/migration.sql` folder per migration. */
  migrationsDir?: string;
}

export interface MigrationStatus {
  /** Recorded as finished (and not rolled back), in the order they were applied. */
  applied: string[];
  /** In the folder but not applied yet, in the order they would be applied. */
  pending: string[];
  /** Recorded as started but never finished nor rolled back: needs a human. */
  failed: string[];
  /** Applied, but `migration.sql` no longer matches the recorded checksum. */
  modified: string[];
}

export interface CreateMigrationOptions extends MigrationsOptions {
  /** Suffix of the new folder, e.g. `add_task_priority`. */
  name: string;
  schemaPath?: string;
}

interface MigrationFolder {
  name: string;
  sql: string;
}

interface MigrationRecord {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies every migration folder not yet recorded in `_prisma_migrations`, in name order, each in
 * its own transaction, recording it exactly as `prisma migrate deploy` does. Needs no schema
 * engine, so it runs anywhere `pg` can connect.
 */
export async function applyMigrations({
  url,
  migrationsDir = defaultMigrationsDir,
}: MigrationsOptions): Promise<{ applied: string[] }> {
  const folders = await readMigrationFolders(migrationsDir);
  // The job queue's schema (graphile_worker), versioned by graphile-worker itself, first: the
  // triggers of our migrations enqueue into it.
  await installJobQueue({ connectionString: url, logger: silentJobQueueLogger });
  return withClient(url, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const status = diagnose(folders, await readRecords(client));
      assertHealthy(status);
      const applied: string[] = [];
      for (const folder of folders.filter((f) => status.pending.includes(f.name))) {
        if (await applyMigration(client, folder)) applied.push(folder.name);
      }
      return { applied };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    }
  });
}

/** Compares the migrations folder with `_prisma_migrations`, without changing anything. */
export async function getMigrationStatus({
  url,
  migrationsDir = defaultMigrationsDir,
}: MigrationsOptions): Promise<MigrationStatus> {
  const folders = await readMigrationFolders(migrationsDir);
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ exists: boolean }>(
      `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS exists`,
    );
    return diagnose(folders, rows[0]?.exists ? await readRecords(client) : []);
  });
}

/**
 * `prisma migrate dev` without the native engine: applies pending migrations, diffs the schema
 * against them with the WASM schema engine, writes the new migration folder and applies it.
 * Returns the new folder name, or null when the schema has not changed.
 */
export async function createMigration({
  url,
  name,
  schemaPath = defaultSchemaPath,
  migrationsDir = defaultMigrationsDir,
}: CreateMigrationOptions): Promise<string | null> {
  const migrationName = slugify(name);
  await applyMigrations({ url, migrationsDir });
  const output = await withSchemaEngine({ url, schemaPath }, async (engine, schema) => {
    const migrationsList = await readMigrationList(migrationsDir);
    const filters = { externalTables: [], externalEnums: [] };
    const diagnostic = await engine.devDiagnostic({ migrationsList, filters });
    if (diagnostic.action.tag === 'reset') {
      throw new Error(
        `The database does not match the migration history; recreate it and retry. ${diagnostic.action.reason}`,
      );
    }
    return engine.createMigration({ draft: false, migrationName, migrationsList, schema, filters });
  });
  if (output.migrationScript === null) return null;

  const folder = path.join(migrationsDir, output.generatedMigrationName);
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, `migration.${output.extension}`), output.migrationScript);
  await writeFile(
    path.join(migrationsDir, 'migration_lock.toml'),
    '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\n' +
      `provider = "${output.connectorType}"\n`,
    { flag: 'wx' },
  ).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  });
  await applyMigrations({ url, migrationsDir });
  return output.generatedMigrationName;
}

/** As the Prisma CLI does: `Add priority!` becomes `add_priority`. */
function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 200);
  if (!slug) throw new Error(`Migration name ${JSON.stringify(name)} has no letters or digits`);
  return slug;
}

/** Returns false when another migrator applied it meanwhile. */
async function applyMigration(client: pg.Client, folder: MigrationFolder): Promise<boolean> {
  await client.query('BEGIN');
  try {
    // The advisory lock excludes other migrators on a real server, but PGlite serves every
    // connection from one session (locks are re-entrant there); its transactions are exclusive.
    const done = await client.query(
      `SELECT 1 FROM "_prisma_migrations"
        WHERE migration_name = $1 AND finished_at IS NOT NULL AND rolled_back_at IS NULL`,
      [folder.name],
    );
    if (done.rowCount) {
      await client.query('ROLLBACK');
      return false;
    }
    await client.query(folder.sql);
    // now() is the transaction start: Prisma's started_at; clock_timestamp() its finished_at.
    await client.query(
      `INSERT INTO "_prisma_migrations"
         (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
       VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, now(), 1)`,
      [randomUUID(), checksum(folder.sql), folder.name],
    );
    await client.query('COMMIT');
    return true;
  } catch (error) {
    await client.query('ROLLBACK');
    throw new Error(`Migration ${folder.name} failed and was rolled back: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

function diagnose(folders: MigrationFolder[], records: MigrationRecord[]): MigrationStatus {
  const applied = records.filter((r) => r.finished_at !== null && r.rolled_back_at === null);
  const appliedNames = new Set(applied.map((r) => r.migration_name));
  const failed = records
    .filter((r) => r.finished_at === null && r.rolled_back_at === null)
    .map((r) => r.migration_name);
  const modified = applied
    .filter((r) => {
      const folder = folders.find((f) => f.name === r.migration_name);
      return folder !== undefined && !matchesChecksum(folder.sql, r.checksum);
    })
    .map((r) => r.migration_name);
  const pending = folders
    .map((f) => f.name)
    .filter((n) => !appliedNames.has(n) && !failed.includes(n));
  return { applied: [...appliedNames], pending, failed, modified };
}

function assertHealthy({ failed, modified }: MigrationStatus): void {
  const problems = [
    ...failed.map(
      (n) =>
        `${n} failed earlier (finished_at is null): repair the database by hand, then mark it ` +
        `rolled back (set rolled_back_at) or applied (set finished_at) in _prisma_migrations`,
    ),
    ...modified.map((n) => `${n} was modified after it was applied (checksum mismatch)`),
  ];
  if (problems.length > 0) {
    throw new Error(
      `Refusing to apply migrations, nothing was applied:\n- ${problems.join('\n- ')}`,
    );
  }
}

async function readRecords(client: pg.Client): Promise<MigrationRecord[]> {
  const { rows } = await client.query<MigrationRecord>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at
       FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
  );
  return rows;
}

async function readMigrationFolders(migrationsDir: string): Promise<MigrationFolder[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(migrationsDir, name, 'migration.sql');
      const sql = await readFile(file, 'utf8').catch((error: unknown) => {
        throw new Error(`Migration folder ${name} has no readable migration.sql`, { cause: error });
      });
      return { name, sql };
    }),
  );
}

/** The folder in the shape the schema engine reads it. */
async function readMigrationList(migrationsDir: string) {
  const folders = await readMigrationFolders(migrationsDir);
  const lockfile = await readFile(path.join(migrationsDir, 'migration_lock.toml'), 'utf8').catch(
    () => null,
  );
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: lockfile },
    shadowDbInitScript: '',
    migrationDirectories: folders.map((f) => ({
      path: f.name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok' as const, value: f.sql } },
    })),
  };
}

function checksum(script: string): string {
  return createHash('sha256').update(script).digest('hex');
}

/** Prisma's tolerance: either line ending, and the unpadded hex of early engine versions. */
function matchesChecksum(script: string, recorded: string): boolean {
  const variants = [script, script.replaceAll('\r\n', '\n'), script.replaceAll('\n', '\r\n')];
  return variants.some((variant) => {
    const digest = createHash('sha256').update(variant).digest();
    return recorded.length === 64
      ? digest.toString('hex') === recorded
      : [...digest].map((byte) => byte.toString(16)).join('') === recorded;
  });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
