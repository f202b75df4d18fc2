/**
 * `pnpm bench:queues`: the two PostgreSQL job queues that run on Node 20, graphile-worker 0.17.3
 * and pg-boss 10.4.2, measured on this machine to choose one. Each runs in three configurations,
 * every one on a database of its own:
 *
 *  - `pg`: a scratch database `bench_queues_<hex>` on DATABASE_URL's server (default
 *    postgresql://postgres@127.0.0.1:5432/postgres), dropped at the end. Library defaults: its own
 *    pool of 10 on the URL (graphile-worker LISTENs for new jobs; pg-boss polls).
 *  - `pglite`: the embedded PGlite served over the wire (`startEmbeddedPostgres`, in memory, in
 *    this process), configured exactly as on the server: the library's own pool of 10, the
 *    writers' pool of 1 (embeddedClientOptions).
 *  - `pglite-safe`: the configuration meant for PGlite's single shared session, everything on ONE
 *    pool: pg-boss with `db: { executeSql }` on a pg.Pool of max 1; graphile-worker on a `pgPool` of
 *    max 2 (one held for its LISTEN, which never hears a NOTIFY there, so it polls every
 *    GRAPHILE_SAFE_POLL_MS) without prepared statements.
 *
 * Measured in each:
 *  1. Correctness: 300 jobs enqueued by 4 concurrent writers (a row and a job per transaction)
 *     while the worker runs and a prober on the writers' pool checks the results of its own
 *     queries (a SELECT of random parameters, a transaction inserting and counting a random value);
 *     each handler also checks a query of its own on that pool. Correct = every job ran exactly
 *     once, none left unfinished, every query answered right, no error from the library or pool.
 *  2. Enqueue inside the writer's transaction (BEGIN; INSERT; enqueue; COMMIT, graphile-worker via
 *     `graphile_worker.add_job()` on the same client, pg-boss via `send(..., { db })` on it):
 *     transactions per second for 1 and 8 concurrent writers, and a ROLLBACK leaving 0 jobs.
 *  3. Commit to start: 50 single jobs 50 ms apart, from COMMIT returning to the handler starting
 *     (pg-boss fetches one batch per poll, so its batches hold what arrives between two polls).
 *  4. Throughput: 2 000 no-op jobs queued up front, concurrency 4, from the first handler start to
 *     the last end (stopped after THROUGHPUT_CAP_MS).
 *  5. Crash recovery (`pg` and `pglite-safe`): a child process (this file, `crash-child`) takes a
 *     job whose handler hangs; it is killed with SIGKILL, then a new worker here runs with the
 *     shortest recovery settings: the time from the kill to the job starting again.
 *
 * Numbers, not assertions; the queue, PostgreSQL (or PGlite) and this process share the cores, so
 * compare configurations of one run. About 2.5 minutes on two cores. Prints a markdown report.
 *
 * Env: DATABASE_URL (server to create the scratch databases on), BENCH_ONLY (comma-separated
 * configurations: pg,pglite,pglite-safe), BENCH_CRASH (configurations with the crash test,
 * pg,pglite-safe).
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createRequire } from 'node:module';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../packages/db/src/embedded.js';
import { withClient } from '../packages/db/src/with-client.js';

/** graphile-worker's `preset.worker` options used here. */
interface GraphileWorkerPreset {
  concurrentJobs?: number;
  pollInterval?: number;
  preparedStatements?: boolean;
}

interface GraphileOptions {
  connectionString?: string;
  pgPool?: pg.Pool;
  logger: object;
  events?: EventEmitter;
  noHandleSignals?: boolean;
  taskList?: Record<string, (payload: unknown) => Promise<void>>;
  preset: { worker: GraphileWorkerPreset };
}

/**
 * The part of graphile-worker 0.17.3's API used here. It is a dependency of packages/db (and
 * apps/server), not of the root, so neither the module nor its types resolve from bench/: the
 * module is loaded from packages/db, typed by this subset of its declarations.
 */
interface GraphileWorkerModule {
  Logger: new (factory: () => (level: string, text: string) => void) => object;
  runMigrations(options: GraphileOptions): Promise<void>;
  makeWorkerUtils(options: GraphileOptions): Promise<{
    forceUnlockWorkers(workerIds: string[]): Promise<void>;
    release(): Promise<void>;
  }>;
  run(options: GraphileOptions): Promise<{ stop(): Promise<void> }>;
}

const graphile = createRequire(new URL('../packages/db/package.json', import.meta.url))(
  'graphile-worker',
) as GraphileWorkerModule;

const env = process.env;
const scriptPath = fileURLToPath(import.meta.url);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const serverUrl = env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

const kinds = ['pg', 'pglite', 'pglite-safe'] as const;
type Kind = (typeof kinds)[number];
const libraries = ['graphile-worker', 'pg-boss'] as const;
type Library = (typeof libraries)[number];

const selectedKinds = selectKinds(env.BENCH_ONLY, kinds);
const crashKinds = selectKinds(env.BENCH_CRASH, ['pg', 'pglite-safe']);

/** graphile-worker's poll on PGlite, where LISTEN hears nothing: the latency floor there. */
const GRAPHILE_SAFE_POLL_MS = 100;
/** pg-boss's smallest polling interval (POLICY.MIN_POLLING_INTERVAL_MS in 10.x). */
const PG_BOSS_POLL_SECONDS = 0.5;
/** The crash test's unlocking of graphile-worker jobs: locked longer than this... */
const GRAPHILE_UNLOCK_AFTER_SECONDS = 2;
/** ...looked for this often. */
const GRAPHILE_REAP_EVERY_MS = 500;
/** pg-boss's shortest settings (1 is the minimum of both; expireIn also caps a handler's run). */
const PG_BOSS_EXPIRE_SECONDS = 1;
const PG_BOSS_MAINTENANCE_SECONDS = 1;

const CORRECTNESS_JOBS = 300;
const CORRECTNESS_WRITERS = 4;
const ENQUEUE_ROUNDS = 6;
const ENQUEUE_PHASE_MS = 200;
const LATENCY_JOBS = 50;
const LATENCY_SPACING_MS = 50;
/**
 * pg-boss takes one batch per poll: with batches of 1 (2 jobs/s) the 20 jobs/s arriving would
 * queue up, measuring the backlog. These batches hold twice what arrives between two polls.
 */
const latencyBatchSize = Math.ceil((PG_BOSS_POLL_SECONDS * 1000) / LATENCY_SPACING_MS) * 2;
const THROUGHPUT_JOBS = 2_000;
const THROUGHPUT_CAP_MS = 6_000;
/** pg-boss's second throughput run: batches this big, each run 4 jobs at a time. */
const PG_BOSS_BIG_BATCH = 200;

function selectKinds(value: string | undefined, fallback: readonly Kind[]): Kind[] {
  const names = value?.split(',').map((name) => name.trim()) ?? fallback;
  return names.map((name) => {
    const kind = kinds.find((candidate) => candidate === name);
    if (!kind) throw new Error(`unknown configuration ${name} (expected ${kinds.join(', ')})`);
    return kind;
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers

interface Payload {
  i: number;
}

function parsePayload(value: unknown): Payload {
  const i = (value as { i?: unknown } | null)?.i;
  if (typeof i !== 'number') throw new Error(`unexpected payload ${JSON.stringify(value)}`);
  return { i };
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Rejections nobody handled (they would end a Node process by default): kept for the report of
 * the configuration running when they happen, instead of ending this one.
 */
const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => {
  unhandled.push(`unhandled rejection: ${message(reason)}`);
});

/** `promise`, or a rejection after `ms` (the promise itself goes on: nothing here can cancel). */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const timeout = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(ms, undefined, { signal: timeout.signal }).then(() => {
        throw new Error(`${what}: no answer within ${ms / 1000} s`);
      }),
    ]);
  } finally {
    timeout.abort();
  }
}

/**
 * Polls `done` every 10 ms until it holds, `ms` passed, or `progress` (when given) stayed the same
 * for `stallMs`: a broken worker ends the wait early. Whether `done` held.
 */
async function waitFor(
  done: () => boolean,
  ms: number,
  stall?: { progress: () => number; stallMs: number },
): Promise<boolean> {
  const deadline = performance.now() + ms;
  let last = stall?.progress();
  let lastChange = performance.now();
  while (!done()) {
    const now = performance.now();
    if (now > deadline) return false;
    if (stall) {
      const progress = stall.progress();
      if (progress !== last) {
        last = progress;
        lastChange = now;
      } else if (now - lastChange > stall.stallMs) {
        return false;
      }
    }
    await sleep(10);
  }
  return true;
}

/** Runs `run` over `items`, at most `limit` at a time. */
async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < items.length; index = next++) {
      await run(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** BEGIN, `body`, then COMMIT (or ROLLBACK when `rollback`); ROLLBACK when anything fails. */
async function transaction<T>(
  pool: pg.Pool,
  body: (client: pg.PoolClient) => Promise<T>,
  rollback = false,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await body(client);
    await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? NaN;
}

const ascending = (values: number[]) => [...values].sort((a, b) => a - b);

// ---------------------------------------------------------------------------------------------
// Databases

interface Database {
  url: string;
  close(): Promise<void>;
}

/** An empty PGlite data directory, dumped from the first start: later starts load it (~1 s, not 4). */
let pgliteImage: Blob | undefined;
let pgliteVersion: string | undefined;

async function openDatabase(kind: Kind): Promise<Database> {
  if (kind === 'pg') {
    const name = `bench_queues_${randomBytes(4).toString('hex')}`;
    await withClient(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      close: async () => {
        await withClient(serverUrl, (client) =>
          client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
        );
      },
    };
  }
  let embedded: EmbeddedPostgres;
  if (pgliteImage) {
    embedded = await startEmbeddedPostgres({ loadDataDir: pgliteImage });
  } else {
    embedded = await startEmbeddedPostgres();
    pgliteImage = await embedded.pglite.dumpDataDir('none');
    pgliteVersion = await serverVersion(embedded.url);
  }
  return { url: embedded.url, close: () => embedded.stop() };
}

async function createBenchTables(url: string): Promise<void> {
  await withClient(url, async (client) => {
    await client.query(
      'CREATE TABLE bench_write (id bigserial PRIMARY KEY, queue text NOT NULL, i int NOT NULL)',
    );
    await client.query('CREATE TABLE bench_probe (id bigserial PRIMARY KEY, v int NOT NULL)');
  });
}

// ---------------------------------------------------------------------------------------------
// The two libraries behind one interface

interface WorkOptions {
  /** Handlers running at once. */
  concurrency: number;
  /** pg-boss: jobs fetched per poll (its handler gets them as an array); graphile-worker: unused. */
  batchSize: number;
}

type Handler = (payload: Payload) => Promise<void>;

interface Setup {
  /** The writers' pool (the library's own in `pglite-safe`). */
  pool: pg.Pool;
  /** What the library and the pools reported as errors. */
  problems: string[];
  /** graphile-worker's warnings. */
  warnings: string[];
  createQueue(queue: string, options?: { expireInSeconds?: number }): Promise<void>;
  /** Adds a job inside `client`'s open transaction. */
  enqueue(client: pg.ClientBase, queue: string, payload: Payload): Promise<void>;
  enqueueMany(queue: string, count: number): Promise<void>;
  /** Jobs of `queue` not completed yet. */
  pending(queue: string): Promise<number>;
  /** NOTIFYs graphile-worker's LISTEN received so far (pg-boss: NaN, it does not listen). */
  notifications(): number;
  /** Starts a worker on `queue`; resolves to its stop. */
  work(queue: string, options: WorkOptions, handler: Handler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const describeSettings: Record<Library, Record<Kind, string>> = {
  'graphile-worker': {
    pg: '`connectionString` (its pool of 10, prepared statements), LISTEN/NOTIFY, `pollInterval` 2 000 ms (default)',
    pglite:
      'as on PostgreSQL: `connectionString` (its pool of 10, prepared statements), `pollInterval` 2 000 ms; writers on their own pool of 1',
    'pglite-safe': `\`pgPool\` of max 2 shared with the writers, \`preparedStatements: false\`, \`pollInterval\` ${GRAPHILE_SAFE_POLL_MS} ms`,
  },
  'pg-boss': {
    pg: `\`connectionString\` (its pool of 10), \`pollingIntervalSeconds\` ${PG_BOSS_POLL_SECONDS} (the minimum)`,
    pglite: `as on PostgreSQL: \`connectionString\` (its pool of 10), \`pollingIntervalSeconds\` ${PG_BOSS_POLL_SECONDS}; writers on their own pool of 1`,
    'pglite-safe': `\`db: { executeSql }\` on a pg.Pool of max 1 shared with the writers, \`pollingIntervalSeconds\` ${PG_BOSS_POLL_SECONDS}`,
  },
};

function makeSetup(library: Library, url: string, kind: Kind, shortRecovery: boolean) {
  return library === 'graphile-worker'
    ? graphileSetup(url, kind, shortRecovery)
    : pgBossSetup(url, kind, shortRecovery);
}

/** The writers' pool: pg's 10 on the server, embeddedClientOptions' 1 on PGlite. */
function writersPool(url: string, kind: Kind, problems: string[], safeMax: number): pg.Pool {
  const max = kind === 'pg' ? 10 : kind === 'pglite' ? 1 : safeMax;
  const pool = new pg.Pool({ connectionString: url, max });
  const onError = (error: Error) => problems.push(`pool: ${error.message}`);
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

async function graphileSetup(url: string, kind: Kind, shortRecovery: boolean): Promise<Setup> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const pool = writersPool(url, kind, problems, 2);
  const logger = new graphile.Logger(() => (level, text) => {
    if (level === 'error') problems.push(text);
    if (level === 'warning') warnings.push(text);
  });
  const safe = kind === 'pglite-safe';
  const connection = safe ? { pgPool: pool } : { connectionString: url };
  const worker: GraphileWorkerPreset = safe
    ? { preparedStatements: false, pollInterval: GRAPHILE_SAFE_POLL_MS }
    : {};
  await graphile.runMigrations({ ...connection, logger, preset: { worker } });

  // Without a lease, a job locked by a dead worker waits 4 hours: free those locked too long.
  let stopReaping = async () => {};
  if (shortRecovery) {
    const utils = await graphile.makeWorkerUtils({ ...connection, logger, preset: { worker } });
    const reap = async () => {
      const { rows } = await pool.query<{ locked_by: string }>(
        `SELECT DISTINCT locked_by FROM graphile_worker.jobs
         WHERE locked_by IS NOT NULL AND locked_at < now() - make_interval(secs => $1)`,
        [GRAPHILE_UNLOCK_AFTER_SECONDS],
      );
      if (rows.length > 0) await utils.forceUnlockWorkers(rows.map((row) => row.locked_by));
    };
    let reaping = Promise.resolve();
    const timer = setInterval(() => {
      reaping = reaping.then(reap).catch((error: unknown) => {
        problems.push(`reaper: ${message(error)}`);
      });
    }, GRAPHILE_REAP_EVERY_MS);
    stopReaping = async () => {
      clearInterval(timer);
      await reaping;
      await utils.release();
    };
  }

  let notifications = 0;
  return {
    pool,
    problems,
    warnings,
    notifications: () => notifications,
    createQueue: async () => {},
    async enqueue(client, queue, payload) {
      await client.query('SELECT graphile_worker.add_job($1, $2::json)', [
        queue,
        JSON.stringify(payload),
      ]);
    },
    async enqueueMany(queue, count) {
      await pool.query(
        `SELECT count(graphile_worker.add_job($1, json_build_object('i', i)))
         FROM generate_series(0, $2::int - 1) AS i`,
        [queue, count],
      );
    },
    async pending(queue) {
      const { rows } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = $1',
        [queue],
      );
      return rows[0]?.n ?? NaN;
    },
    async work(queue, { concurrency }, handler) {
      const events = new EventEmitter();
      const listening = once(events, 'pool:listen:success');
      events.on('pool:listen:notification', () => {
        notifications += 1;
      });
      const runner = await graphile.run({
        ...connection,
        logger,
        events,
        noHandleSignals: true,
        taskList: { [queue]: (payload) => handler(parsePayload(payload)) },
        preset: { worker: { ...worker, concurrentJobs: concurrency } },
      });
      try {
        await withTimeout(listening, 5_000, 'graphile-worker LISTEN');
      } catch (error) {
        await runner.stop();
        throw error;
      }
      return () => runner.stop();
    },
    async close() {
      await stopReaping();
      await pool.end();
    },
  };
}

async function pgBossSetup(url: string, kind: Kind, shortRecovery: boolean): Promise<Setup> {
  const problems: string[] = [];
  const pool = writersPool(url, kind, problems, 1);
  const connection: PgBoss.ConstructorOptions =
    kind === 'pglite-safe'
      ? { db: { executeSql: (text: string, values: unknown[]) => pool.query(text, values) } }
      : { connectionString: url };
  const boss = new PgBoss({
    ...connection,
    ...(shortRecovery ? { maintenanceIntervalSeconds: PG_BOSS_MAINTENANCE_SECONDS } : {}),
  });
  boss.on('error', (error) => problems.push(error.message));
  await boss.start();
  return {
    pool,
    problems,
    warnings: [],
    notifications: () => NaN,
    createQueue: (queue, options) => boss.createQueue(queue, { name: queue, ...options }),
    async enqueue(client, queue, payload) {
      const db = { executeSql: (text: string, values: unknown[]) => client.query(text, values) };
      const id = await boss.send(queue, payload, { db });
      if (!id) throw new Error(`pg-boss refused job ${payload.i}`);
    },
    enqueueMany: (queue, count) =>
      boss.insert(Array.from({ length: count }, (_, i) => ({ name: queue, data: { i } }))),
    async pending(queue) {
      const { rows } = await pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state <> 'completed'",
        [queue],
      );
      return rows[0]?.n ?? NaN;
    },
    async work(queue, { concurrency, batchSize }, handler) {
      const id = await boss.work<unknown>(
        queue,
        { batchSize, pollingIntervalSeconds: PG_BOSS_POLL_SECONDS },
        (jobs) => forEachLimit(jobs, concurrency, (job) => handler(parsePayload(job.data))),
      );
      return () => boss.offWork({ id });
    },
    async close() {
      await boss.stop({ graceful: false });
      await pool.end();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Measurements

interface Correctness {
  committed: number;
  ranOnce: number;
  missing: number;
  duplicates: number;
  unfinished: number;
  probes: number;
  wrongAnswers: number;
  /** What the writers, the prober and the handlers saw go wrong. */
  problems: string[];
  /** Errors the library, the pools, or unhandled rejections reported meanwhile. */
  libraryErrors: number;
  seconds: number;
}

/** A client of the writers' pool checking its own results until stopped. */
function startProber(pool: pg.Pool) {
  const state = { running: true };
  let probes = 0;
  let wrongAnswers = 0;
  const problems: string[] = [];
  const probeOnce = async () => {
    const v = randomInt(1, 2 ** 31 - 1);
    const t = randomBytes(4).toString('hex');
    if (probes % 2 === 0) {
      const { rows } = await pool.query<{ v: number; t: string }>(
        'SELECT $1::int AS v, $2::text AS t',
        [v, t],
      );
      if (rows.length !== 1 || rows[0]?.v !== v || rows[0].t !== t) {
        wrongAnswers += 1;
        problems.push(`probe: SELECT ${v}, '${t}' answered ${JSON.stringify(rows)}`);
      }
      return;
    }
    const [inserted, counted] = await transaction(pool, async (client) => [
      await client.query<{ v: number }>('INSERT INTO bench_probe (v) VALUES ($1) RETURNING v', [v]),
      await client.query<{ n: number }>('SELECT count(*)::int AS n FROM bench_probe WHERE v = $1', [
        v,
      ]),
    ]);
    if (inserted.rows[0]?.v !== v || counted.rows[0]?.n !== 1) {
      wrongAnswers += 1;
      problems.push(
        `probe: INSERT ${v} answered ${JSON.stringify(inserted.rows)}, count ${JSON.stringify(counted.rows)}`,
      );
    }
  };
  const loop = (async () => {
    while (state.running) {
      await probeOnce().catch((error: unknown) => {
        problems.push(`probe: ${message(error)}`);
      });
      probes += 1;
    }
  })();
  return async () => {
    state.running = false;
    await withTimeout(loop, 10_000, 'prober');
    return { probes, wrongAnswers, problems };
  };
}

async function checkCorrectness(setup: Setup, library: Library): Promise<Correctness> {
  const queue = 'correctness';
  await setup.createQueue(queue);
  const problemsBefore = setup.problems.length;
  const unhandledBefore = unhandled.length;
  const runs = new Map<number, number>();
  const problems: string[] = [];
  const started = performance.now();
  const stopWorker = await setup.work(
    queue,
    // pg-boss's batch of 4 would take 40 s (8 jobs/s): bigger batches, still 4 at a time.
    { concurrency: 4, batchSize: library === 'pg-boss' ? 50 : 1 },
    async ({ i }) => {
      runs.set(i, (runs.get(i) ?? 0) + 1);
      const { rows } = await setup.pool.query<{ i: number }>('SELECT $1::int AS i', [i]);
      if (rows[0]?.i !== i)
        problems.push(`handler of ${i}: its query answered ${JSON.stringify(rows)}`);
    },
  );
  const stopProber = startProber(setup.pool);
  let probed: { probes: number; wrongAnswers: number };
  let committed = 0;
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: CORRECTNESS_WRITERS }, async () => {
        for (let i = next++; i < CORRECTNESS_JOBS; i = next++) {
          try {
            await transaction(setup.pool, async (client) => {
              await client.query('INSERT INTO bench_write (queue, i) VALUES ($1, $2)', [queue, i]);
              await setup.enqueue(client, queue, { i });
            });
            committed += 1;
          } catch (error) {
            problems.push(`writer of ${i}: ${message(error)}`);
          }
        }
      }),
    );
    await waitFor(() => runs.size >= committed, 30_000, {
      progress: () => runs.size,
      stallMs: 5_000,
    });
    // Late duplicates, and the completions the handlers' return triggers.
    await sleep(1_000);
  } finally {
    const prober = await stopProber();
    problems.push(...prober.problems);
    probed = prober;
    await withTimeout(stopWorker(), 10_000, 'stopping the worker').catch((error: unknown) => {
      problems.push(message(error));
    });
  }
  const { rows } = await setup.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM bench_write WHERE queue = $1',
    [queue],
  );
  if (rows[0]?.n !== committed) {
    problems.push(`${committed} writes committed, ${String(rows[0]?.n)} rows in bench_write`);
  }
  let unfinished = await setup.pending(queue);
  for (let tries = 0; unfinished > 0 && tries < 30; tries++) {
    await sleep(100);
    unfinished = await setup.pending(queue);
  }
  const counts = [...runs.values()];
  return {
    committed,
    ranOnce: counts.filter((count) => count === 1).length,
    missing: committed - runs.size,
    duplicates: counts.reduce((sum, count) => sum + count - 1, 0),
    unfinished,
    probes: probed.probes,
    wrongAnswers: probed.wrongAnswers,
    problems,
    libraryErrors: setup.problems.length - problemsBefore + unhandled.length - unhandledBefore,
    seconds: (performance.now() - started) / 1000,
  };
}

interface EnqueueRate {
  /** Transactions per second that insert a row and enqueue a job. */
  perSecond: number;
  p50: number;
  p95: number;
  /** The same transactions without the job, in alternate phases: the commit's own cost. */
  plainPerSecond: number;
  plainP50: number;
  failed: number;
}

/**
 * `writers` concurrent loops of BEGIN; INSERT; (enqueue;) COMMIT, each transaction on a connection
 * of the writers' pool, in ENQUEUE_ROUNDS rounds alternating with and without the job (commits
 * dominate, and their cost drifts).
 */
async function measureEnqueue(setup: Setup, writers: number): Promise<EnqueueRate> {
  const queue = `enqueue_${writers}`;
  await setup.createQueue(queue);
  const latencies = { job: [] as number[], plain: [] as number[] };
  const time = { job: 0, plain: 0 };
  let failed = 0;
  let i = 0;
  const phase = async (withJob: boolean) => {
    const started = performance.now();
    const deadline = started + ENQUEUE_PHASE_MS;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (performance.now() < deadline) {
          const begun = performance.now();
          const payload = { i: i++ };
          try {
            await transaction(setup.pool, async (client) => {
              await client.query('INSERT INTO bench_write (queue, i) VALUES ($1, $2)', [
                queue,
                payload.i,
              ]);
              if (withJob) await setup.enqueue(client, queue, payload);
            });
            latencies[withJob ? 'job' : 'plain'].push(performance.now() - begun);
          } catch {
            failed += 1;
          }
        }
      }),
    );
    time[withJob ? 'job' : 'plain'] += performance.now() - started;
  };
  for (let round = 0; round < ENQUEUE_ROUNDS; round++) {
    await phase(false);
    await phase(true);
  }
  const sorted = ascending(latencies.job);
  return {
    perSecond: (latencies.job.length / time.job) * 1000,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    plainPerSecond: (latencies.plain.length / time.plain) * 1000,
    plainP50: percentile(ascending(latencies.plain), 50),
    failed,
  };
}

/** Jobs left by a rolled-back transaction (0 expected). */
async function checkRollback(setup: Setup): Promise<number> {
  const queue = 'rollback';
  await setup.createQueue(queue);
  await transaction(
    setup.pool,
    async (client) => {
      await client.query('INSERT INTO bench_write (queue, i) VALUES ($1, 0)', [queue]);
      await setup.enqueue(client, queue, { i: 0 });
    },
    true,
  );
  return setup.pending(queue);
}

interface Latency {
  p50: number;
  p95: number;
  max: number;
  started: number;
  /** NOTIFYs graphile-worker's LISTEN received meanwhile. */
  notifications: number;
}

async function measureLatency(setup: Setup): Promise<Latency> {
  const queue = 'latency';
  await setup.createQueue(queue);
  const committedAt = new Map<number, number>();
  const startedAt = new Map<number, number>();
  const notificationsBefore = setup.notifications();
  const stop = await setup.work(
    queue,
    { concurrency: 1, batchSize: latencyBatchSize },
    async ({ i }) => {
      startedAt.set(i, performance.now());
    },
  );
  try {
    await sleep(300);
    for (let i = 0; i < LATENCY_JOBS; i++) {
      await transaction(setup.pool, async (client) => {
        await client.query('INSERT INTO bench_write (queue, i) VALUES ($1, $2)', [queue, i]);
        await setup.enqueue(client, queue, { i });
      });
      committedAt.set(i, performance.now());
      await sleep(LATENCY_SPACING_MS);
    }
    await waitFor(() => startedAt.size >= LATENCY_JOBS, 10_000, {
      progress: () => startedAt.size,
      stallMs: 3_000,
    });
  } finally {
    await withTimeout(stop(), 10_000, 'stopping the worker');
  }
  const latencies = ascending([...startedAt].map(([i, at]) => at - (committedAt.get(i) ?? NaN)));
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    max: latencies.at(-1) ?? NaN,
    started: startedAt.size,
    notifications: setup.notifications() - notificationsBefore,
  };
}

interface Throughput {
  done: number;
  seconds: number;
  perSecond: number;
}

async function measureThroughput(setup: Setup, options: WorkOptions): Promise<Throughput> {
  const queue = `throughput_${options.batchSize}`;
  await setup.createQueue(queue);
  await setup.enqueueMany(queue, THROUGHPUT_JOBS);
  let done = 0;
  let firstStart = NaN;
  let lastEnd = NaN;
  const stop = await setup.work(queue, options, async () => {
    if (Number.isNaN(firstStart)) firstStart = performance.now();
    done += 1;
    lastEnd = performance.now();
  });
  try {
    await waitFor(() => done >= THROUGHPUT_JOBS, THROUGHPUT_CAP_MS, {
      progress: () => done,
      stallMs: 3_000,
    });
  } finally {
    await withTimeout(stop(), 10_000, 'stopping the worker');
  }
  const seconds = (lastEnd - firstStart) / 1000;
  return { done, seconds, perSecond: done / seconds };
}

interface Crash {
  /** The job's row after the kill. */
  lockedAs: string;
  /** From SIGKILL to the job starting in the new worker. */
  seconds: number;
  /** What the producing and the recovering setups reported. */
  problems: string[];
}

/** SQL describing the crash job's lock, per library. */
const lockSql: Record<Library, string> = {
  'graphile-worker': `SELECT format('locked_by %s, attempts %s', locked_by, attempts) AS lock
    FROM graphile_worker.jobs WHERE task_identifier = $1`,
  'pg-boss': `SELECT format('state %s, retry_count %s', state, retry_count) AS lock
    FROM pgboss.job WHERE name = $1`,
};

async function measureCrash(library: Library, kind: Kind, url: string): Promise<Crash> {
  const queue = 'crash';
  // Only one process talks to the database at a time (PGlite's single session).
  const producer = await makeSetup(library, url, kind, false);
  try {
    await producer.createQueue(queue, { expireInSeconds: PG_BOSS_EXPIRE_SECONDS });
    await transaction(producer.pool, (client) => producer.enqueue(client, queue, { i: 0 }));
  } finally {
    await producer.close();
  }
  const problems = [...producer.problems];

  const child = spawn(
    process.execPath,
    ['--import', 'tsx', scriptPath, 'crash-child', library, kind, url, queue],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  const startedInChild = async () => {
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'started') return;
    }
    throw new Error('the crash child exited before its job started');
  };
  try {
    await withTimeout(startedInChild(), 30_000, 'crash child');
  } finally {
    child.kill('SIGKILL');
  }
  const killedAt = performance.now();
  await exited;
  const { rows } = await withClient(url, (client) =>
    client.query<{ lock: string }>(lockSql[library], [queue]),
  );

  const recovery = await makeSetup(library, url, kind, true);
  try {
    let ranAt = NaN;
    const stop = await recovery.work(queue, { concurrency: 1, batchSize: 1 }, async () => {
      if (Number.isNaN(ranAt)) ranAt = performance.now();
    });
    const ran = await waitFor(() => !Number.isNaN(ranAt), 30_000);
    await withTimeout(stop(), 10_000, 'stopping the worker');
    if (!ran) throw new Error('the job did not run again within 30 s');
    return {
      lockedAs: rows[0]?.lock ?? 'no job row',
      seconds: (ranAt - killedAt) / 1000,
      problems: [...problems, ...recovery.problems],
    };
  } finally {
    await recovery.close();
  }
}

/** `crash-child <library> <kind> <url> <queue>`: takes one job of `queue` and hangs in it. */
async function crashChild([library, kind, url, queue]: string[]): Promise<void> {
  const lib = libraries.find((name) => name === library);
  const [configuration] = selectKinds(kind, []);
  if (!lib || !configuration || !url || !queue)
    throw new Error('usage: crash-child lib kind url queue');
  const setup = await makeSetup(lib, url, configuration, false);
  await setup.work(queue, { concurrency: 1, batchSize: 1 }, async () => {
    process.stdout.write('started\n');
    // Until SIGKILL (the pools keep the process alive).
    await new Promise<never>(() => undefined);
  });
}

// ---------------------------------------------------------------------------------------------
// One configuration

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

async function attempt<T>(what: string, run: () => Promise<T>, ms: number): Promise<Outcome<T>> {
  const started = performance.now();
  try {
    const value = await withTimeout(run(), ms, what);
    console.error(`  ${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return { ok: true, value };
  } catch (error) {
    console.error(`  ${what}: FAILED ${message(error)}`);
    return { ok: false, error: message(error) };
  }
}

interface Result {
  library: Library;
  kind: Kind;
  correctness: Outcome<Correctness>;
  enqueue1: Outcome<EnqueueRate>;
  enqueue8: Outcome<EnqueueRate>;
  rollback: Outcome<number>;
  latency: Outcome<Latency>;
  throughput: Outcome<Throughput>;
  bigBatches?: Outcome<Throughput>;
  crash?: Outcome<Crash>;
  /** Every error reported while this configuration ran (its correctness check's included). */
  problems: string[];
  warnings: string[];
}

async function measure(library: Library, kind: Kind): Promise<Result> {
  console.error(`${library} on ${kind}`);
  unhandled.length = 0;
  const database = await openDatabase(kind);
  try {
    await createBenchTables(database.url);
    const setup = await withTimeout(makeSetup(library, database.url, kind, false), 60_000, 'setup');
    let result: Result;
    try {
      result = {
        library,
        kind,
        correctness: await attempt('correctness', () => checkCorrectness(setup, library), 60_000),
        enqueue1: await attempt('enqueue x1', () => measureEnqueue(setup, 1), 20_000),
        enqueue8: await attempt('enqueue x8', () => measureEnqueue(setup, 8), 20_000),
        rollback: await attempt('rollback', () => checkRollback(setup), 10_000),
        latency: await attempt('latency', () => measureLatency(setup), 30_000),
        throughput: await attempt(
          'throughput',
          () => measureThroughput(setup, { concurrency: 4, batchSize: 4 }),
          THROUGHPUT_CAP_MS + 30_000,
        ),
        problems: [],
        warnings: setup.warnings,
      };
      if (library === 'pg-boss') {
        result.bigBatches = await attempt(
          'throughput, big batches',
          () => measureThroughput(setup, { concurrency: 4, batchSize: PG_BOSS_BIG_BATCH }),
          THROUGHPUT_CAP_MS + 30_000,
        );
      }
    } finally {
      await withTimeout(setup.close(), 15_000, 'closing').catch((error: unknown) => {
        setup.problems.push(`closing: ${message(error)}`);
      });
    }
    if (crashKinds.includes(kind)) {
      result.crash = await attempt(
        'crash',
        () => measureCrash(library, kind, database.url),
        60_000,
      );
    }
    result.problems = [
      ...(result.correctness.ok ? result.correctness.value.problems : []),
      ...setup.problems,
      ...(result.crash?.ok ? result.crash.value.problems : []),
      ...unhandled,
    ];
    return result;
  } finally {
    await database.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const kindTitles: Record<Kind, string> = {
  pg: 'PostgreSQL',
  pglite: 'PGlite as-is',
  'pglite-safe': 'PGlite, one pool',
};

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

function cell<T>(outcome: Outcome<T> | undefined, show: (value: T) => string): string {
  if (!outcome) return '-';
  return outcome.ok ? show(outcome.value) : `**failed**: ${outcome.error}`;
}

function correctnessCell(value: Correctness): string {
  const faults = [
    value.committed < CORRECTNESS_JOBS && `${CORRECTNESS_JOBS - value.committed} writes failed`,
    value.missing > 0 && `${value.missing} never ran`,
    value.duplicates > 0 && `${value.duplicates} extra runs`,
    value.unfinished > 0 && `${value.unfinished} left unfinished`,
    value.wrongAnswers > 0 && `${value.wrongAnswers} wrong query results`,
    value.problems.length + value.libraryErrors > 0 &&
      `${value.problems.length + value.libraryErrors} errors`,
  ].filter((fault): fault is string => typeof fault === 'string');
  const counts = `${value.ranOnce}/${CORRECTNESS_JOBS} ran once, ${value.probes} probes, ${fixed(value.seconds)} s`;
  return faults.length === 0 ? `yes (${counts})` : `**NO**: ${faults.join(', ')} (${counts})`;
}

const enqueueCell = (value: EnqueueRate) =>
  `${fixed(value.perSecond, 0)} (${fixed(value.p50)} / ${fixed(value.p95)}); without: ${fixed(value.plainPerSecond, 0)} (${fixed(value.plainP50)})${value.failed > 0 ? `; ${value.failed} failed` : ''}`;

const throughputCell = (value: Throughput) =>
  value.done >= THROUGHPUT_JOBS
    ? `${fixed(value.perSecond, 0)} (${fixed(value.seconds)} s)`
    : `${fixed(value.perSecond, 0)} (only ${value.done} of ${THROUGHPUT_JOBS} in ${THROUGHPUT_CAP_MS / 1000} s)`;

const defaultRecovery: Record<Library, string> = {
  'graphile-worker':
    'locked for 4 hours (hard-coded), then freed by a scan every 8-10 min (`minResetLockedInterval`)',
  'pg-boss':
    'expired after `expireIn` (15 min) by maintenance (every 2 min): up to 17 min; retried only if `retryLimit` > 0 (default 2)',
};

const shortRecovery: Record<Library, string> = {
  'graphile-worker': `\`forceUnlockWorkers\` of the workers whose jobs are locked > ${GRAPHILE_UNLOCK_AFTER_SECONDS} s, looked for every ${GRAPHILE_REAP_EVERY_MS} ms; then the next poll runs it (\`pollInterval\`; an unlock sends no NOTIFY)`,
  'pg-boss': `\`expireInSeconds: ${PG_BOSS_EXPIRE_SECONDS}\` (which also fails any handler running longer), \`maintenanceIntervalSeconds: ${PG_BOSS_MAINTENANCE_SECONDS}\` (both minimums); then the next poll`,
};

/** The first few distinct `texts`, as a nested list. */
function listed(texts: string[]): string[] {
  const distinct = [...new Set(texts)];
  const shown = distinct
    .slice(0, 6)
    .map((text) => `  - \`${text.replaceAll('`', "'").replaceAll('\n', ' ').slice(0, 240)}\``);
  if (distinct.length > shown.length) shown.push(`  - and ${distinct.length - shown.length} more`);
  return shown;
}

function report(results: Result[], versions: string): string {
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const line = (title: string, show: (result: Result) => string) =>
    row([title, ...results.map(show)]);
  const table = [
    row(['', ...results.map((result) => `${result.library}, ${kindTitles[result.kind]}`)]),
    row(['---', ...results.map(() => '---')]),
    line(
      `Correct: ${CORRECTNESS_JOBS} jobs from ${CORRECTNESS_WRITERS} writers while a prober checks its queries on the writers' pool`,
      (result) => cell(result.correctness, correctnessCell),
    ),
    line(
      'Enqueue in the writer’s transaction, 1 writer: tx/s (p50 / p95 ms); without: the same transaction without the job, alternating with it: tx/s (p50 ms)',
      (result) => cell(result.enqueue1, enqueueCell),
    ),
    line('Same, 8 concurrent writers', (result) => cell(result.enqueue8, enqueueCell)),
    line('Jobs left by a ROLLBACK', (result) => cell(result.rollback, String)),
    line(
      `Commit to handler start, ${LATENCY_JOBS} jobs ${LATENCY_SPACING_MS} ms apart (pg-boss: \`batchSize: ${latencyBatchSize}\`): p50 / p95 / max (ms)`,
      (result) =>
        cell(
          result.latency,
          (value) =>
            `${fixed(value.p50)} / ${fixed(value.p95)} / ${fixed(value.max)}${value.started < LATENCY_JOBS ? ` (only ${value.started} started)` : ''}${Number.isNaN(value.notifications) ? '' : `; LISTEN heard ${value.notifications} NOTIFY`}`,
        ),
    ),
    line(
      `Throughput, ${THROUGHPUT_JOBS} no-op jobs queued, concurrency 4 (pg-boss: one \`work\`, \`batchSize: 4\`): jobs/s`,
      (result) => cell(result.throughput, throughputCell),
    ),
    line(
      `pg-boss, \`batchSize: ${PG_BOSS_BIG_BATCH}\`, each batch run 4 at a time: jobs/s`,
      (result) => cell(result.bigBatches, throughputCell),
    ),
    line('After SIGKILL, the job runs again after (shortest settings, below)', (result) =>
      cell(result.crash, (value) => `${fixed(value.seconds)} s (job was ${value.lockedAs})`),
    ),
  ];
  const settings = results.map(
    (result) =>
      `- ${result.library}, ${kindTitles[result.kind]}: ${describeSettings[result.library][result.kind]}.`,
  );
  const problems = results.flatMap((result) =>
    result.problems.length === 0
      ? []
      : [
          `- ${result.library}, ${kindTitles[result.kind]}: ${result.problems.length} errors`,
          ...listed(result.problems),
        ],
  );
  const warnings = results.flatMap((result) =>
    result.warnings.length === 0
      ? []
      : [`- ${result.library}, ${kindTitles[result.kind]}:`, ...listed(result.warnings)],
  );
  return [
    `## Job queues: graphile-worker 0.17.3 and pg-boss 10.4.2 (${new Date().toISOString()})`,
    '',
    `${os.cpus().length} cores, Node ${process.version}; ${versions}.`,
    '',
    ...table,
    '',
    'Configurations:',
    '',
    ...settings,
    '',
    'Crash recovery:',
    '',
    ...libraries.flatMap((library) => [
      `- ${library}, shortest settings: ${shortRecovery[library]}.`,
      `- ${library}, defaults (read in the code, not measured): ${defaultRecovery[library]}.`,
    ]),
    ...(problems.length > 0 ? ['', 'Errors reported:', '', ...problems] : []),
    ...(warnings.length > 0 ? ['', 'Warnings reported:', '', ...warnings] : []),
  ].join('\n');
}

async function serverVersion(url: string): Promise<string> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ v: string }>(
      "SELECT current_setting('server_version') AS v",
    );
    return rows[0]?.v ?? '?';
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const versions: string[] = [];
  if (selectedKinds.includes('pg')) versions.push(`PostgreSQL ${await serverVersion(serverUrl)}`);
  const results: Result[] = [];
  for (const kind of selectedKinds) {
    for (const library of libraries) results.push(await measure(library, kind));
  }
  if (pgliteVersion) versions.push(`PGlite (PostgreSQL ${pgliteVersion}) in this process`);
  console.log(report(results, versions.join(', ')));
  console.error(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

if (process.argv[2] === 'crash-child') {
  await crashChild(process.argv.slice(3));
} else {
  await main();
  // pg-boss and graphile-worker leave timers behind after stopping.
  process.exit(0);
}
