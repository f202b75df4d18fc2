import type { JobHandler } from '@tasks/api';
import {
  Logger as QueueLogger,
  run,
  type Runner,
  type TaskList,
  type WorkerEvents,
} from 'graphile-worker';
import { EventEmitter, setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import pg from 'pg';
import type { AppConfig } from './config.js';
import type { Metrics, QueuedJobs } from './metrics.js';
import { traceJob } from './traces.js';

interface LogSink {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface WorkerRuntimeOptions {
  databaseUrl: string;
  /**
   * The connections to use instead of a pool of the workers' own: the embedded database's one
   * (see `sharedSessionPool`).
   */
  sharedPool?: pg.Pool | undefined;
  jobs: AppConfig['jobs'];
  /** Named statements off where a connection is not one server session (the embedded PGlite). */
  preparedStatements: boolean;
  handlers: Record<string, JobHandler>;
  /** Recurring jobs: cron expression (UTC) and job name. */
  schedule: readonly { cron: string; job: string }[];
  log: LogSink;
  /** Where job runs, the queue and the workers' pool are counted, when metrics are on. */
  metrics?: Metrics | undefined;
}

export interface WorkerRuntime {
  /** Stops taking jobs and waits for running ones; those cut short by the abort go back to the queue. */
  stop(): Promise<void>;
}

/**
 * Workers on the database's job queue (graphile-worker): they run the jobs the triggers and the
 * schedule enqueue. graphile-worker frees a job whose worker died only after 4 hours (fixed), so
 * each pool of workers says it is alive (`JobWorker.seenAt`, every quarter of
 * `jobs.deadAfterMs`), and releases the jobs of pools that stopped saying so for `deadAfterMs`.
 */
export async function startWorkers({
  databaseUrl,
  sharedPool,
  jobs,
  preparedStatements,
  handlers,
  schedule,
  log,
  metrics,
}: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  const pool = sharedPool
    ? sharedSessionPool(sharedPool)
    : new pg.Pool({ connectionString: databaseUrl, max: jobs.concurrency + 2 });
  const onConnectionError = (error: Error) => {
    log.warn({ err: error }, 'job queue connection lost');
  };
  pool.on('error', onConnectionError);
  pool.on('connect', (client: pg.PoolClient) => client.on('error', onConnectionError));
  const taskList: TaskList = Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [
      name,
      (payload, helpers) => {
        // One signal for the whole pool: every running job may listen to it at once.
        setMaxListeners(jobs.concurrency + 10, helpers.abortSignal);
        const { id, attempts } = helpers.job;
        return traceJob({ id, name, attempt: attempts, payload }, () =>
          handler(payload, { signal: helpers.abortSignal }),
        );
      },
    ]),
  );
  const events: WorkerEvents = new EventEmitter();
  let poolId: string | undefined;
  events.on('pool:create', ({ workerPool }) => {
    poolId = workerPool.id;
  });
  if (metrics) {
    observeJobs(metrics, events, Object.keys(handlers), () => countQueuedJobs(pool, log));
    // The embedded database's one connection is the application's pool, counted as such.
    if (!sharedPool) metrics.watchPool('jobs', pool);
  }
  let runner: Runner;
  try {
    runner = await run({
      pgPool: pool,
      taskList,
      crontab: schedule.map(({ cron, job }) => `${cron} ${job}`).join('\n'),
      concurrency: jobs.concurrency,
      pollInterval: jobs.pollIntervalMs,
      noPreparedStatements: !preparedStatements,
      noHandleSignals: true,
      events,
      logger: queueLogger(log),
      // Unbatched, a job's completion or failure is sent without being awaited, and one that
      // ends during shutdown can be lost (the job stays locked); batched, shutdown flushes it.
      preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    });
  } catch (error) {
    await pool.end();
    throw error;
  }
  const liveness = async () => {
    if (poolId !== undefined) await sayAlive(pool, poolId);
    const released = await releaseJobsOfDeadWorkers(pool, jobs.deadAfterMs);
    if (released.length > 0) log.warn({ workers: released }, 'released the jobs of dead workers');
  };
  const onLivenessError = (error: unknown) => {
    log.warn({ err: error }, 'could not record this worker alive or check for dead ones');
  };
  await liveness().catch(onLivenessError);
  const heartbeat = setInterval(
    () => {
      liveness().catch(onLivenessError);
    },
    Math.max(250, Math.floor(jobs.deadAfterMs / 4)),
  );
  heartbeat.unref();
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        clearInterval(heartbeat);
        await runner.stop();
        if (poolId !== undefined) {
          await pool
            .query('DELETE FROM "JobWorker" WHERE id = $1', [poolId])
            .catch(onLivenessError);
        }
        await pool.end();
      })();
      return stopped;
    },
  };
}

/** Every run's outcome by job type, and the queue's jobs at scrape time. */
function observeJobs(
  metrics: Metrics,
  events: WorkerEvents,
  jobTypes: string[],
  countQueued: () => Promise<QueuedJobs[]>,
): void {
  metrics.watchJobs(jobTypes, countQueued);
  events.on('job:success', ({ job }) => {
    metrics.jobRun(job.task_identifier, 'succeeded');
  });
  // `attempts` already counts this run: the last one allowed fails the job for good.
  events.on('job:error', ({ job }) => {
    const final = job.attempts >= job.max_attempts;
    metrics.jobRun(job.task_identifier, final ? 'failed_permanently' : 'failed_will_retry');
  });
}

/**
 * The queue's jobs by type and state, in one statement over graphile-worker's public view. It
 * reads every queued job, which the queue keeps few (a job is deleted when it succeeds); the
 * metrics reuse one count for a few seconds.
 */
async function countQueuedJobs(pool: pg.Pool, log: LogSink): Promise<QueuedJobs[]> {
  try {
    const { rows } = await pool.query<QueuedJobs>(
      `SELECT task_identifier AS "jobType",
              CASE WHEN attempts >= max_attempts THEN 'failed'
                   WHEN locked_at IS NOT NULL THEN 'running'
                   WHEN run_at > now() THEN 'scheduled'
                   ELSE 'ready' END AS state,
              count(*)::int AS jobs
       FROM graphile_worker.jobs
       GROUP BY 1, 2`,
    );
    return rows;
  } catch (error) {
    log.warn({ err: error }, 'could not count the queued jobs for the metrics');
    throw error;
  }
}

async function sayAlive(pool: pg.Pool, poolId: string): Promise<void> {
  await pool.query(
    `INSERT INTO "JobWorker" (id, hostname, pid) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET "seenAt" = now()`,
    [poolId, hostname(), process.pid],
  );
}

/**
 * Unlocks the jobs of every pool not seen alive for `deadAfterMs` (or never seen, for jobs locked
 * that long), and forgets such pools. Resolves with the pools released.
 */
async function releaseJobsOfDeadWorkers(pool: pg.Pool, deadAfterMs: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT DISTINCT job.locked_by AS id
     FROM graphile_worker.jobs AS job
     LEFT JOIN "JobWorker" AS worker ON worker.id = job.locked_by
     WHERE job.locked_at < now() - make_interval(secs => $1 / 1000.0)
       AND (worker.id IS NULL OR worker."seenAt" < now() - make_interval(secs => $1 / 1000.0))`,
    [deadAfterMs],
  );
  const deadPools = rows.map((row) => row.id);
  if (deadPools.length > 0) {
    await pool.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [deadPools]);
  }
  await pool.query(
    `DELETE FROM "JobWorker" WHERE "seenAt" < now() - make_interval(secs => $1 / 1000.0)`,
    [deadAfterMs],
  );
  return deadPools;
}

/**
 * The job queue's view of the embedded PGlite: the application's one connection. PGlite serves
 * every connection from one session, and statements of two connections interleave there (seen:
 * "bind message supplies 1 parameters, but prepared statement "" requires 2"), so the queue may
 * not open connections of its own. PGlite also never delivers NOTIFY to another connection, so
 * the listening client graphile-worker would hold for good (the only caller of the callback form
 * of `connect`) is an idle stand-in rather than the one connection: the workers poll instead.
 */
function sharedSessionPool(shared: pg.Pool): pg.Pool {
  const idleListener = {
    query: () => Promise.resolve({ rows: [], rowCount: 0 }),
    on() {
      return idleListener;
    },
    removeListener() {
      return idleListener;
    },
    release() {},
  };
  const view = Object.assign(new EventEmitter(), {
    query: shared.query.bind(shared),
    connect(callback?: (error: Error | undefined, client: unknown, done: () => void) => void) {
      if (!callback) return shared.connect();
      callback(undefined, idleListener, () => {});
      return undefined;
    },
    // The application ends the pool it owns.
    end: () => Promise.resolve(),
  });
  return view as unknown as pg.Pool;
}

/**
 * graphile-worker's messages in the service's log. Its per-job lines ("Completed task ...") are
 * debug here, not info: one per job would drown the request lines. A job is logged by id, name
 * and attempt, never its payload (an email address, a delivery id), whatever the level.
 */
function queueLogger(log: LogSink): QueueLogger {
  return new QueueLogger(() => (level, message, meta) => {
    const { job, ...rest } = (meta ?? {}) as { job?: QueueJob };
    const details = {
      component: 'jobs',
      ...rest,
      ...(job && { job: { id: job.id, task: job.task_identifier, attempt: job.attempts } }),
    };
    // Without a job, the line is about the pool: its own message, in full.
    const text = job ? (message.split('\n')[0] ?? message) : message;
    // The level enum is not importable from the bundle (graphile-worker is CommonJS): its values.
    const levelName: string = level;
    if (levelName === 'error') log.error(details, text);
    else if (levelName === 'warning') log.warn(details, text);
    else if (levelName === 'info' && !job) log.info(details, text);
    else log.debug(details, text);
  });
}

interface QueueJob {
  id: string;
  task_identifier: string;
  attempts: number;
}
