import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../../../apps/server/test/harness.js';
import { createTasksClient, isTasksClientError, type TasksClientOptions } from '../src/index.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

function clientFor(options: Omit<TasksClientOptions, 'url'>) {
  return createTasksClient({ url: `${server.baseUrl}/trpc`, ...options });
}

/** Counts the HTTP requests the client sends to /trpc (one per batch). */
function countTrpcRequests() {
  const fetchSpy = vi.spyOn(globalThis, 'fetch');
  return () =>
    fetchSpy.mock.calls.filter(([input]) => {
      const url = input instanceof Request ? input.url : String(input);
      return url.includes('/trpc/');
    }).length;
}

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isTasksClientError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('createTasksClient', () => {
  it('signs up and creates, lists, updates and deletes tasks, with Dates', async () => {
    const anonymous = clientFor({ getAccessToken: () => null });
    const email = `client-${Date.now()}@example.com`;
    const user = await anonymous.auth.register.mutate({ email, password: 'correct horse battery' });
    expect(user.createdAt).toBeInstanceOf(Date);
    const { accessToken } = await anonymous.auth.login.mutate({
      email,
      password: 'correct horse battery',
    });

    const client = clientFor({ getAccessToken: () => accessToken });
    const created = await client.tasks.create.mutate({ title: 'Write the report' });
    expect(created).toMatchObject({ title: 'Write the report', status: 'open', version: 1 });
    expect(created.createdAt).toBeInstanceOf(Date);

    const page = await client.tasks.list.query({ limit: 10 });
    expect(page.items.map((task) => task.id)).toEqual([created.id]);
    expect(page.items[0]?.updatedAt).toBeInstanceOf(Date);

    const updated = await client.tasks.update.mutate({
      id: created.id,
      status: 'done',
      expectedVersion: created.version,
    });
    expect(updated).toMatchObject({ status: 'done', version: 2 });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());

    await client.tasks.delete.mutate({ id: created.id });
    expect((await client.tasks.list.query({})).items).toEqual([]);
  });

  it('batches calls made together into one request', async () => {
    const { token } = await server.signUp();
    const client = clientFor({ getAccessToken: () => token });
    const requests = countTrpcRequests();
    const tasks = await Promise.all(
      ['one', 'two', 'three'].map((title) => client.tasks.create.mutate({ title })),
    );
    expect(tasks.map((task) => task.title)).toEqual(['one', 'two', 'three']);
    expect(requests()).toBe(1);
  });

  it('hands catalogue errors to the caller with data.code', async () => {
    const { token } = await server.signUp();
    const client = clientFor({ getAccessToken: () => token });

    const notFound = await failure(
      client.tasks.get.query({ id: '01890000-0000-7000-8000-000000000000' }),
    );
    expect(notFound.data).toMatchObject({ code: 'TASK_NOT_FOUND', httpStatus: 404 });

    const invalid = await failure(client.tasks.create.mutate({ title: ' ' }));
    expect(invalid.data?.code).toBe('VALIDATION_FAILED');
    expect(invalid.data?.errors).toEqual([expect.objectContaining({ path: 'title' })]);
  });
});

describe('tasks.onChange', () => {
  it('follows changes live over server-sent events, with the token in a header and Dates', async () => {
    const user = await server.signUp();
    const client = clientFor({ getAccessToken: () => user.token });
    const { nextCursor } = await client.tasks.changes.query({});
    const received: { type: string; occurredAt: Date; title: string | undefined }[] = [];
    const subscription = client.tasks.onChange.subscribe(
      { lastEventId: nextCursor },
      {
        onData: ({ data }) =>
          received.push({ type: data.type, occurredAt: data.occurredAt, title: data.task?.title }),
      },
    );
    try {
      const task = await client.tasks.create.mutate({ title: 'Live' });
      await client.tasks.delete.mutate({ id: task.id });
      await expect.poll(() => received.length, { timeout: 5_000 }).toBe(2);
      expect(received.map(({ type, title }) => [type, title])).toEqual([
        ['task.created', 'Live'],
        ['task.deleted', undefined],
      ]);
      expect(received[0]?.occurredAt).toBeInstanceOf(Date);
    } finally {
      subscription.unsubscribe();
    }
  });
});

describe('token refresh', () => {
  it('refreshes once on a 401 and retries the call with the new token', async () => {
    const user = await server.signUp();
    let accessToken = 'not-a-valid-token';
    const refresh = vi.fn(async () => {
      accessToken = user.token;
      return accessToken;
    });
    const onUnauthorized = vi.fn();
    const client = clientFor({ getAccessToken: () => accessToken, refresh, onUnauthorized });

    const me = await client.auth.me.query();
    expect(me.id).toBe(user.id);
    expect(refresh).toHaveBeenCalledTimes(1);
    await client.auth.me.query();
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it('shares one refresh between concurrent 401s, batched or not', async () => {
    const user = await server.signUp();
    let accessToken = 'not-a-valid-token';
    const refresh = vi.fn(async () => {
      accessToken = user.token;
      return accessToken;
    });
    const client = clientFor({ getAccessToken: () => accessToken, refresh });

    const batched = Promise.all([client.auth.me.query(), client.tasks.list.query({})]);
    // A separate request: its 401 may arrive while the refresh runs or after it has finished.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const separate = client.auth.me.query();

    const [[me, page], meAgain] = await Promise.all([batched, separate]);
    expect(me.id).toBe(user.id);
    expect(page.items).toEqual([]);
    expect(meAgain.id).toBe(user.id);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('rotates through auth.refresh of the same client', async () => {
    const user = await server.signUp();
    let tokens = { accessToken: 'not-a-valid-token', refreshToken: user.refreshToken };
    const client = clientFor({
      getAccessToken: () => tokens.accessToken,
      refresh: async () => {
        tokens = await client.auth.refresh.mutate({ refreshToken: tokens.refreshToken });
        return tokens.accessToken;
      },
    });

    expect((await client.auth.me.query()).id).toBe(user.id);
    expect(tokens.refreshToken).not.toBe(user.refreshToken);
  });

  it('calls onUnauthorized once and fails the calls when the session is revoked', async () => {
    const user = await server.signUp();
    const client = clientFor({
      getAccessToken: () => user.token,
      // The spent refresh token is refused with a 401, which must not trigger another refresh.
      refresh: async () =>
        (await client.auth.refresh.mutate({ refreshToken: user.refreshToken })).accessToken,
      onUnauthorized: vi.fn(),
    });
    const onUnauthorized = vi.fn();
    const revoked = clientFor({
      getAccessToken: () => user.token,
      refresh: async () =>
        (await client.auth.refresh.mutate({ refreshToken: user.refreshToken })).accessToken,
      onUnauthorized,
    });
    await client.auth.logout.mutate({ refreshToken: user.refreshToken });

    const errors = await Promise.all([
      failure(revoked.auth.me.query()),
      failure(revoked.tasks.list.query({})),
    ]);
    expect(errors.map((error) => error.data?.code)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it('calls onUnauthorized when there is no refresh function or it gives up', async () => {
    const onUnauthorized = vi.fn();
    const withoutRefresh = clientFor({ getAccessToken: () => 'not-a-valid-token', onUnauthorized });
    expect((await failure(withoutRefresh.auth.me.query())).data?.httpStatus).toBe(401);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);

    const givingUp = clientFor({
      getAccessToken: () => 'not-a-valid-token',
      refresh: async () => null,
      onUnauthorized,
    });
    expect((await failure(givingUp.tasks.list.query({}))).data?.code).toBe('UNAUTHENTICATED');
    expect(onUnauthorized).toHaveBeenCalledTimes(2);
  });

  it('does not retry a call twice when the refreshed token is refused too', async () => {
    const refresh = vi.fn(async () => 'still-not-valid');
    const client = clientFor({ getAccessToken: () => 'not-a-valid-token', refresh });
    expect((await failure(client.auth.me.query())).data?.code).toBe('UNAUTHENTICATED');
    expect(refresh).toHaveBeenCalledTimes(1);
  });
});
