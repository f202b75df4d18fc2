import type { JobHandler } from '@tasks/api';
import { Logger as QueueLogger, run, type Runner, type TaskList } from 'graphile-worker';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { AppConfig } from './config.js';

interface LogSink {
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
}

export interface WorkerRuntime {
  /** Stops taking jobs and waits for running ones; those cut short by the abort go back to the queue. */
  stop(): Promise<void>;
}

/**
 * Workers on the database's job queue (graphile-worker): they run the jobs the triggers and the
 * schedule enqueue. graphile-worker frees a job whose worker died only after 4 hours (fixed);
 * every handler here is bounded far below `jobs.lockTimeoutMs`, so a job locked longer is held by
 * a dead process, and `releaseAbandonedJobs` frees it for the next worker.
 */
export async function startWorkers({
  databaseUrl,
  sharedPool,
  jobs,
  preparedStatements,
  handlers,
  schedule,
  log,
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
      (payload, helpers) => handler(payload, { signal: helpers.abortSignal }),
    ]),
  );
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
      logger: queueLogger(log),
      // Unbatched, a job's completion or failure is sent without being awaited, and one that
      // ends during shutdown can be lost (the job stays locked); batched, shutdown flushes it.
      preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    });
  } catch (error) {
    await pool.end();
    throw error;
  }
  const reaper = setInterval(
    () => {
      releaseAbandonedJobs(pool, jobs.lockTimeoutMs).then(
        (released) => {
          if (released.length > 0) log.warn({ workers: released }, 'released jobs of dead workers');
        },
        (error: unknown) => {
          log.warn({ err: error }, 'could not check for jobs of dead workers');
        },
      );
    },
    Math.max(1_000, Math.floor(jobs.lockTimeoutMs / 4)),
  );
  reaper.unref();
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        clearInterval(reaper);
        await runner.stop();
        await pool.end();
      })();
      return stopped;
    },
  };
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

/** Unlocks every job of each worker holding one longer than `lockTimeoutMs`. */
async function releaseAbandonedJobs(pool: pg.Pool, lockTimeoutMs: number): Promise<string[]> {
  const { rows } = await pool.query<{ lockedBy: string }>(
    `SELECT DISTINCT locked_by AS "lockedBy" FROM graphile_worker.jobs
     WHERE locked_at < now() - make_interval(secs => $1 / 1000.0)`,
    [lockTimeoutMs],
  );
  const workerIds = rows.map((row) => row.lockedBy);
  if (workerIds.length > 0) {
    await pool.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [workerIds]);
  }
  return workerIds;
}

/** graphile-worker's messages in the service's log, at their own level. */
function queueLogger(log: LogSink): QueueLogger {
  return new QueueLogger(() => (level, message, meta) => {
    const details = { component: 'jobs', ...meta };
    // The level enum is not importable from the bundle (graphile-worker is CommonJS): its values.
    const levelName: string = level;
    if (levelName === 'error') log.error(details, message);
    else if (levelName === 'warning') log.warn(details, message);
    else if (levelName === 'info') log.info(details, message);
  });
}
