import { fileURLToPath } from 'node:url';
import { ensureEmbeddedPostgres } from './embedded.js';

export const defaultDevDataDir = fileURLToPath(new URL('../../../.data/pglite', import.meta.url));
export const defaultDevPort = 54329;

export interface DevDatabase {
  url: string;
  /** `env`: DATABASE_URL; `embedded`: the PGlite dev database, served by this or another process. */
  source: 'env' | 'embedded';
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
  if (url) return { url, source: 'env', stop: async () => {} };
  const embedded = await ensureEmbeddedPostgres({ dataDir, port });
  return { url: embedded.url, source: 'embedded', stop: () => embedded.stop() };
}
