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

/**
 * The database of `pnpm dev`, `pnpm db:migrate` and `pnpm db:studio`: DATABASE_URL when set,
 * otherwise the embedded dev database in `<repo>/.data/pglite` (port EMBEDDED_DB_PORT or 54329),
 * shared by whichever of these processes runs at the same time.
 */
export async function resolveDevDatabase(
  env: Readonly<Record<string, string | undefined>>,
  { dataDir = defaultDevDataDir }: { dataDir?: string } = {},
): Promise<DevDatabase> {
  if (env.DATABASE_URL) {
    return { url: env.DATABASE_URL, source: 'env', stop: async () => {} };
  }
  const port = env.EMBEDDED_DB_PORT ? Number(env.EMBEDDED_DB_PORT) : defaultDevPort;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`EMBEDDED_DB_PORT must be a port number, got ${env.EMBEDDED_DB_PORT}`);
  }
  const embedded = await ensureEmbeddedPostgres({ dataDir, port });
  return { url: embedded.url, source: 'embedded', stop: () => embedded.stop() };
}
