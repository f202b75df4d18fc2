import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, assert, beforeAll, expect, it } from 'vitest';
import {
  createMigration,
  defaultMigrationsDir,
  defaultSchemaPath,
  getMigrationStatus,
} from './migrations.js';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

let tmp: string;
let database: TestDatabase;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'tasks-create-migration-test-'));
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
  await rm(tmp, { recursive: true, force: true });
});

it('writes and applies a migration for a changed schema, and nothing when unchanged', async () => {
  const migrationsDir = path.join(tmp, 'migrations');
  const schemaPath = path.join(tmp, 'schema.prisma');
  await cp(defaultMigrationsDir, migrationsDir, { recursive: true });
  const schema = await readFile(defaultSchemaPath, 'utf8');
  const withPriority = schema.replace(
    /^(\s+)title(\s+)String(\s+)@db\.VarChar\(200\)$/m,
    '$&\n$1priority$2Int$3@default(0)',
  );
  expect(withPriority).not.toBe(schema);
  await writeFile(schemaPath, withPriority);
  const options = { url: database.url, schemaPath, migrationsDir };

  const existing = (await getMigrationStatus(options)).applied;
  const created = await createMigration({ ...options, name: 'Add priority' });
  assert(created !== null);
  expect(created).toMatch(/^\d{14}_add_priority$/);
  const sql = await readFile(path.join(migrationsDir, created, 'migration.sql'), 'utf8');
  expect(sql).toContain('ALTER TABLE "Task" ADD COLUMN');
  expect(sql).toContain('"priority" INTEGER NOT NULL DEFAULT 0');
  expect(await getMigrationStatus(options)).toMatchObject({
    applied: [...existing, created],
    pending: [],
  });

  expect(await createMigration({ ...options, name: 'nothing' })).toBeNull();
});
