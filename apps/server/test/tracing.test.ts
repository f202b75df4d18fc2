/**
 * Traces as an operator receives them: a server process exporting with the real OpenTelemetry
 * exporter, over HTTP, to a receiver in this test, on a real database.
 */
import { randomBytes } from 'node:crypto';
import type { AppRouter } from '@tasks/api';
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnedTestEnv } from './harness.js';
import {
  describeSpans,
  spanKind,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from './otlp-receiver.js';
import { spawnServer, type SpawnedServer } from './spawn-server.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

let database: TestDatabase;
let receiver: OtlpReceiver;
let webhookReceiver: WebhookReceiver;
let server: SpawnedServer;
let token: string;

const password = 'correct horse battery';

function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.baseUrl}${path}`, {
    method,
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

/** A caller's sampled span, as a W3C `traceparent` header, with fresh ids. */
function callerSpan() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, headers: { traceparent: `00-${traceId}-${spanId}-01` } };
}

function descendantsOf(spans: readonly ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  return spans
    .filter((span) => span.parentSpanId === parent.spanId)
    .flatMap((child) => [child, ...descendantsOf(spans, child)]);
}

const isSql = (span: ReceivedSpan) => span.name.startsWith('pg.query');

/** The job span linked to `traceId` once it arrived, waiting for it as long as it takes. */
async function jobLinkedTo(name: string, traceId: string): Promise<ReceivedSpan> {
  const linked = (span: ReceivedSpan) =>
    span.name === `job ${name}` && span.links.some((link) => link.traceId === traceId);
  const spans = await receiver.waitFor((received) => received.some(linked));
  return spans.find(linked) as ReceivedSpan;
}

beforeAll(async () => {
  [database, receiver, webhookReceiver] = await Promise.all([
    createTestDatabase(),
    startOtlpReceiver(),
    startWebhookReceiver(),
  ]);
  server = await spawnServer({
    ...spawnedTestEnv,
    ...database.serverEnv,
    LOG_LEVEL: 'info',
    JOBS_IN_API: 'true',
    WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    // Exported within moments rather than every 5 s.
    OTEL_BSP_SCHEDULE_DELAY: '50',
  });
  const credentials = { email: 'traced@example.com', password };
  await send('POST', '/auth/register', credentials);
  const login = await send('POST', '/auth/login', credentials);
  ({ accessToken: token } = (await login.json()) as { accessToken: string });
}, 120_000);

afterAll(async () => {
  await server.stop();
  await Promise.all([receiver.close(), webhookReceiver.close(), database.drop()]);
});

describe('with an OTLP endpoint', () => {
  it('traces a /trpc batch as one HTTP span over a span per call, each over its SQL', async () => {
    const created = (await (await send('POST', '/tasks', { title: 'Traced' })).json()) as {
      id: string;
    };
    const trpc = createTRPCClient<AppRouter>({
      links: [
        httpBatchLink({
          url: `${server.baseUrl}/trpc`,
          transformer: superjson,
          headers: { authorization: `Bearer ${token}` },
        }),
      ],
    });
    // One request: the batch link sends the calls of one tick together.
    await Promise.all([
      trpc.tasks.list.query({}),
      trpc.tasks.get.query({ id: created.id }),
      trpc.auth.me.query(),
    ]);

    const procedures = ['auth.me', 'tasks.get', 'tasks.list'];
    const spans = await receiver.waitFor((received) => {
      const me = received.find((span) => span.name === 'auth.me');
      const trace = received.filter((span) => span.traceId === me?.traceId);
      return procedures.every((name) => trace.some((span) => span.name === name));
    });
    const traceId = spans.find((span) => span.name === 'auth.me')?.traceId;
    const trace = spans.filter((span) => span.traceId === traceId);
    const httpSpans = trace.filter((span) => span.kind === spanKind.server);
    expect(
      httpSpans.map((span) => span.name),
      describeSpans(trace),
    ).toEqual(['GET /trpc/*']);
    const [httpSpan] = httpSpans as [ReceivedSpan];
    expect(httpSpan.parentSpanId).toBeUndefined();
    const calls = descendantsOf(trace, httpSpan).filter((span) => span.attributes['rpc.method']);
    expect(calls.map((span) => span.name).sort()).toEqual(procedures);
    for (const call of calls) {
      expect(descendantsOf(trace, call).filter(isSql), call.name).not.toHaveLength(0);
    }
  });

  it("records a failed call's catalogue code on its span", async () => {
    const response = await send('GET', `/tasks/${crypto.randomUUID()}`);
    expect(response.status).toBe(404);
    const failed = (span: ReceivedSpan) =>
      span.name === 'tasks.get' && span.attributes['error.type'] !== undefined;
    const spans = await receiver.waitFor((received) => received.some(failed));
    expect(spans.find(failed)?.attributes['error.type']).toBe('TASK_NOT_FOUND');
  });

  it("continues a caller's trace, and the request's log lines carry its trace id", async () => {
    const caller = callerSpan();
    const response = await send('GET', '/tasks', undefined, caller.headers);
    expect(response.status).toBe(200);
    const requestId = response.headers.get('x-request-id');

    const spans = await receiver.waitFor((received) =>
      received.some((span) => span.traceId === caller.traceId && span.name === 'tasks.list'),
    );
    const httpSpan = spans.find(
      (span) => span.traceId === caller.traceId && span.kind === spanKind.server,
    );
    expect(httpSpan).toMatchObject({ name: 'GET /tasks', parentSpanId: caller.spanId });

    const lines = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { reqId?: string; msg: string; traceId?: string });
    const ofRequest = lines.filter((line) => line.reqId === requestId);
    expect(ofRequest.map((line) => line.msg)).toContain('request');
    for (const line of ofRequest) expect(line.traceId).toBe(caller.traceId);
  });

  it('links the mail jobs a request enqueues to its trace', async () => {
    const reset = callerSpan();
    const forgot = await send(
      'POST',
      '/auth/password/forgot',
      { email: 'traced@example.com' },
      {
        ...reset.headers,
      },
    );
    expect(forgot.status).toBe(202);
    const resetJob = await jobLinkedTo('mail:password-reset', reset.traceId);
    expect(resetJob.kind).toBe(spanKind.consumer);

    // Enqueued by a trigger on the new account's row.
    const registration = callerSpan();
    const registered = await send(
      'POST',
      '/auth/register',
      { email: 'registered@example.com', password },
      registration.headers,
    );
    expect(registered.status).toBe(201);
    await jobLinkedTo('mail:email-verification', registration.traceId);
  });

  it("links a webhook delivery to the write that caused it, with the receiver's answer", async () => {
    expect((await send('POST', '/webhooks', { url: webhookReceiver.url })).status).toBe(201);
    const write = callerSpan();
    expect((await send('POST', '/tasks', { title: 'Delivered' }, write.headers)).status).toBe(201);

    const job = await jobLinkedTo('webhook:deliver', write.traceId);
    const spans = await receiver.waitFor((received) =>
      received.some((span) => span.parentSpanId === job.spanId && span.name === 'webhook POST'),
    );
    const post = descendantsOf(spans, job).find((span) => span.name === 'webhook POST');
    expect(post?.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'url.full': webhookReceiver.url,
    });
    expect(descendantsOf(spans, job).filter(isSql)).not.toHaveLength(0);
  });
});

describe('on shutdown', () => {
  it('sends the spans still waiting for their batch before it exits', async () => {
    const stopping = await spawnServer({
      ...spawnedTestEnv,
      ...database.serverEnv,
      MIGRATE_ON_START: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // Far longer than the test: only the flush on exit can send them.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    const caller = callerSpan();
    await fetch(`${stopping.baseUrl}/tasks`, { headers: caller.headers });
    expect(await stopping.stop()).toBe(0);
    await receiver.waitFor((received) =>
      received.some((span) => span.traceId === caller.traceId && span.name === 'GET /tasks'),
    );
  });
});

describe('without an OTLP endpoint', () => {
  /** The server as the tests start it, with a hook that refuses OpenTelemetry's SDK. */
  const startRefusingOpenTelemetry = (env: Record<string, string | undefined>) =>
    spawnServer(
      { ...spawnedTestEnv, ...database.serverEnv, MIGRATE_ON_START: 'false', ...env },
      {
        args: [
          '--import',
          'tsx',
          '--import',
          './test/without-opentelemetry.ts',
          '--import',
          './src/tracing.ts',
          'src/server.ts',
        ],
      },
    );

  it('starts without loading the SDK', async () => {
    const untraced = await startRefusingOpenTelemetry({
      OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
    });
    expect(await untraced.stop()).toBe(0);
  });

  it('(the same hook stops a server that does load it)', async () => {
    await expect(
      startRefusingOpenTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }),
    ).rejects.toThrow(/refused to load (import-in-the-middle|@opentelemetry\/sdk-node)/);
  });
});
