import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import lockfile from 'proper-lockfile';
import type { DatabaseClientOptions } from './client.js';

/**
 * How a client must use the embedded server, whose connections are all multiplexed onto PGlite's
 * one session. One connection: concurrent transactions on several would interleave there (a
 * failed statement in one aborts the other's); one connection queues them. No named statements:
 * a name prepared through one connection already exists for the next (a reconnect, or another
 * process such as the seed CLI).
 */
export const embeddedClientOptions = {
  poolSize: 1,
  preparedStatements: false,
} as const satisfies Pick<DatabaseClientOptions, 'poolSize' | 'preparedStatements'>;

export interface StartEmbeddedPostgresOptions {
  /** Directory of the PGlite data; undefined keeps the database in memory. */
  dataDir?: string;
  /** TCP port to serve on; 0 picks a free one. */
  port?: number;
  host?: string;
  /** A `pglite.dumpDataDir()` tarball to start from instead of an empty cluster. */
  loadDataDir?: Blob;
  /** Connections served at once (all share PGlite's single session, queries are queued). */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  /** Connection string for pg, @prisma/adapter-pg, psql and Prisma Studio. */
  url: string;
  port: number;
  pglite: PGlite;
  stop(): Promise<void>;
}

/**
 * PostgreSQL 18 in WebAssembly (PGlite), served over the wire protocol so that everything that
 * speaks PostgreSQL can use it. One database only, and every connection shares one session.
 */
export async function startEmbeddedPostgres({
  dataDir,
  port = 0,
  host = '127.0.0.1',
  loadDataDir,
  maxConnections = 20,
}: StartEmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  // pg_trgm backs the index of the tasks text search, as on a real server.
  const pglite = await PGlite.create({ dataDir, loadDataDir, extensions: { pg_trgm } });
  const server = new PGLiteSocketServer({ db: pglite, port, host, maxConnections });
  try {
    await server.start();
  } catch (error) {
    await pglite.close();
    throw new Error(`Cannot serve embedded PostgreSQL on ${host}:${port}`, { cause: error });
  }
  const conn = server.getServerConn();
  const actualPort = Number(conn.slice(conn.lastIndexOf(':') + 1));
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let stopped: Promise<void> | undefined;
  return {
    // PGlite answers the SSL request with "no": say so up front.
    url: `postgresql://postgres@${urlHost}:${actualPort}/postgres?sslmode=disable`,
    port: actualPort,
    pglite,
    stop() {
      stopped ??= server.stop().then(() => pglite.close());
      return stopped;
    },
  };
}

export interface EnsureEmbeddedPostgresOptions {
  dataDir: string;
  /** Port to serve on when this process starts the database; 0 picks a free one. */
  port: number;
  /** How long to wait for another process that is still starting the database. */
  waitMs?: number;
  /** After how long without a refresh a lock counts as abandoned (its owner was killed). */
  staleMs?: number;
}

export interface SharedEmbeddedPostgres {
  url: string;
  /** False when another process serves the data directory; `stop` then does nothing. */
  owned: boolean;
  stop(): Promise<void>;
}

/** Where the owner says how to reach it, written once its database answers. */
interface ServerInfo {
  pid: number;
  url: string;
}

/**
 * The development database: a data directory must never be opened by two processes, so the first
 * one to take `<dataDir>.lock` (proper-lockfile: an atomic mkdir whose mtime the owner keeps
 * fresh, so a lock left by a killed process goes stale) serves it and writes its address to
 * `<dataDir>.server.json`; later ones (`pnpm db:studio` next to `pnpm dev`) connect to it.
 */
export async function ensureEmbeddedPostgres({
  dataDir,
  port,
  waitMs = 30_000,
  staleMs = 10_000,
}: EnsureEmbeddedPostgresOptions): Promise<SharedEmbeddedPostgres> {
  const paths = {
    dataDir: path.resolve(dataDir),
    lock: `${path.resolve(dataDir)}.lock`,
    info: `${path.resolve(dataDir)}.server.json`,
  };
  await mkdir(path.dirname(paths.dataDir), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    const release = await lockfile
      .lock(paths.dataDir, {
        lockfilePath: paths.lock,
        stale: staleMs,
        realpath: false,
        // A refresh comes late when the event loop was blocked (PGlite's first start can be):
        // warn rather than crash the development server.
        onCompromised: (error) => {
          process.emitWarning(error);
        },
      })
      .catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ELOCKED') return null;
        throw error;
      });
    if (release) return serveLocked(paths, port, release);
    const info = await readServerInfo(paths.info);
    if (info && (await answers(info.url))) {
      return { url: info.url, owned: false, stop: async () => {} };
    }
    // Its owner may still be initialising the cluster (seconds on a first start).
    if (Date.now() > deadline) {
      throw new Error(
        `${dataDir} is locked by another process but its database does not answer; ` +
          `stop that process (its pid is in ${paths.info} once it serves) or wait ` +
          `${staleMs / 1000} s after it died`,
      );
    }
    await sleep(200);
  }
}

async function serveLocked(
  paths: { dataDir: string; info: string },
  port: number,
  release: () => Promise<void>,
): Promise<SharedEmbeddedPostgres> {
  // proper-lockfile removes its lock when the process exits; the address goes with it.
  const removeInfo = () => {
    rmSync(paths.info, { force: true });
  };
  removeInfo();
  process.once('exit', removeInfo);
  const unlock = async () => {
    process.off('exit', removeInfo);
    removeInfo();
    await release();
  };
  try {
    const embedded = await startEmbeddedPostgres({ dataDir: paths.dataDir, port });
    const info: ServerInfo = { pid: process.pid, url: embedded.url };
    // Written whole (temp file, then rename), so a reader never sees half of it.
    const tmp = `${paths.info}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(info));
    await rename(tmp, paths.info);
    return {
      url: embedded.url,
      owned: true,
      async stop() {
        await embedded.stop();
        await unlock();
      },
    };
  } catch (error) {
    await unlock();
    throw error;
  }
}

async function readServerInfo(infoPath: string): Promise<ServerInfo | null> {
  try {
    return JSON.parse(await readFile(infoPath, 'utf8')) as ServerInfo;
  } catch {
    return null;
  }
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
