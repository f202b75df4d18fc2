import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';
import { embeddedClientOptions, startEmbeddedPostgres } from '../embedded.js';
import { withClient } from '../with-client.js';
import type {} from './context.js';

export type { TestDatabaseSource } from './context.js';

export interface TestDatabase {
  url: string;
  /** Connections a client should pool: PGlite serves one session, see `embeddedClientOptions`. */
  poolSize: number;
  /** Whether a client may prepare named statements: not on PGlite (`embeddedClientOptions`). */
  preparedStatements: boolean;
  /** The same settings as the server's environment, for a server or CLI started on this database. */
  serverEnv: { DATABASE_URL: string; DB_POOL_SIZE: string; DB_PREPARED_STATEMENTS: string };
  drop(): Promise<void>;
}

/** On a database server: a few connections each, with named statements. */
const serverClientOptions = { poolSize: 4, preparedStatements: true };

function testDatabase(
  url: string,
  { poolSize, preparedStatements }: { poolSize: number; preparedStatements: boolean },
  drop: () => Promise<void>,
): TestDatabase {
  return {
    url,
    poolSize,
    preparedStatements,
    serverEnv: {
      DATABASE_URL: url,
      DB_POOL_SIZE: String(poolSize),
      DB_PREPARED_STATEMENTS: String(preparedStatements),
    },
    drop,
  };
}

export interface CreateTestDatabaseOptions {
  /** False gives an empty database, without even `_prisma_migrations`. Default true. */
  migrated?: boolean;
}

/**
 * A fresh database of its own for a test file (call it in `beforeAll`, `drop` in `afterAll`):
 * migrated and empty, copied from what `packages/db/src/testing/global-setup.ts` (the project's
 * vitest `globalSetup`) prepared, on DATABASE_URL's server or in an embedded PGlite.
 */
export async function createTestDatabase({
  migrated = true,
}: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const source = inject('testDatabase');
  if (source.kind === 'embedded') {
    const dump = await readFile(migrated ? source.dumpPath : source.emptyDumpPath);
    const embedded = await startEmbeddedPostgres({ loadDataDir: new Blob([dump]) });
    return testDatabase(embedded.url, embeddedClientOptions, () => embedded.stop());
  }

  const name = `${source.prefix}${randomBytes(6).toString('hex')}`;
  const url = new URL(source.adminUrl);
  url.pathname = `/${name}`;
  await withClient(source.adminUrl, async (client) => {
    const template = migrated ? source.template : 'template0';
    // Copying refuses while another copy of the same template is being made: retry briefly.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
        return;
      } catch (error) {
        const inUse = (error as { code?: string }).code === '55006';
        if (!inUse || attempt === 100) throw error;
        await sleep(50);
      }
    }
  });
  return testDatabase(url.toString(), serverClientOptions, () =>
    withClient(source.adminUrl, (client) =>
      client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    ).then(() => {}),
  );
}
export { chromiumMissing, describeWhere } from './skips.js';
