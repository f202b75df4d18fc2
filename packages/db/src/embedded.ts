import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
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
}

export interface SharedEmbeddedPostgres {
  url: string;
  /** False when another process serves the data directory; `stop` then does nothing. */
  owned: boolean;
  stop(): Promise<void>;
}

interface LockFile {
  pid: number;
  /** Null while the owner is still starting the database. */
  url: string | null;
}

/**
 * The development database: a data directory must never be opened by two processes, so the first
 * one serves it and records itself in `<dataDir>.lock.json`; later ones (`pnpm db:studio` next to
 * `pnpm dev`) connect to it.
 */
export async function ensureEmbeddedPostgres({
  dataDir,
  port,
  waitMs = 30_000,
}: EnsureEmbeddedPostgresOptions): Promise<SharedEmbeddedPostgres> {
  const lockPath = `${path.resolve(dataDir)}.lock.json`;
  await mkdir(path.dirname(lockPath), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    const current = await readLock(lockPath);
    const lock = current?.lock;
    if (lock && isAlive(lock.pid)) {
      if (lock.url && (await answers(lock.url))) {
        return { url: lock.url, owned: false, stop: async () => {} };
      }
      // Its owner may still be initialising the cluster (seconds on a first start).
      if (lock.pid !== process.pid) {
        if (Date.now() > deadline) {
          throw new Error(
            `${dataDir} is locked by process ${lock.pid} but its database does not answer; ` +
              `delete ${lockPath} if that process is not serving it`,
          );
        }
        await sleep(200);
        continue;
      }
    }
    if (current) await removeStaleLock(lockPath, current.raw);
    // Only one process can create the file: the loser joins the winner on the next round.
    if (await writeLock(lockPath, { pid: process.pid, url: null }, { exclusive: true })) {
      return serveLocked({ dataDir, port, lockPath });
    }
  }
}

async function serveLocked({
  dataDir,
  port,
  lockPath,
}: {
  dataDir: string;
  port: number;
  lockPath: string;
}): Promise<SharedEmbeddedPostgres> {
  // A crash or Ctrl-C leaves the lock behind; the dead pid marks it stale for the next process.
  const removeLock = () => {
    rmSync(lockPath, { force: true });
  };
  process.once('exit', removeLock);
  try {
    const embedded = await startEmbeddedPostgres({ dataDir, port });
    await writeLock(lockPath, { pid: process.pid, url: embedded.url }, { exclusive: false });
    return {
      url: embedded.url,
      owned: true,
      async stop() {
        await embedded.stop();
        process.off('exit', removeLock);
        removeLock();
      },
    };
  } catch (error) {
    process.off('exit', removeLock);
    removeLock();
    throw error;
  }
}

/** Lock files are written whole (temp file, then link or rename), so readers never see half. */
async function writeLock(
  lockPath: string,
  lock: LockFile,
  { exclusive }: { exclusive: boolean },
): Promise<boolean> {
  const tmp = `${lockPath}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(lock));
  try {
    if (!exclusive) {
      await rename(tmp, lockPath);
      return true;
    }
    await link(tmp, lockPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Null when absent; `lock` is null when unreadable (stale: lock files are written whole). */
async function readLock(lockPath: string): Promise<{ raw: string; lock: LockFile | null } | null> {
  const raw = await readFile(lockPath, 'utf8').catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  });
  if (raw === null) return null;
  try {
    return { raw, lock: JSON.parse(raw) as LockFile };
  } catch {
    return { raw, lock: null };
  }
}

/** Moves the lock aside first, so a fresh lock another process wrote meanwhile can be restored. */
async function removeStaleLock(lockPath: string, staleContent: string): Promise<void> {
  const aside = `${lockPath}.${process.pid}.stale`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((await readFile(aside, 'utf8')) !== staleContent) {
    await link(aside, lockPath).catch(() => {});
  }
  await rm(aside, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
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
