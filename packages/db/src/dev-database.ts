import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureEmbeddedPostgres } from './embedded.js';

export const defaultDevDataDir = fileURLToPath(new URL('../../../.data/pglite', import.meta.url));
export const defaultDevPort = 54329;

export interface DevDatabase {
  url: string;
  /** `env`: DATABASE_URL; `embedded`: the PGlite dev database, served by this or another process. */
  source: 'env' | 'embedded';
  /**
   * The server is PGlite, whoever serves it (this process, `pnpm dev`, or a DATABASE_URL that
   * points at one): its clients must follow `embeddedClientOptions`.
   */
  servedByPglite: boolean;
  /** Stops the embedded database if this process serves it; otherwise does nothing. */
  stop(): Promise<void>;
}

export interface DevDatabaseOptions {
  /** A PostgreSQL URL (DATABASE_URL); absent, the embedded development database. */
  url?: string | undefined;
  /** Where the embedded database keeps its data; default `<repo>/.data/pglite`. */
  dataDir?: string | undefined;
  /** Where the embedded database listens; default 54329. */
  port?: number | undefined;
}

/**
 * The database of `pnpm dev`, `pnpm db:migrate`, `pnpm db:seed` and `pnpm db:studio`: `url` when
 * given, otherwise the embedded development database, shared by whichever of these processes
 * runs at the same time.
 */
export async function resolveDevDatabase({
  url,
  dataDir = defaultDevDataDir,
  port = defaultDevPort,
}: DevDatabaseOptions): Promise<DevDatabase> {
  if (url) return { url, source: 'env', servedByPglite: await isPglite(url), stop: async () => {} };
  const embedded = await ensureEmbeddedPostgres({ dataDir, port });
  return {
    url: embedded.url,
    source: 'embedded',
    servedByPglite: true,
    stop: () => embedded.stop(),
  };
}

/**
 * Asks the server what it is. One that does not answer now is taken for a real PostgreSQL: the
 * process starts anyway and reports itself unready until the database answers.
 */
async function isPglite(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    return await servesPglite(client);
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Whether the server behind a client or pool is PGlite: it says so in its version string. */
export async function servesPglite(queryable: Pick<pg.Pool, 'query'>): Promise<boolean> {
  const { rows } = await queryable.query<{ version: string }>('SELECT version()');
  return rows[0]?.version.includes('PGlite') ?? false;
}
