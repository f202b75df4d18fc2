/**
 * Jobs and webhooks against the real server, its workers and a receiver on 127.0.0.1: signed
 * deliveries, retries with the same `webhook-id`, redelivery after the worker's process is killed,
 * nothing enqueued by a rolled-back write, the URL policy, due dates, housekeeping, isolation.
 */
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  signUpWith,
  documentedRequester,
  spawnedTestEnv,
  startTestServer,
  type SignedUpUser,
  type TestServer,
} from './harness.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, runToExit, spawnServer } from './spawn-server.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const workerEnv = {
  JOBS_IN_API: 'true',
  WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
  WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,200ms',
  JOB_POLL_MS: '200',
  // Far shorter than a hanging attempt (WEBHOOK_TIMEOUT_MS): a live worker keeps its job anyway.
  WORKER_DEAD_AFTER_MS: '1000',
  WEBHOOK_TIMEOUT_MS: '3000',
};

interface CreatedWebhook {
  id: string;
  secret: string;
  status: string;
  disabledReason: string | null;
}

interface Delivery {
  id: string;
  eventType: string;
  status: string;
  attemptCount: number;
  nextAttemptAt: string | null;
  attempts: { responseStatus: number | null; durationMs: number; error: string | null }[];
}

async function registerWebhook(
  server: Pick<TestServer, 'request'>,
  user: SignedUpUser,
  body: Record<string, unknown>,
): Promise<CreatedWebhook> {
  const response = await server.request('/webhooks', { method: 'POST', token: user.token, body });
  expect(response.status).toBe(201);
  return (await response.json()) as CreatedWebhook;
}

async function createTask(server: Pick<TestServer, 'request'>, user: SignedUpUser, body: object) {
  const response = await server.request('/tasks', { method: 'POST', token: user.token, body });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; title: string };
}

async function deliveriesOf(
  server: Pick<TestServer, 'request'>,
  user: SignedUpUser,
  webhookId: string,
): Promise<Delivery[]> {
  const response = await server.request(`/webhooks/${webhookId}/deliveries`, { token: user.token });
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Delivery[] }).items;
}

async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('webhooks with the workers in the API', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(workerEnv);
  });
  afterAll(async () => {
    await server.close();
  });

  it('delivers a create, signed per Standard Webhooks, as the Change object', async () => {
    const receiver = await startWebhookReceiver();
    const user = await server.signUp();
    const webhook = await registerWebhook(server, user, { url: receiver.url });
    expect(webhook.secret).toMatch(/^whsec_/);
    const task = await createTask(server, user, { title: 'Deliver me' });

    await receiver.waitFor(1);
    const delivery = receiver.delivery(0);
    // Throws unless the signature is valid for these exact bytes and a recent timestamp.
    new Webhook(webhook.secret).verify(delivery.body, {
      'webhook-id': String(delivery.headers['webhook-id']),
      'webhook-timestamp': String(delivery.headers['webhook-timestamp']),
      'webhook-signature': String(delivery.headers['webhook-signature']),
    });
    expect(delivery.json).toMatchObject({
      type: 'task.created',
      taskId: task.id,
      task: { id: task.id, title: 'Deliver me' },
    });
    const deliveries = await eventually(
      () => deliveriesOf(server, user, webhook.id),
      ([first]) => first?.status === 'succeeded',
    );
    expect(deliveries[0]).toMatchObject({
      id: delivery.headers['webhook-id'],
      eventType: 'task.created',
      attemptCount: 1,
      nextAttemptAt: null,
      attempts: [{ responseStatus: 200, error: null }],
    });
    await receiver.close();
  });

  it('retries a receiver that answers 500 twice, with the same webhook-id each time', async () => {
    const receiver = await startWebhookReceiver((index) => (index < 2 ? 500 : 204));
    const user = await server.signUp();
    const webhook = await registerWebhook(server, user, { url: receiver.url });
    await createTask(server, user, { title: 'Third time lucky' });

    const attempts = await receiver.waitFor(3);
    expect(new Set(attempts.map((attempt) => attempt.headers['webhook-id'])).size).toBe(1);
    const [delivery] = await eventually(
      () => deliveriesOf(server, user, webhook.id),
      ([first]) => first?.status === 'succeeded',
    );
    expect(delivery?.attempts.map((attempt) => attempt.responseStatus)).toEqual([500, 500, 204]);
    await receiver.close();
  });

  it('times out a receiver that never answers, without its live worker losing the job', async () => {
    const receiver = await startWebhookReceiver((index) => (index === 0 ? 'hang' : 200));
    const user = await server.signUp();
    const webhook = await registerWebhook(server, user, { url: receiver.url });
    await createTask(server, user, { title: 'Slow receiver' });

    const [delivery] = await eventually(
      () => deliveriesOf(server, user, webhook.id),
      ([first]) => first?.status === 'succeeded',
    );
    // Three liveness rounds passed during the hanging attempt: nobody else took the job.
    expect(receiver.received).toHaveLength(2);
    expect(delivery?.attempts).toEqual([
      expect.objectContaining({ responseStatus: null, error: 'timed out after 3000 ms' }),
      expect.objectContaining({ responseStatus: 200, error: null }),
    ]);
    await receiver.close();
  });

  it('delivers only the event types asked for, and a ping on request', async () => {
    const receiver = await startWebhookReceiver();
    const user = await server.signUp();
    const webhook = await registerWebhook(server, user, {
      url: receiver.url,
      events: ['task.deleted'],
    });
    const task = await createTask(server, user, { title: 'Short-lived' });
    const deleted = await server.request(`/tasks/${task.id}`, {
      method: 'DELETE',
      token: user.token,
    });
    expect(deleted.status).toBe(204);
    const ping = await server.request(`/webhooks/${webhook.id}/ping`, {
      method: 'POST',
      token: user.token,
    });
    expect(ping.status).toBe(202);

    await receiver.waitFor(2);
    expect(receiver.received.map((delivery) => delivery.json.type).sort()).toEqual([
      'task.deleted',
      'webhook.ping',
    ]);
    await receiver.close();
  });

  it('enqueues nothing for a write that rolls back', async () => {
    const user = await server.signUp();
    const receiver = await startWebhookReceiver();
    await registerWebhook(server, user, { url: receiver.url });
    const jobsBefore = await server.db.$queryRaw<[{ count: bigint }]>`
      SELECT count(*) FROM graphile_worker.jobs`;
    await expect(
      server.db.$transaction(async (transaction) => {
        await transaction.$executeRaw`
          INSERT INTO "Task" (id, "ownerId", title, "updatedAt", "dueAt")
          VALUES (gen_random_uuid(), ${user.id}::uuid, 'Never committed', now(), now())`;
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const jobsAfter = await server.db.$queryRaw<[{ count: bigint }]>`
      SELECT count(*) FROM graphile_worker.jobs`;
    expect(jobsAfter[0].count).toBe(jobsBefore[0].count);
    const deliveries = await server.db.webhookDelivery.count({
      where: { endpoint: { ownerId: user.id } },
    });
    expect(deliveries).toBe(0);
    await receiver.close();
  });

  it("keeps each user's webhooks and changes to themselves", async () => {
    const receiver = await startWebhookReceiver();
    const owner = await server.signUp();
    const stranger = await server.signUp();
    const webhook = await registerWebhook(server, owner, { url: receiver.url });
    for (const [method, path] of [
      ['GET', `/webhooks/${webhook.id}`],
      ['PATCH', `/webhooks/${webhook.id}`],
      ['DELETE', `/webhooks/${webhook.id}`],
      ['GET', `/webhooks/${webhook.id}/deliveries`],
      ['POST', `/webhooks/${webhook.id}/ping`],
    ] as const) {
      const response = await server.request(path, {
        method,
        token: stranger.token,
        ...(method === 'PATCH' && { body: { description: 'mine now' } }),
      });
      expect(response.status, `${method} ${path}`).toBe(404);
    }
    const list = await server.request('/webhooks', { token: stranger.token });
    expect(await list.json()).toEqual({ items: [] });
    await createTask(server, stranger, { title: 'Not for the owner' });
    await createTask(server, owner, { title: 'For the owner' });
    await receiver.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received.map((delivery) => delivery.json.task)).toEqual([
      expect.objectContaining({ title: 'For the owner' }),
    ]);
    await receiver.close();
  });

  it('disables an endpoint that fails through its whole retry window, and says so', async () => {
    const receiver = await startWebhookReceiver(() => 503);
    const user = await server.signUp();
    const webhook = await registerWebhook(server, user, { url: receiver.url });
    await createTask(server, user, { title: 'Nobody home' });

    await receiver.waitFor(4);
    const disabled = await eventually(
      async () =>
        (await (
          await server.request(`/webhooks/${webhook.id}`, { token: user.token })
        ).json()) as CreatedWebhook,
      (current) => current.status === 'disabled',
    );
    expect(disabled.disabledReason).toMatch(/HTTP 503/);
    const [delivery] = await deliveriesOf(server, user, webhook.id);
    expect(delivery).toMatchObject({ status: 'failed', attemptCount: 4, nextAttemptAt: null });

    // Disabled, it gets nothing; enabled again, it gets the changes from then on.
    await createTask(server, user, { title: 'While disabled' });
    const enabled = await server.request(`/webhooks/${webhook.id}`, {
      method: 'PATCH',
      token: user.token,
      body: { enabled: true },
    });
    expect(await enabled.json()).toMatchObject({ status: 'enabled', disabledReason: null });
    await createTask(server, user, { title: 'After enabling' });
    await receiver.waitFor(5);
    expect(receiver.received.at(-1)?.json.task).toMatchObject({ title: 'After enabling' });
    expect(await server.db.webhookDelivery.count({ where: { endpointId: webhook.id } })).toBe(2);
    await receiver.close();
  });

  it('emits task.due once when a due date 3 s ahead arrives, unless moved or done', async () => {
    const receiver = await startWebhookReceiver();
    const user = await server.signUp();
    await registerWebhook(server, user, { url: receiver.url, events: ['task.due'] });
    const since = await server.request('/tasks/changes', { token: user.token });
    const { nextCursor } = (await since.json()) as { nextCursor: string };
    const dueAt = new Date(Date.now() + 3_000).toISOString();
    const due = await createTask(server, user, { title: 'Due soon', dueAt });
    const moved = await createTask(server, user, { title: 'Moved later', dueAt });
    const done = await createTask(server, user, { title: 'Done early', dueAt });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    for (const [task, body] of [
      [moved, { dueAt: later }],
      [done, { status: 'done' }],
    ] as const) {
      const response = await server.request(`/tasks/${task.id}`, {
        method: 'PATCH',
        token: user.token,
        body,
      });
      expect(response.status).toBe(200);
    }

    await receiver.waitFor(1, () => true, 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(dueAt));
    expect(receiver.delivery(0).json).toMatchObject({
      type: 'task.due',
      taskId: due.id,
      task: { title: 'Due soon', dueAt },
    });
    // Time for a duplicate, or for the moved and completed tasks' jobs had they survived.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(receiver.received).toHaveLength(1);
    const feed = await server.request(`/tasks/changes?since=${nextCursor}`, { token: user.token });
    const { items } = (await feed.json()) as { items: { type: string; taskId: string }[] };
    expect(items.filter((change) => change.type === 'task.due')).toEqual([
      expect.objectContaining({ taskId: due.id }),
    ]);
    await receiver.close();
  });

  it('holds at most MAX_WEBHOOKS_PER_USER webhooks', async () => {
    const user = await server.signUp();
    for (let index = 0; index < 10; index++) {
      await registerWebhook(server, user, { url: `http://127.0.0.1:9/hook-${index}` });
    }
    const over = await server.request('/webhooks', {
      method: 'POST',
      token: user.token,
      body: { url: 'http://127.0.0.1:9/one-too-many' },
    });
    expect(over.status).toBe(403);
    expect(await over.json()).toMatchObject({ code: 'QUOTA_EXCEEDED' });
  });

  it('purges what housekeeping is for, in batches, and keeps the rest', async () => {
    const user = await server.signUp();
    const old = new Date(Date.now() - 40 * 86_400_000);
    await server.db.idempotencyKey.createMany({
      data: Array.from({ length: 2_500 }, (_, index) => ({
        userId: user.id,
        key: `old-${index}`,
        requestHash: '0'.repeat(64),
        responseStatus: 201,
        responseBody: {},
        createdAt: old,
      })),
    });
    await server.db.idempotencyKey.create({
      data: {
        userId: user.id,
        key: 'fresh',
        requestHash: '0'.repeat(64),
        responseStatus: 201,
        responseBody: {},
      },
    });
    await server.db.session.createMany({
      data: [
        { userId: user.id, expiresAt: old },
        { userId: user.id, expiresAt: new Date(Date.now() + 86_400_000), revokedAt: old },
      ],
    });
    await server.db.taskChange.create({
      data: { userId: user.id, type: 'task.deleted', taskId: user.id, occurredAt: old },
    });
    // Expired tokens stay listed for 30 days, then go.
    const recentlyExpired = new Date(Date.now() - 86_400_000);
    await server.db.personalAccessToken.createMany({
      data: [old, recentlyExpired].map((expiresAt, index) => ({
        userId: user.id,
        name: `expired ${index}`,
        scopes: ['tasks:read'],
        tokenHash: String(index).repeat(64),
        expiresAt,
      })),
    });
    const sessionsBefore = await server.db.session.count({ where: { userId: user.id } });

    for (const job of [
      'housekeeping:idempotency-keys',
      'housekeeping:sessions',
      'housekeeping:changes',
      'housekeeping:webhook-deliveries',
      'housekeeping:access-tokens',
    ]) {
      await server.db.$executeRaw`SELECT graphile_worker.add_job(${job})`;
    }
    await eventually(
      () => server.db.idempotencyKey.count({ where: { userId: user.id } }),
      (count) => count === 1,
    );
    await eventually(
      () => server.db.session.count({ where: { userId: user.id } }),
      (count) => count === sessionsBefore - 2,
    );
    await eventually(
      () => server.db.taskChange.count({ where: { userId: user.id, occurredAt: old } }),
      (count) => count === 0,
    );
    await eventually(
      () => server.db.personalAccessToken.findMany({ where: { userId: user.id } }),
      (tokens) => tokens.length === 1 && tokens[0]?.name === 'expired 1',
    );
    // Each runs on its own schedule, registered by the workers.
    const schedules = await server.db.$queryRaw<{ identifier: string }[]>`
      SELECT identifier FROM graphile_worker._private_known_crontabs ORDER BY identifier`;
    expect(schedules.map((row) => row.identifier)).toEqual([
      'housekeeping:access-tokens',
      'housekeeping:changes',
      'housekeeping:idempotency-keys',
      'housekeeping:sessions',
      'housekeeping:webhook-deliveries',
    ]);
  });
});

describe('the URL policy without WEBHOOK_ALLOW_PRIVATE_URLS', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['http://hooks.example.com/x', /https/],
    ['https://127.0.0.1/x', /not allowed|private|loopback/],
    ['https://10.0.0.7/x', /not allowed|private/],
    ['https://169.254.169.254/latest/meta-data', /not allowed|link-local|private/],
    ['https://[::ffff:10.0.0.1]/x', /not allowed|private/],
    ['https://localhost/x', /not allowed|private|loopback/],
  ])('refuses %s', async (url, reason) => {
    const user = await server.signUp();
    const response = await server.request('/webhooks', {
      method: 'POST',
      token: user.token,
      body: { url },
    });
    expect(response.status).toBe(422);
    const problem = (await response.json()) as { errors: { path: string; message: string }[] };
    expect(problem.errors[0]).toMatchObject({ path: 'url' });
    expect(problem.errors[0]?.message).toMatch(reason);
  });
});

describe('a delivery held by a process killed with SIGKILL', () => {
  let database: TestDatabase;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The first attempt never gets an answer: its worker dies holding it.
    receiver = await startWebhookReceiver((index) => (index === 0 ? 'hang' : 200));
  });
  afterAll(async () => {
    await receiver.close();
    await database.drop();
  });

  it('is delivered again, with the same webhook-id, after a restart', async () => {
    const env = {
      ...spawnedTestEnv,
      ...database.serverEnv,
      ...workerEnv,
      WORKER_DEAD_AFTER_MS: '3000',
    };
    const first = await spawnServer(env);
    const request = documentedRequester(first.baseUrl);
    const user = await signUpWith(request);
    await registerWebhook({ request }, user, { url: receiver.url });
    await createTask({ request }, user, { title: 'Survives a crash' });
    await receiver.waitFor(1);
    const held = receiver.delivery(0);
    await first.stop('SIGKILL');

    const second = await spawnServer(env);
    try {
      await receiver.waitFor(2, () => true, 90_000);
      const again = receiver.delivery(1);
      expect(again.headers['webhook-id']).toBe(held.headers['webhook-id']);
      expect(again.body).toBe(held.body);
    } finally {
      await second.stop();
    }
  }, 150_000);
});

describe('a delivery running when its process is told to stop (SIGTERM)', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('goes back to the queue uncounted, and is delivered by the next process', async () => {
    const receiver = await startWebhookReceiver((index) => (index === 0 ? 'hang' : 200));
    const env = {
      ...spawnedTestEnv,
      ...database.serverEnv,
      ...workerEnv,
      // The attempt outlasts the workers' 5 s of grace: shutdown aborts it.
      WEBHOOK_TIMEOUT_MS: '60000',
    };
    const first = await spawnServer(env);
    const request = documentedRequester(first.baseUrl);
    const user = await signUpWith(request);
    const webhook = await registerWebhook({ request }, user, { url: receiver.url });
    await createTask({ request }, user, { title: 'Interrupted' });
    await receiver.waitFor(1);
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await spawnServer(env);
    try {
      await receiver.waitFor(2);
      expect(receiver.delivery(1).headers['webhook-id']).toBe(
        receiver.delivery(0).headers['webhook-id'],
      );
      const [delivery] = await eventually(
        () => deliveriesOf({ request: documentedRequester(second.baseUrl) }, user, webhook.id),
        ([only]) => only?.status === 'succeeded',
      );
      expect(delivery).toMatchObject({ attemptCount: 1, attempts: [{ responseStatus: 200 }] });
    } finally {
      await second.stop();
      await receiver.close();
    }
  }, 120_000);
});

describe('on the embedded database (no DATABASE_URL)', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tasks-jobs-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs the jobs in the API over its one connection, under concurrent writes', async () => {
    const receiver = await startWebhookReceiver();
    const server = await spawnServer({
      DATABASE_URL: undefined,
      NODE_ENV: undefined,
      EMBEDDED_DB_DIR: path.join(dataDir, 'pglite'),
      EMBEDDED_DB_PORT: String(await freePort()),
      BCRYPT_COST: '4',
      LOG_LEVEL: 'warn',
      WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      JOB_POLL_MS: '200',
    });
    try {
      const request = documentedRequester(server.baseUrl);
      const user = await signUpWith(request);
      await registerWebhook({ request }, user, { url: receiver.url });
      const dueAt = new Date(Date.now() + 2_000).toISOString();
      await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          createTask({ request }, user, { title: `Concurrent ${index}`, dueAt }),
        ),
      );
      await receiver.waitFor(20);
      const types = receiver.received.map((delivery) => delivery.json.type);
      expect(types.filter((type) => type === 'task.created')).toHaveLength(10);
      expect(types.filter((type) => type === 'task.due')).toHaveLength(10);
      expect(server.output()).not.toMatch(/error/i);
    } finally {
      await server.stop();
      await receiver.close();
    }
  }, 120_000);

  it('refuses `pnpm worker`: a second process cannot share its one session', async () => {
    const { code, output } = await runToExit(['--import', 'tsx', 'src/worker.ts'], {
      DATABASE_URL: undefined,
      NODE_ENV: undefined,
      EMBEDDED_DB_DIR: path.join(dataDir, 'worker-pglite'),
      EMBEDDED_DB_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    });
    expect(code).toBe(1);
    expect(output).toContain('pnpm worker needs a PostgreSQL server (DATABASE_URL)');
  }, 60_000);
});
