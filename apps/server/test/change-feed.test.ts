/**
 * The change feed on both doors against real servers: two instances on one PostgreSQL (a change
 * written through B reaches A's streams), resumption from a cursor after an instance goes away,
 * isolation between users, the end of a stream when its authorization ends, and the limits.
 */
import type { AppRouter } from '@tasks/api';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
} from '@trpc/client';
import { once } from 'node:events';
import { connect } from 'node:net';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openEventStream,
  type EventStreamReader,
  type StreamEvent,
} from './event-stream-reader.js';
import { startTestServer, type SignedUpUser, type TestServer } from './harness.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

interface Change {
  id: string;
  type: string;
  taskId: string;
  task: { title: string; version: number } | null;
}

const feedEnv = { STREAM_HEARTBEAT_MS: '200', MAX_STREAMS_PER_USER: '3' };

function subscriptionClient(baseUrl: string, token: string): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (operation) => operation.type === 'subscription',
        true: httpSubscriptionLink({
          url: `${baseUrl}/trpc`,
          transformer: superjson,
          EventSource,
          // The token travels in a header: EventSource's fetch is ours to extend.
          eventSourceOptions: () => ({
            fetch: (input, init) =>
              fetch(input, {
                ...init,
                headers: { ...init.headers, authorization: `Bearer ${token}` },
              }),
          }),
        }),
        false: httpBatchLink({
          url: `${baseUrl}/trpc`,
          transformer: superjson,
          headers: { authorization: `Bearer ${token}` },
        }),
      }),
    ],
  });
}

const bearer = (user: SignedUpUser) => ({ authorization: `Bearer ${user.token}` });

async function currentCursor(server: TestServer, user: SignedUpUser): Promise<string> {
  const response = await server.request('/tasks/changes', { token: user.token });
  const page = (await response.json()) as { items: unknown[]; nextCursor: string };
  expect(page.items).toEqual([]);
  return page.nextCursor;
}

function openStream(server: TestServer, user: SignedUpUser, lastEventId?: string) {
  return openEventStream(`${server.baseUrl}/tasks/events`, {
    ...bearer(user),
    ...(lastEventId && { 'last-event-id': lastEventId }),
  });
}

/** Create, rename, delete one task through `server`: three changes. */
async function createUpdateDelete(server: TestServer, user: SignedUpUser, title: string) {
  const created = await server.request('/tasks', {
    method: 'POST',
    token: user.token,
    body: { title },
  });
  const { id } = (await created.json()) as { id: string };
  await server.request(`/tasks/${id}`, {
    method: 'PATCH',
    token: user.token,
    body: { title: `${title} (renamed)` },
  });
  await server.request(`/tasks/${id}`, { method: 'DELETE', token: user.token });
  return id;
}

async function nextEvents(stream: EventStreamReader, count: number): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  while (events.length < count) events.push(await stream.next());
  return events;
}

const redisUrl = process.env.REDIS_URL;
const signals: { signal: string; env: Record<string, string>; missing?: string | undefined }[] = [
  { signal: 'notify', env: {} },
  { signal: 'poll', env: { CHANGE_POLL_MS: '100' } },
  {
    signal: 'redis',
    env: { REDIS_URL: redisUrl ?? '', RATE_LIMIT_REDIS_PREFIX: `feed-test-${process.pid}:` },
    missing: redisUrl ? undefined : 'REDIS_URL is not set (REDIS_URL=redis://127.0.0.1:6379)',
  },
];

describe.each(signals)(
  'two instances on one database, woken by $signal',
  ({ signal, env, missing }) => {
    let a: TestServer;
    let b: TestServer;
    beforeAll(async () => {
      if (missing) return;
      const instanceEnv = { ...feedEnv, ...env, CHANGE_SIGNAL: signal };
      a = await startTestServer(instanceEnv);
      b = await startTestServer(instanceEnv, { database: a.database });
    });
    afterAll(async () => {
      if (missing) return;
      await b.close();
      await a.close();
    });

    it("delivers B's create, update and delete in order on A's REST stream and tRPC subscription", async (context) => {
      context.skip(missing !== undefined, missing);
      const user = await a.signUp();
      const cursor = await currentCursor(a, user);
      const rest = await openStream(a, user, cursor);
      expect(rest.status).toBe(200);
      expect(rest.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const viaTrpc: Change[] = [];
      const subscription = subscriptionClient(a.baseUrl, user.token).tasks.onChange.subscribe(
        { lastEventId: cursor },
        { onData: ({ data }) => viaTrpc.push(data as Change) },
      );
      try {
        const taskId = await createUpdateDelete(b, user, 'Seen everywhere');

        const events = await nextEvents(rest, 3);
        expect(events.map(({ event }) => event)).toEqual([
          'task.created',
          'task.updated',
          'task.deleted',
        ]);
        const changes = events.map(({ data }) => data as Change);
        expect(changes.map(({ taskId: id }) => id)).toEqual([taskId, taskId, taskId]);
        expect(changes.map(({ task }) => task?.title ?? null)).toEqual([
          'Seen everywhere',
          'Seen everywhere (renamed)',
          null,
        ]);
        // Each event's id is its change's cursor.
        expect(events.map(({ id }) => id)).toEqual(changes.map(({ id }) => id));

        await expect.poll(() => viaTrpc.length, { timeout: 5_000 }).toBe(3);
        expect(viaTrpc.map(({ id }) => id)).toEqual(changes.map(({ id }) => id));
      } finally {
        subscription.unsubscribe();
        rest.close();
      }
    });

    it('shows a user none of the changes of another, on any door', async (context) => {
      context.skip(missing !== undefined, missing);
      const [owner, stranger] = [await a.signUp(), await a.signUp()];
      const cursor = await currentCursor(a, stranger);
      const strangerStream = await openStream(a, stranger, cursor);
      try {
        await createUpdateDelete(b, owner, 'Private');
        const page = await a.request(`/tasks/changes?since=${cursor}`, { token: stranger.token });
        expect(((await page.json()) as { items: unknown[] }).items).toEqual([]);
        const viaTrpc = await a.trpc(stranger.token).tasks.changes.query({ since: cursor });
        expect(viaTrpc.items).toEqual([]);
        // The stranger's stream stays silent (heartbeats aside) while the owner's changes land.
        await expect(strangerStream.next(1_000)).rejects.toThrow(/no event/);
        expect(strangerStream.comments).toContain('heartbeat');
      } finally {
        strangerStream.close();
      }
    });
  },
);

describe('resuming', () => {
  it('gets exactly the changes after the last event once its instance is gone', async () => {
    const a = await startTestServer(feedEnv);
    const b = await startTestServer(feedEnv, { database: a.database });
    try {
      const user = await a.signUp();
      const stream = await openStream(a, user, await currentCursor(a, user));
      await b.request('/tasks', { method: 'POST', token: user.token, body: { title: 'Before' } });
      const last = await stream.next();

      // A shuts down: its streams end with a reconnection hint.
      await a.app.close();
      await stream.ended;
      expect(stream.retries.length).toBeGreaterThanOrEqual(2);

      const taskId = await createUpdateDelete(b, user, 'While away');
      const resumed = await openStream(b, user, last.id);
      const events = await nextEvents(resumed, 3);
      expect(events.map(({ data }) => (data as Change).taskId)).toEqual([taskId, taskId, taskId]);
      expect(new Set(events.map(({ id }) => id)).size).toBe(3);
      await expect(resumed.next(500)).rejects.toThrow(/no event/);
      resumed.close();

      // The same three through the page, from the same cursor.
      const page = await b.request(`/tasks/changes?since=${last.id ?? ''}`, { token: user.token });
      const { items } = (await page.json()) as { items: Change[] };
      expect(items.map(({ id }) => id)).toEqual(events.map(({ id }) => id));
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe('a database outage', () => {
  it('pauses a stream, which resumes when the database is back, with nothing lost', async () => {
    let proxy: TcpProxy | undefined;
    const a = await startTestServer(
      { ...feedEnv, DB_CONNECT_TIMEOUT_MS: '500', DB_QUERY_TIMEOUT_MS: '11000' },
      {
        appDatabaseUrl: async (url) => {
          proxy = await startTcpProxy(url);
          return proxy.url;
        },
      },
    );
    const b = await startTestServer(feedEnv, { database: a.database });
    try {
      const user = await b.signUp();
      const stream = await openStream(a, user, await currentCursor(b, user));
      await proxy?.cut();
      for (const title of ['Written', 'while A was cut off']) {
        await b.request('/tasks', { method: 'POST', token: user.token, body: { title } });
      }
      // A's stream keeps trying (each heartbeat) and stays open; nothing arrives yet.
      await expect(stream.next(1_000)).rejects.toThrow(/no event/);
      await proxy?.restore();
      const events = await nextEvents(stream, 2);
      expect(events.map(({ data }) => (data as Change).task?.title)).toEqual([
        'Written',
        'while A was cut off',
      ]);
      stream.close();
    } finally {
      await b.close();
      await a.close();
      await proxy?.close();
    }
  });
});

describe('the limits of one instance', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ...feedEnv, MAX_STREAMS: '2', STREAM_SLOW_CLIENT_MS: '500' });
  });
  afterAll(() => server.close());

  it('serves at most MAX_STREAMS streams, whoever opens them, then 503', async () => {
    const [first, second, third] = [
      await server.signUp(),
      await server.signUp(),
      await server.signUp(),
    ];
    const open = [await openStream(server, first), await openStream(server, second)];
    expect(open.map(({ status }) => status)).toEqual([200, 200]);
    const refused = await openStream(server, third);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    refused.close();
    for (const stream of open) stream.close();
  });

  it('drops a client that stops reading, instead of holding its changes', async () => {
    const [slow, other] = [await server.signUp(), await server.signUp()];
    const cursor = await currentCursor(server, slow);
    const socket = connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `GET /tasks/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${slow.token}\r\nLast-Event-ID: ${cursor}\r\n\r\n`,
    );
    // Reads nothing from here on (and so never sees the server hang up): what it is sent
    // backs up in the socket buffers until the server gives up on it.
    socket.pause();
    const held = await openStream(server, other);
    expect(held.status).toBe(200);
    // The instance is full: the slow client holds the other place.
    const full = await openStream(server, other);
    expect(full.status).toBe(503);
    full.close();

    const description = 'x'.repeat(2_000);
    for (let batch = 0; batch < 10; batch += 1) {
      await server.db.task.createMany({
        data: Array.from({ length: 500 }, (_, index) => ({
          ownerId: slow.id,
          title: `Bulk ${batch}-${index}`,
          description,
        })),
      });
    }
    // Its place frees once the server has dropped it.
    await expect
      .poll(
        async () => {
          const again = await openStream(server, other);
          again.close();
          return again.status;
        },
        { timeout: 30_000, interval: 250 },
      )
      .toBe(200);
    held.close();
    socket.destroy();
  }, 60_000);
});

describe('one instance', () => {
  let server: TestServer;
  const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };
  beforeAll(async () => {
    server = await startTestServer(
      { ...feedEnv, ACCESS_TOKEN_TTL_SECONDS: '60', TASK_QUOTA_PER_USER: '2' },
      { clock },
    );
  });
  afterAll(() => server.close());

  it('answers a page without a cursor with the current cursor, and refuses a bad one', async () => {
    const user = await server.signUp();
    await currentCursor(server, user);
    const bad = await server.request('/tasks/changes?since=not-a-cursor', { token: user.token });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ errors: [{ path: 'since', code: 'invalid_cursor' }] });
  });

  it('records nothing for a write that did not happen', async () => {
    const user = await server.signUp();
    const cursor = await currentCursor(server, user);
    for (const title of ['One', 'Two', 'Over the quota']) {
      await server.request('/tasks', { method: 'POST', token: user.token, body: { title } });
    }
    const page = await server.request(`/tasks/changes?since=${cursor}`, { token: user.token });
    const { items } = (await page.json()) as { items: Change[] };
    expect(items.map(({ task }) => task?.title)).toEqual(['One', 'Two']);
  });

  it('ends the stream with an error event when the session is revoked', async () => {
    const user = await server.signUp();
    const stream = await openStream(server, user);
    await server.request('/auth/logout', {
      method: 'POST',
      body: { refreshToken: user.refreshToken },
    });
    const ending = await stream.next();
    expect(ending).toMatchObject({
      event: 'error',
      data: { code: 'UNAUTHENTICATED', status: 401 },
    });
    await stream.ended;
  });

  it('ends the stream when the access token expires', async () => {
    const user = await server.signUp();
    const stream = await openStream(server, user);
    clock.offsetMs = 61_000;
    try {
      expect(await stream.next()).toMatchObject({
        event: 'error',
        data: { code: 'UNAUTHENTICATED' },
      });
      await stream.ended;
    } finally {
      clock.offsetMs = 0;
    }
  });

  it('refuses a cursor older than retention with 410 on both doors', async () => {
    const user = await server.signUp();
    const cursor = await currentCursor(server, user);
    clock.offsetMs = 8 * 86_400_000;
    try {
      // A token issued at the time the server now reads.
      const fresh = await server.request('/auth/login', {
        method: 'POST',
        body: { email: user.email, password: 'correct horse battery' },
      });
      const { accessToken } = (await fresh.json()) as { accessToken: string };
      const page = await server.request(`/tasks/changes?since=${cursor}`, { token: accessToken });
      expect(page.status).toBe(410);
      expect(await page.json()).toMatchObject({ code: 'CHANGES_EXPIRED' });
      const stream = await openEventStream(`${server.baseUrl}/tasks/events?since=${cursor}`, {
        authorization: `Bearer ${accessToken}`,
      });
      expect(stream.status).toBe(410);
      stream.close();
    } finally {
      clock.offsetMs = 0;
    }
  });

  it('answers 401 before a stream starts, and caps the streams of one account', async () => {
    const refused = await openEventStream(`${server.baseUrl}/tasks/events`, {});
    expect(refused.status).toBe(401);
    refused.close();

    const user = await server.signUp();
    const open = await Promise.all([1, 2, 3].map(() => openStream(server, user)));
    expect(open.map(({ status }) => status)).toEqual([200, 200, 200]);
    const fourth = await openStream(server, user);
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('retry-after')).not.toBeNull();
    fourth.close();

    // A closed stream frees its place.
    open[0]?.close();
    await expect
      .poll(async () => {
        const again = await openStream(server, user);
        again.close();
        return again.status;
      })
      .toBe(200);
    for (const stream of open) stream.close();
  });
});
