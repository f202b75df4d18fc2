import { once } from 'node:events';
import { createServer } from 'node:http';
import type { ErrorCode } from '@tasks/api';
import type { AttemptOutcome } from '@tasks/db';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus series of a process (the API or `pnpm worker`), defined here and nowhere else
 * (docs/operations.md explains each). Each process makes one `Metrics` and hands it to what
 * records: the request hook, the workers, the job handlers. A registry of its own, not
 * prom-client's global one, so that two apps in one process (tests) never share a series.
 */
export interface Metrics {
  readonly registry: Registry;
  /** One answered request, or one call of a `/trpc` batch. */
  request(call: RequestCall, seconds: number): void;
  /** One run of a job, as graphile-worker reports it. */
  jobRun(jobType: string, outcome: JobRunOutcome): void;
  /** One recorded webhook delivery attempt, by the delivery's state after it. */
  deliveryAttempt(outcome: AttemptOutcome['status']): void;
  /** A connection pool, read at each scrape. */
  watchPool(name: PoolName, pool: PoolCounts): void;
  /** The job types a process runs, and how to count the queue's jobs (at most every 5 s). */
  watchJobs(jobTypes: readonly string[], countQueued: () => Promise<QueuedJobs[]>): void;
  /** The event streams open in this process, read at each scrape. */
  watchEventStreams(count: () => number): void;
}

/** Which door a request came in by: REST, `/trpc`, or neither (health, docs, unknown paths). */
export type Door = 'rest' | 'trpc' | 'other';

interface RequestCall {
  door: Door;
  /** A route template or procedure path, never a raw path: the label must stay bounded. */
  route: string;
  method: string;
  status: number;
  /** The catalogue code of a failure. */
  code: ErrorCode | undefined;
}

type JobRunOutcome = 'succeeded' | 'failed_will_retry' | 'failed_permanently';

/** The application's pool (Prisma and the repositories), or the job queue's own. */
type PoolName = 'app' | 'jobs';

/** What pg's Pool counts of itself. */
interface PoolCounts {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly options: { readonly max?: number | undefined };
}

const jobStates = ['ready', 'scheduled', 'running', 'failed'] as const;

/** How many jobs of one type are in one state (see `countQueuedJobs` in workers.ts). */
export interface QueuedJobs {
  jobType: string;
  state: (typeof jobStates)[number];
  jobs: number;
}

const jobRunOutcomes: readonly JobRunOutcome[] = [
  'succeeded',
  'failed_will_retry',
  'failed_permanently',
];

/** A delivery's state after an attempt, in the words of the metric. */
const deliveryOutcomes = {
  succeeded: 'delivered',
  pending: 'failed_will_retry',
  failed: 'failed_permanently',
} as const satisfies Record<AttemptOutcome['status'], string>;

/**
 * From a cached read (about a millisecond here) to past the request timeout's default (30 s):
 * the API's fast answers must not all land in the first bucket.
 */
const durationBuckets = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/**
 * Counting the queue scans its table: a scraper that asks often (or two of them) reuses one
 * count for this long.
 */
const queueCountCacheMs = 5_000;

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // Event-loop delay, heap, RSS, CPU, GC, handles: prom-client's `process_*` and `nodejs_*`.
  collectDefaultMetrics({ register: registry });

  const requestDuration = new Histogram({
    name: 'tasks_request_duration_seconds',
    help: 'Time from a request arriving to its response finishing; each call of a /trpc batch is observed once, with the batch time',
    labelNames: ['door', 'route', 'method', 'status_code'] as const,
    buckets: durationBuckets,
    registers,
  });
  const requestErrors = new Counter({
    name: 'tasks_request_errors_total',
    help: 'Requests (and /trpc calls) answered with an error, by catalogue code',
    labelNames: ['door', 'route', 'code'] as const,
    registers,
  });
  const jobRuns = new Counter({
    name: 'tasks_job_runs_total',
    help: 'Job runs by job type and outcome; a failed run is retried later until its attempts are spent',
    labelNames: ['job_type', 'outcome'] as const,
    registers,
  });
  const deliveryAttempts = new Counter({
    name: 'tasks_webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts by outcome: delivered, failed (will retry), failed permanently',
    labelNames: ['outcome'] as const,
    registers,
  });

  // The gauges below are read when scraped, from the sources `watch*` hands them.
  const pools = new Map<PoolName, PoolCounts>();
  new Gauge({
    name: 'tasks_db_pool_connections',
    help: 'Open connections of a database pool, in use or idle',
    labelNames: ['pool', 'state'] as const,
    registers,
    collect() {
      for (const [pool, counts] of pools) {
        this.set({ pool, state: 'in_use' }, counts.totalCount - counts.idleCount);
        this.set({ pool, state: 'idle' }, counts.idleCount);
      }
    },
  });
  new Gauge({
    name: 'tasks_db_pool_max_connections',
    help: 'Connections a database pool may open',
    labelNames: ['pool'] as const,
    registers,
    collect() {
      for (const [pool, counts] of pools) this.set({ pool }, counts.options.max ?? 0);
    },
  });
  new Gauge({
    name: 'tasks_db_pool_waiting_requests',
    help: 'Queries waiting for a connection of a database pool, all of its connections being in use',
    labelNames: ['pool'] as const,
    registers,
    collect() {
      for (const [pool, counts] of pools) this.set({ pool }, counts.waitingCount);
    },
  });

  let queue: { jobTypes: readonly string[]; count: () => Promise<QueuedJobs[]> } | undefined;
  new Gauge({
    name: 'tasks_job_queue_jobs',
    help: 'Jobs in the queue by job type and state: ready (due), scheduled (later, retries too), running, failed (attempts spent)',
    labelNames: ['job_type', 'state'] as const,
    registers,
    async collect() {
      if (!queue) return;
      const counted = await queue.count().catch(() => undefined);
      this.reset();
      // Unknown while the count fails (the database is down): no series rather than stale ones,
      // and the scrape's other series still arrive.
      if (!counted) return;
      // A type with no job left reads 0, not its last count.
      for (const jobType of queue.jobTypes) {
        for (const state of jobStates) this.set({ job_type: jobType, state }, 0);
      }
      for (const { jobType, state, jobs } of counted) this.set({ job_type: jobType, state }, jobs);
    },
  });

  let openStreams: (() => number) | undefined;
  new Gauge({
    name: 'tasks_event_streams_open',
    help: 'Change-feed streams open in this process: GET /tasks/events and tasks.onChange subscriptions',
    registers,
    collect() {
      if (openStreams) this.set(openStreams());
    },
  });

  return {
    registry,
    request({ door, route, method, status, code }, seconds) {
      requestDuration.observe({ door, route, method, status_code: status }, seconds);
      if (code !== undefined) requestErrors.inc({ door, route, code });
    },
    jobRun(jobType, outcome) {
      jobRuns.inc({ job_type: jobType, outcome });
    },
    deliveryAttempt(outcome) {
      deliveryAttempts.inc({ outcome: deliveryOutcomes[outcome] });
    },
    watchPool(name, pool) {
      pools.set(name, pool);
    },
    watchJobs(jobTypes, countQueued) {
      queue = { jobTypes, count: cachedFor(queueCountCacheMs, countQueued) };
      // Counters that exist from the start: a rate over the first failure is not lost.
      for (const jobType of jobTypes) {
        for (const outcome of jobRunOutcomes) jobRuns.inc({ job_type: jobType, outcome }, 0);
      }
      for (const outcome of Object.values(deliveryOutcomes)) deliveryAttempts.inc({ outcome }, 0);
    },
    watchEventStreams(count) {
      openStreams = count;
    },
  };
}

/** `read`, answered from its last result while that is younger than `ms` (a failure too). */
function cachedFor<T>(ms: number, read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; result: Promise<T> } | undefined;
  return () => {
    const now = performance.now();
    if (!last || now - last.at > ms) last = { at: now, result: read() };
    return last.result;
  };
}

export interface MetricsServer {
  /** The port listened on (the one asked for, unless that was 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * `GET /metrics` in Prometheus' text format on an address of its own, never the API's public
 * one: nothing else is served there (404).
 */
export async function serveMetrics(
  metrics: Metrics,
  { host, port }: { host: string; port: number },
  log: { error(details: object, message: string): void },
): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    if (
      request.url?.split('?')[0] !== '/metrics' ||
      !['GET', 'HEAD'].includes(request.method ?? '')
    ) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
      },
      (error: unknown) => {
        log.error({ err: error }, 'collecting the metrics failed');
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Failed\n');
      },
    );
  });
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    // A person fixes this with a setting, not a stack trace.
    throw new Error(
      `Cannot listen on ${host}:${port} (${code}): set METRICS_PORT (or METRICS_HOST) to a free address`,
      { cause: error },
    );
  }
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    async close() {
      // A scraper's kept-alive connection must not hold the process open.
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
