/**
 * Prometheus metrics (METRICS_PORT) of a real server and of `pnpm worker`, each a process of its
 * own on a real database: every scrape must parse as the text format, and carry the requests of
 * both doors, errors by catalogue code, the pools, the job queue, job runs, webhook deliveries,
 * open event streams and the process's own series, with bounded labels only.
 */
import { createDatabaseClient } from '@tasks/db';
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  documentedRequester,
  signUpWith,
  spawnedTestEnv,
  trpcClient,
  type DocumentedRequest,
  type SignedUpUser,
} from './harness.js';
import { openEventStream } from './event-stream-reader.js';
import { parsePrometheusText, samplesOf, valueOf, type Exposition } from './prometheus-text.js';
import {
  freePort,
  spawnProcess,
  spawnServer,
  type SpawnedProcess,
  type SpawnedServer,
} from './spawn-server.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const embedded = inject('testDatabase').kind === 'embedded';
const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** GET /metrics on `port`, parsed (and so checked) as Prometheus text. */
async function scrape(port: number): Promise<Exposition> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

/**
 * Waits until `check` passes on a fresh scrape (what workers count lands a moment later; a
 * process just started may not listen yet).
 */
async function eventually(
  port: number,
  check: (metrics: Exposition) => void,
  timeout = 20_000,
): Promise<void> {
  await expect
    .poll(
      async () => {
        check(await scrape(port));
        return true;
      },
      { timeout, interval: 200 },
    )
    .toBe(true);
}

/** How many requests (or /trpc calls) the duration histogram observed with these labels. */
function observed(metrics: Exposition, labels: Record<string, string>): number {
  return valueOf(metrics, 'tasks_request_duration_seconds_count', labels);
}

function jobsQueued(metrics: Exposition, jobType: string): number {
  return samplesOf(metrics, 'tasks_job_queue_jobs', { job_type: jobType }).reduce(
    (sum, sample) => sum + sample.value,
    0,
  );
}

/** The series every process has: event-loop delay, heap, RSS (prom-client's defaults). */
function expectProcessSeries(metrics: Exposition): void {
  for (const name of [
    'nodejs_eventloop_lag_seconds',
    'nodejs_eventloop_lag_p99_seconds',
    'nodejs_heap_size_used_bytes',
    'process_resident_memory_bytes',
  ]) {
    expect(metrics.types.get(name), name).toBe('gauge');
    // NaN when scraped again within the delay monitor's resolution: no new sample.
    expect(samplesOf(metrics, name), name).toHaveLength(1);
  }
  expect(valueOf(metrics, 'process_resident_memory_bytes')).toBeGreaterThan(0);
}

describe('the exposition reader of these tests', () => {
  const valid = '# HELP up Up.\n# TYPE up gauge\nup{job="a",path="x\\"y"} 1\n';

  it('reads a well-formed exposition', () => {
    expect(parsePrometheusText(valid).samples).toEqual([
      { name: 'up', family: 'up', labels: { job: 'a', path: 'x"y' }, value: 1 },
    ]);
  });

  it.each([
    ['a sample without TYPE', 'up 1\n'],
    ['an unquoted label', '# TYPE up gauge\nup{job=a} 1\n'],
    ['a value that is no number', '# TYPE up gauge\nup one\n'],
    ['a duplicate series', '# TYPE up gauge\nup 1\nup 2\n'],
    ['a family split in two', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="y"} 1\n'],
    ['a missing last line feed', valid.trimEnd()],
    [
      'a histogram whose +Inf bucket is not its count',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n',
    ],
  ])('refuses %s', (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
});

describe('the API with METRICS_PORT (jobs in the API)', () => {
  let database: TestDatabase;
  let server: SpawnedServer;
  let metricsPort: number;
  let request: DocumentedRequest;
  let user: SignedUpUser;
  let delivered: WebhookReceiver;
  let refusing: WebhookReceiver;
  const ids: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    delivered = await startWebhookReceiver();
    refusing = await startWebhookReceiver(() => 500);
    metricsPort = await freePort();
    server = await spawnServer({
      ...spawnedTestEnv,
      ...database.serverEnv,
      METRICS_PORT: String(metricsPort),
      JOBS_IN_API: 'true',
      JOB_POLL_MS: '200',
      WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      // One retry: the refusing receiver's delivery fails once, then for good.
      WEBHOOK_RETRY_SCHEDULE: '200ms',
      // Nothing listens there: every mail job fails, and is retried later.
      SMTP_URL: `smtp://127.0.0.1:${await freePort()}`,
    });
    request = documentedRequester(server.baseUrl);
    user = await signUpWith(request);
    ids.push(user.id);
  }, 120_000);
  afterAll(async () => {
    await server.stop();
    await delivered.close();
    await refusing.close();
    await database.drop();
  });

  it('serves nothing but GET /metrics there, and no /metrics on the public port', async () => {
    const publicMetrics = await request('/metrics');
    expect(publicMetrics.status).toBe(404);
    expect(await publicMetrics.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    expect((await fetch(`http://127.0.0.1:${metricsPort}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/health`)).status).toBe(404);
    expect(
      (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' })).status,
    ).toBe(404);
  });

  it('times REST requests by route template and counts their errors by code', async () => {
    const missingId = crypto.randomUUID();
    ids.push(missingId);
    expect((await request('/tasks', { token: user.token })).status).toBe(200);
    expect((await request('/tasks')).status).toBe(401);
    expect((await request(`/tasks/${missingId}`, { token: user.token })).status).toBe(404);
    expect((await request(`/no/such/${missingId}`)).status).toBe(404);

    const metrics = await scrape(metricsPort);
    const rest = { door: 'rest', method: 'GET' };
    expect(observed(metrics, { ...rest, route: '/tasks', status_code: '200' })).toBe(1);
    expect(observed(metrics, { ...rest, route: '/tasks', status_code: '401' })).toBe(1);
    expect(observed(metrics, { ...rest, route: '/tasks/{id}', status_code: '404' })).toBe(1);
    expect(
      observed(metrics, { door: 'other', route: 'unmatched', method: 'GET', status_code: '404' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      observed(metrics, { ...rest, method: 'POST', route: '/auth/register', status_code: '201' }),
    ).toBe(1);
    const errors = (labels: Record<string, string>) =>
      valueOf(metrics, 'tasks_request_errors_total', labels);
    expect(errors({ door: 'rest', route: '/tasks', code: 'UNAUTHENTICATED' })).toBe(1);
    expect(errors({ door: 'rest', route: '/tasks/{id}', code: 'TASK_NOT_FOUND' })).toBe(1);
    expect(errors({ door: 'other', route: 'unmatched', code: 'ROUTE_NOT_FOUND' })).toBe(2);
    // Successes are no errors.
    expect(samplesOf(metrics, 'tasks_request_errors_total', { route: '/auth/register' })).toEqual(
      [],
    );
  });

  it('observes each call of a /trpc batch by procedure, with its own status and code', async () => {
    const missingId = crypto.randomUUID();
    ids.push(missingId);
    const trpc = trpcClient(server.baseUrl, user.token);
    // Three calls in one tick: one HTTP request.
    const [list, me, get] = await Promise.allSettled([
      trpc.tasks.list.query({}),
      trpc.auth.me.query(),
      trpc.tasks.get.query({ id: missingId }),
    ]);
    expect([list.status, me.status, get.status]).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    const unknown = await fetch(`${server.baseUrl}/trpc/no.such.procedure`);
    expect(unknown.status).toBe(404);

    const metrics = await scrape(metricsPort);
    const trpcGet = { door: 'trpc', method: 'GET' };
    expect(observed(metrics, { ...trpcGet, route: 'tasks.list', status_code: '200' })).toBe(1);
    expect(observed(metrics, { ...trpcGet, route: 'auth.me', status_code: '200' })).toBe(1);
    expect(observed(metrics, { ...trpcGet, route: 'tasks.get', status_code: '404' })).toBe(1);
    expect(observed(metrics, { ...trpcGet, route: 'unknown', status_code: '404' })).toBe(1);
    expect(
      valueOf(metrics, 'tasks_request_errors_total', {
        door: 'trpc',
        route: 'tasks.get',
        code: 'TASK_NOT_FOUND',
      }),
    ).toBe(1);
    expect(
      valueOf(metrics, 'tasks_request_errors_total', {
        door: 'trpc',
        route: 'unknown',
        code: 'ROUTE_NOT_FOUND',
      }),
    ).toBe(1);
  });

  it('counts the event streams open on both doors', async () => {
    const headers = { authorization: `Bearer ${user.token}` };
    const rest = await openEventStream(`${server.baseUrl}/tasks/events`, headers);
    const input = encodeURIComponent(JSON.stringify({ json: {} }));
    const trpc = await openEventStream(`${server.baseUrl}/trpc/tasks.onChange?input=${input}`, {
      ...headers,
      accept: 'text/event-stream',
    });
    expect([rest.status, trpc.status]).toEqual([200, 200]);
    await eventually(metricsPort, (metrics) => {
      expect(valueOf(metrics, 'tasks_event_streams_open')).toBe(2);
    });
    rest.close();
    trpc.close();
    await eventually(metricsPort, (metrics) => {
      expect(valueOf(metrics, 'tasks_event_streams_open')).toBe(0);
    });
  });

  it('counts webhook deliveries and job runs by outcome, and the queued jobs', async () => {
    for (const receiver of [delivered, refusing]) {
      const created = await request('/webhooks', {
        method: 'POST',
        token: user.token,
        body: { url: receiver.url },
      });
      expect(created.status).toBe(201);
      ids.push(((await created.json()) as { id: string }).id);
    }
    const task = await request('/tasks', {
      method: 'POST',
      token: user.token,
      body: { title: 'Counted' },
    });
    ids.push(((await task.json()) as { id: string }).id);

    await eventually(metricsPort, (metrics) => {
      const attempts = (outcome: string) =>
        valueOf(metrics, 'tasks_webhook_delivery_attempts_total', { outcome });
      expect(attempts('delivered')).toBe(1);
      expect(attempts('failed_will_retry')).toBe(1);
      expect(attempts('failed_permanently')).toBe(1);
      // Each attempt was a job run that did its work; the mail job of the sign-up failed.
      const runs = (jobType: string, outcome: string) =>
        valueOf(metrics, 'tasks_job_runs_total', { job_type: jobType, outcome });
      expect(runs('webhook:deliver', 'succeeded')).toBeGreaterThanOrEqual(3);
      expect(runs('mail:email-verification', 'failed_will_retry')).toBeGreaterThanOrEqual(1);
      expect(runs('housekeeping:sessions', 'failed_permanently')).toBe(0);
      // The failed mail waits for its retry; the deliveries are done.
      expect(jobsQueued(metrics, 'mail:email-verification')).toBe(1);
      expect(jobsQueued(metrics, 'webhook:deliver')).toBe(0);
    });
    const metrics = await scrape(metricsPort);
    const states = samplesOf(metrics, 'tasks_job_queue_jobs', { job_type: 'task:due' });
    expect(states.map(({ labels }) => labels.state).sort()).toEqual([
      'failed',
      'ready',
      'running',
      'scheduled',
    ]);
  });

  it('reads the pools, and the process series, at scrape time', async () => {
    const metrics = await scrape(metricsPort);
    const maxConnections = {
      app: Number(database.serverEnv.DB_POOL_SIZE),
      // WORKER_CONCURRENCY (4) and two more; on the embedded database the jobs use the
      // application's one connection instead.
      ...(!embedded && { jobs: 6 }),
    };
    const poolSizes = samplesOf(metrics, 'tasks_db_pool_max_connections').map(
      ({ labels, value }) => [labels.pool, value],
    );
    expect(Object.fromEntries(poolSizes)).toEqual(maxConnections);
    for (const [pool, max] of Object.entries(maxConnections)) {
      const open = ['in_use', 'idle'].map((state) =>
        valueOf(metrics, 'tasks_db_pool_connections', { pool, state }),
      );
      expect(
        open.reduce((sum, count) => sum + count),
        pool,
      ).toBeLessThanOrEqual(max);
      expect(valueOf(metrics, 'tasks_db_pool_waiting_requests', { pool })).toBe(0);
    }
    expectProcessSeries(metrics);
  });

  it('has no label value that is an id or a raw path', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    for (const id of ids) expect(text).not.toContain(id);
    const metrics = parsePrometheusText(text);
    for (const { name, labels } of metrics.samples) {
      for (const value of Object.values(labels)) {
        expect(value, name).not.toMatch(uuid);
        expect(value, name).not.toMatch(/^\/no\/such/);
      }
    }
  });
});

// The embedded database's one session serves the API alone: `pnpm worker` refuses it.
describe.skipIf(embedded)('pnpm worker with METRICS_PORT', () => {
  let database: TestDatabase;
  let worker: SpawnedProcess;
  let metricsPort: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    metricsPort = await freePort();
    worker = spawnProcess(['--import', 'tsx', 'src/worker.ts'], {
      ...spawnedTestEnv,
      ...database.serverEnv,
      METRICS_PORT: String(metricsPort),
      HOST: '127.0.0.1',
      JOB_POLL_MS: '200',
    });
  });
  afterAll(async () => {
    await worker.stop();
    await database.drop();
  });

  it('serves its own job, queue and pool metrics, and stops cleanly', async () => {
    // Listening: its workers start right after.
    await eventually(metricsPort, () => undefined, 60_000);
    const db = createDatabaseClient({ url: database.url, poolSize: 1 });
    try {
      // Due now, for a task that does not exist: it runs, and finds nothing to do.
      await db.$executeRaw`SELECT graphile_worker.add_job('task:due',
        json_build_object('taskId', gen_random_uuid(), 'dueAt', now()))`;
      await db.$executeRaw`SELECT graphile_worker.add_job('mail:password-reset',
        json_build_object('email', 'nobody@example.com'), run_at := now() + interval '1 hour')`;
    } finally {
      await db.$disconnect();
    }
    await eventually(metricsPort, (metrics) => {
      expect(
        valueOf(metrics, 'tasks_job_runs_total', { job_type: 'task:due', outcome: 'succeeded' }),
      ).toBe(1);
      expect(jobsQueued(metrics, 'task:due')).toBe(0);
      expect(
        valueOf(metrics, 'tasks_job_queue_jobs', {
          job_type: 'mail:password-reset',
          state: 'scheduled',
        }),
      ).toBe(1);
    });
    const metrics = await scrape(metricsPort);
    expect(valueOf(metrics, 'tasks_db_pool_max_connections', { pool: 'jobs' })).toBe(6);
    expect(valueOf(metrics, 'tasks_db_pool_max_connections', { pool: 'app' })).toBe(
      Number(database.serverEnv.DB_POOL_SIZE),
    );
    // No HTTP here: the request series are declared, never observed.
    expect(metrics.types.get('tasks_request_duration_seconds')).toBe('histogram');
    expect(samplesOf(metrics, 'tasks_request_duration_seconds_count')).toEqual([]);
    expectProcessSeries(metrics);
    expect(await worker.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
