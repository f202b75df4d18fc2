import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../embedded.js';
import { withClient } from '../with-client.js';
import { applyMigrations } from '../migrations.js';
import type {} from './context.js';

/**
 * Vitest global setup, shared by every package's project: prepares one migrated database to copy
 * per test file. On DATABASE_URL's server that is a template database; otherwise a PGlite dump.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const adminUrl = process.env.DATABASE_URL;
  return adminUrl ? setupServer(project, adminUrl) : setupEmbedded(project);
}

async function setupServer(project: TestProject, adminUrl: string): Promise<() => Promise<void>> {
  const runId = randomBytes(4).toString('hex');
  const template = `tasks_test_tpl_${runId}`;
  const prefix = `tasks_test_${runId}_`;
  const teardown = () =>
    withClient(adminUrl, async (client) => {
      const { rows } = await client.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $2)`,
        [template, prefix],
      );
      for (const { datname } of rows) {
        await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      }
    });

  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE "${template}"`));
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${template}`;
  try {
    await applyMigrations({ url: templateUrl.toString() });
  } catch (error) {
    await teardown();
    throw error;
  }
  project.provide('testDatabase', { kind: 'server', adminUrl, template, prefix });
  return teardown;
}

async function setupEmbedded(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tasks-test-db-'));
  const emptyDumpPath = path.join(dir, 'empty.tar');
  const dumpPath = path.join(dir, 'migrated.tar');
  const embedded = await startEmbeddedPostgres();
  try {
    await writeDump(embedded.pglite, emptyDumpPath);
    await applyMigrations({ url: embedded.url });
    await writeDump(embedded.pglite, dumpPath);
  } finally {
    await embedded.stop();
  }
  project.provide('testDatabase', { kind: 'embedded', dumpPath, emptyDumpPath });
  return () => rm(dir, { recursive: true, force: true });
}

async function writeDump(pglite: PGlite, file: string): Promise<void> {
  // Uncompressed: loading it is what every test file waits for.
  const dump = await pglite.dumpDataDir('none');
  await writeFile(file, new Uint8Array(await dump.arrayBuffer()));
}
