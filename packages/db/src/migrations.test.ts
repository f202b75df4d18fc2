import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, defaultMigrationsDir, getMigrationStatus } from './migrations.js';
import { createTestDatabase, type TestDatabase } from './testing/index.js';
import { withClient } from './with-client.js';

const INIT = '20261124011915_init';
/** Every migration of the project, in the order they apply. */
const ALL = (await readdir(defaultMigrationsDir, { withFileTypes: true }))
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

let tmp: string;
const databases: TestDatabase[] = [];

async function emptyDatabase(): Promise<string> {
  const database = await createTestDatabase({ migrated: false });
  databases.push(database);
  return database.url;
}

/** A copy of the real migrations plus extra folders, in a temp dir. */
async function migrationsWith(extra: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmp, 'migrations-'));
  await cp(defaultMigrationsDir, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

const tableExists = (url: string, table: string) =>
  withClient(url, async (client) => {
    const { rows } = await client.query<{ exists: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS exists',
      [`"${table}"`],
    );
    return rows[0]?.exists;
  });

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'tasks-migrations-test-'));
});

afterAll(async () => {
  await Promise.all(databases.map((d) => d.drop()));
  await rm(tmp, { recursive: true, force: true });
});

describe('applyMigrations on an empty database', () => {
  let url: string;
  beforeAll(async () => {
    url = await emptyDatabase();
  });

  it('reports everything pending before, nothing after', async () => {
    expect(await getMigrationStatus({ url })).toEqual({
      applied: [],
      pending: ALL,
      failed: [],
      modified: [],
    });
    expect(await applyMigrations({ url })).toEqual({ applied: ALL });
    expect(await applyMigrations({ url })).toEqual({ applied: [] });
    expect(await getMigrationStatus({ url })).toEqual({
      applied: ALL,
      pending: [],
      failed: [],
      modified: [],
    });
    expect(await tableExists(url, 'Task')).toBe(true);
  });

  it('records the migration as Prisma does', async () => {
    const sql = await readFile(path.join(defaultMigrationsDir, INIT, 'migration.sql'));
    const { rows } = await withClient(url, (client) =>
      client.query<MigrationRow>('SELECT * FROM "_prisma_migrations" ORDER BY migration_name'),
    );
    expect(rows).toHaveLength(ALL.length);
    const [row] = rows;
    assert(row);
    expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(row).toMatchObject({
      checksum: createHash('sha256').update(sql).digest('hex'),
      migration_name: INIT,
      logs: null,
      rolled_back_at: null,
      applied_steps_count: 1,
    });
    expect(row.finished_at.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
  });

  it('creates _prisma_migrations with the columns of Prisma', async () => {
    const { rows } = await withClient(url, (client) =>
      client.query<Record<string, string | null>>(
        `SELECT column_name, data_type, character_maximum_length::int AS length, is_nullable,
                column_default
           FROM information_schema.columns
          WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
      ),
    );
    const column = (name: string, type: string, length: number | null, nullable: string) => ({
      column_name: name,
      data_type: type,
      length,
      is_nullable: nullable,
      column_default: null,
    });
    expect(rows).toEqual([
      column('id', 'character varying', 36, 'NO'),
      column('checksum', 'character varying', 64, 'NO'),
      column('finished_at', 'timestamp with time zone', null, 'YES'),
      column('migration_name', 'character varying', 255, 'NO'),
      column('logs', 'text', null, 'YES'),
      column('rolled_back_at', 'timestamp with time zone', null, 'YES'),
      { ...column('started_at', 'timestamp with time zone', null, 'NO'), column_default: 'now()' },
      { ...column('applied_steps_count', 'integer', null, 'NO'), column_default: '0' },
    ]);
  });

  it('refuses a migration whose file changed since it was applied', async () => {
    const migrationsDir = await migrationsWith({
      '20990101000000_next': 'CREATE TABLE "Next" ();',
    });
    const initSql = path.join(migrationsDir, INIT, 'migration.sql');
    await writeFile(initSql, `${await readFile(initSql, 'utf8')}\n-- edited\n`);

    await expect(applyMigrations({ url, migrationsDir })).rejects.toThrow(
      new RegExp(`${INIT} was modified`),
    );
    expect(await tableExists(url, 'Next')).toBe(false);
    expect(await getMigrationStatus({ url, migrationsDir })).toMatchObject({
      modified: [INIT],
      pending: ['20990101000000_next'],
    });
  });

  it('accepts the same file with Windows line endings, as Prisma does', async () => {
    const migrationsDir = await migrationsWith({});
    const initSql = path.join(migrationsDir, INIT, 'migration.sql');
    await writeFile(initSql, (await readFile(initSql, 'utf8')).replaceAll('\n', '\r\n'));
    expect(await getMigrationStatus({ url, migrationsDir })).toMatchObject({ modified: [] });
  });

  it('rolls a failing migration back entirely and names it', async () => {
    const migrationsDir = await migrationsWith({
      '20990101000000_broken': 'CREATE TABLE "Broken" (id int);\nSELECT 1 / 0;',
    });
    await expect(applyMigrations({ url, migrationsDir })).rejects.toThrow(
      /20990101000000_broken failed and was rolled back: division by zero/,
    );
    expect(await tableExists(url, 'Broken')).toBe(false);
    expect(await getMigrationStatus({ url, migrationsDir })).toEqual({
      applied: ALL,
      pending: ['20990101000000_broken'],
      failed: [],
      modified: [],
    });
  });

  it('refuses to go on after a recorded failure', async () => {
    const migrationsDir = await migrationsWith({
      '20990101000000_next': 'CREATE TABLE "Next" ();',
    });
    const failed = '20980101000000_failed';
    await withClient(url, (client) =>
      client.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES ($1, '', $2)`,
        ['00000000-0000-0000-0000-000000000000', failed],
      ),
    );
    try {
      await expect(applyMigrations({ url, migrationsDir })).rejects.toThrow(
        new RegExp(`${failed} failed earlier`),
      );
      expect(await tableExists(url, 'Next')).toBe(false);
      expect(await getMigrationStatus({ url, migrationsDir })).toMatchObject({ failed: [failed] });
    } finally {
      await withClient(url, (client) =>
        client.query('DELETE FROM "_prisma_migrations" WHERE migration_name = $1', [failed]),
      );
    }
  });
});

it('lets concurrent migrators apply each migration once', async () => {
  const url = await emptyDatabase();
  const results = await Promise.all([applyMigrations({ url }), applyMigrations({ url })]);
  expect(results.flatMap((r) => r.applied).sort()).toEqual(ALL);
  expect(await getMigrationStatus({ url })).toMatchObject({ applied: ALL, pending: [] });
});
