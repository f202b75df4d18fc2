/**
 * What the benchmarks share: the production bundle, a fresh database on DATABASE_URL's server
 * (or an embedded PGlite), seeded users, server processes measured through /proc, logins and
 * the report file.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnServer } from '../apps/server/test/spawn-server.js';
import { createPasswordHasher } from '../packages/api/src/security/passwords.js';
import { embeddedClientOptions, startEmbeddedPostgres } from '../packages/db/src/index.js';
import { withClient } from '../packages/db/src/with-client.js';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = path.join(repoRoot, 'bench', 'results');
const env = process.env;

/** Every seeded user's password. */
export const password = 'correct horse battery';

/** `pnpm build`: the bundle the API runs from in production (apps/server/dist). */
export function buildProduction(): void {
  execFileSync('pnpm', ['build'], { cwd: repoRoot, stdio: 'inherit' });
}

/** Writes `report` to bench/results/<file>. */
export async function writeResult(file: string, report: string): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, file), `${report}\n`);
}

/** Where a benchmark writes its own files (profiles), under bench/results/. */
export const resultsPath = (...parts: string[]) => path.join(resultsDir, ...parts);

// ---------------------------------------------------------------------------------------------
// Database

export interface BenchDatabase {
  /** How the report names it. */
  description: string;
  url: string;
  poolSize: number;
  /** Whether the API may prepare named statements (not on PGlite's shared session). */
  preparedStatements: boolean;
  /** Whether it is a PostgreSQL server (LISTEN/NOTIFY, many connections), not PGlite. */
  server: boolean;
  drop(): Promise<void>;
}

/** A new, empty database on DATABASE_URL's server; without DATABASE_URL, an embedded PGlite. */
export async function createDatabase(): Promise<BenchDatabase> {
  if (!env.DATABASE_URL) {
    const embedded = await startEmbeddedPostgres();
    return {
      description: 'embedded PGlite (no DATABASE_URL)',
      url: embedded.url,
      ...embeddedClientOptions,
      server: false,
      drop: () => embedded.stop(),
    };
  }
  const adminUrl = env.DATABASE_URL;
  const name = `tasks_bench_${randomBytes(4).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    description: `PostgreSQL at ${url.host}`,
    url: url.toString(),
    poolSize: 10,
    preparedStatements: true,
    server: true,
    drop: () =>
      withClient(adminUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
      ).then(() => undefined),
  };
}

/** The server's settings for `database`. */
export const databaseEnv = (database: BenchDatabase) => ({
  DATABASE_URL: database.url,
  DB_POOL_SIZE: String(database.poolSize),
  DB_PREPARED_STATEMENTS: String(database.preparedStatements),
});

export interface SeededUser {
  email: string;
  /** Up to 1 000 of its task ids, in random order. */
  taskIds: string[];
}

/** A user owning `count` tasks, one second apart, statuses in turn. */
export async function seedUser(url: string, email: string, count: number): Promise<SeededUser> {
  // Hashed exactly as registration hashes it (cost 10), so every server accepts the same login.
  const passwordHash = await createPasswordHasher(10, { concurrency: 1, maxQueued: 0 }).hash(
    password,
  );
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO "User" (id, email, "passwordHash", "updatedAt")
       VALUES (gen_random_uuid(), $1, $2, now()) RETURNING id`,
      [email, passwordHash],
    );
    const userId = rows[0]?.id;
    if (!userId) throw new Error('seeding the user returned no row');
    await client.query(
      `INSERT INTO "Task" (id, "ownerId", title, description, status, "createdAt", "updatedAt")
       SELECT gen_random_uuid(), $1, 'Task ' || i, CASE WHEN i % 2 = 0 THEN 'Details of ' || i END,
              (ARRAY['open', 'in_progress', 'done']::"TaskStatus"[])[1 + i % 3],
              now() - make_interval(secs => i), now() - make_interval(secs => i)
       FROM generate_series(1, $2::int) AS i`,
      [userId, count],
    );
    await client.query('ANALYZE "Task"');
    const ids = await client.query<{ id: string }>(
      'SELECT id FROM "Task" WHERE "ownerId" = $1 ORDER BY random() LIMIT 1000',
      [userId],
    );
    return { email, taskIds: ids.rows.map((row) => row.id) };
  });
}

// ---------------------------------------------------------------------------------------------
// Servers

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const clockTicksPerSecond = 100;

export interface Server {
  name: string;
  baseUrl: string;
  /** CPU time (user + system) the process used so far, in microseconds. */
  cpuMicros(): Promise<number>;
  /** Resident set size now (VmRSS), in MiB. */
  rssMiB(): Promise<number>;
  /** Peak resident set size so far (VmHWM), in MiB. */
  peakRssMiB(): Promise<number>;
  stop(): Promise<void>;
}

/** A server process on a free port, ready; its output is printed when it stops. */
export async function startServer(
  name: string,
  options: { cwd: string; args: string[]; env: Record<string, string>; readyPath: string },
): Promise<Server> {
  const { env: serverEnv, ...spawnOptions } = options;
  const server = await spawnServer(serverEnv, spawnOptions);
  const procFile = (file: string) =>
    readFile(`/proc/${String(server.pid)}/${file}`, 'utf8').catch(() => '');
  const statusMiB = async (field: string) => {
    const kib = new RegExp(`${field}:\\s+(\\d+) kB`).exec(await procFile('status'))?.[1];
    return kib ? Number(kib) / 1024 : NaN;
  };
  return {
    name,
    baseUrl: server.baseUrl,
    async cpuMicros() {
      // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
      const fields = (await procFile('stat')).split(') ')[1]?.split(' ') ?? [];
      const ticks = Number(fields[11]) + Number(fields[12]);
      return (ticks / clockTicksPerSecond) * 1e6;
    },
    rssMiB: () => statusMiB('VmRSS'),
    peakRssMiB: () => statusMiB('VmHWM'),
    async stop() {
      await server.stop();
      const output = server.output().trim();
      if (output) console.error(`--- ${name} output ---\n${output}`);
    },
  };
}

/** The API as production runs it: the bundle (see `buildProduction`), NODE_ENV=production. */
export function startApi(
  name: string,
  serverEnv: Record<string, string>,
  nodeFlags: string[] = [],
): Promise<Server> {
  return startServer(name, {
    cwd: path.join(repoRoot, 'apps', 'server'),
    args: ['--enable-source-maps', ...nodeFlags, 'dist/server.js'],
    readyPath: '/ready',
    env: { ...serverEnv, NODE_ENV: 'production' },
  });
}

/** An access token of `email` (seeded with `password`). */
export async function login(server: Server, email: string): Promise<string> {
  const response = await fetch(`${server.baseUrl}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await response.json()) as { accessToken?: string };
  if (response.status !== 200 || !body.accessToken) {
    throw new Error(`${server.name}: login of ${email} answered ${response.status}`);
  }
  return body.accessToken;
}
