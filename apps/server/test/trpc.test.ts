import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from '@tasks/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

let server: TestServer;
const password = 'correct horse battery';

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

async function signUpOverTrpc(email: string) {
  await server.trpc().auth.register.mutate({ email, password });
  const { accessToken } = await server.trpc().auth.login.mutate({ email, password });
  return server.trpc(accessToken);
}

function errorData(error: unknown) {
  expect(error).toBeInstanceOf(TRPCClientError);
  return (error as TRPCClientError<AppRouter>).data;
}

describe('/trpc with a real @trpc/client', () => {
  it('runs register, login and the tasks lifecycle with Date objects through superjson', async () => {
    const client = await signUpOverTrpc('trpc-ann@example.com');
    expect(await client.auth.me.query()).toMatchObject({
      email: 'trpc-ann@example.com',
      createdAt: expect.any(Date),
    });

    const task = await client.tasks.create.mutate({ title: 'Over tRPC', description: 'typed' });
    expect(task.createdAt).toBeInstanceOf(Date);
    expect(await client.tasks.get.query({ id: task.id })).toEqual(task);

    const updated = await client.tasks.update.mutate({ id: task.id, status: 'in_progress' });
    expect(updated.status).toBe('in_progress');

    const page = await client.tasks.list.query({ limit: 5 });
    expect(page.items[0]).toEqual(updated);

    await client.tasks.delete.mutate({ id: task.id });
    const missing = await client.tasks.get.query({ id: task.id }).catch((error: unknown) => error);
    expect(errorData(missing)).toMatchObject({ code: 'TASK_NOT_FOUND', httpStatus: 404 });
  });

  it('batches several calls into one HTTP request', async () => {
    const client = await signUpOverTrpc('trpc-batch@example.com');
    const [a, b] = await Promise.all([
      client.tasks.create.mutate({ title: 'a' }),
      client.tasks.create.mutate({ title: 'b' }),
    ]);
    const [readA, readB, me] = await Promise.all([
      client.tasks.get.query({ id: a.id }),
      client.tasks.get.query({ id: b.id }),
      client.auth.me.query(),
    ]);
    expect([readA.title, readB.title, me.email]).toEqual(['a', 'b', 'trpc-batch@example.com']);
  });

  it('carries the catalogue code, status and field errors in error.data, without a stack', async () => {
    const client = await signUpOverTrpc('trpc-errors@example.com');
    const invalid = await client.tasks.create
      .mutate({ title: '' })
      .catch((error: unknown) => error);
    const data = errorData(invalid);
    expect(data).toMatchObject({
      code: 'VALIDATION_FAILED',
      httpStatus: 422,
      errors: [expect.objectContaining({ path: 'title', code: 'too_small' })],
      requestId: expect.any(String),
    });
    expect(JSON.stringify(data)).not.toContain('stack');

    const anonymous = await server
      .trpc()
      .tasks.list.query({})
      .catch((error: unknown) => error);
    expect(errorData(anonymous)).toMatchObject({ code: 'UNAUTHENTICATED', httpStatus: 401 });

    const taken = await server
      .trpc()
      .auth.register.mutate({ email: 'TRPC-errors@example.com', password })
      .catch((error: unknown) => error);
    expect(errorData(taken)).toMatchObject({ code: 'EMAIL_TAKEN', httpStatus: 409 });
  });

  it("answers another user's task with TASK_NOT_FOUND on every procedure", async () => {
    const owner = await signUpOverTrpc('trpc-owner@example.com');
    const intruder = await signUpOverTrpc('trpc-intruder@example.com');
    const task = await owner.tasks.create.mutate({ title: 'mine' });
    // All three are sent at once (the link batches them), so each rejection is caught where it
    // is made: awaiting them one by one would leave a later one unhandled if it settles first.
    const errors = await Promise.all(
      [
        intruder.tasks.get.query({ id: task.id }),
        intruder.tasks.update.mutate({ id: task.id, title: 'stolen' }),
        intruder.tasks.delete.mutate({ id: task.id }),
      ].map((attempt) => attempt.catch((error: unknown) => error)),
    );
    for (const error of errors) {
      expect(errorData(error)).toMatchObject({
        code: 'TASK_NOT_FOUND',
        httpStatus: 404,
      });
    }
    expect(await owner.tasks.get.query({ id: task.id })).toEqual(task);
  });

  it('does not coerce strings into numbers on /trpc after REST calls', async () => {
    const { token } = await server.signUp();
    await server.request('/tasks?limit=5', { token });
    const client = server.trpc(token);
    const coerced = await client.tasks.list
      .query({ limit: '5' as unknown as number })
      .catch((error: unknown) => error);
    expect(errorData(coerced)).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('/trpc requests tRPC itself refuses', () => {
  const post = (path: string, body: string) =>
    fetch(`${server.baseUrl}/trpc/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });

  it.each([
    ['a body that is not JSON', 'auth.login', '{"json":', 400, 'MALFORMED_JSON'],
    ['a null body', 'auth.login', 'null', 400, 'MALFORMED_JSON'],
    [
      'a batch body that is not an object',
      'auth.login,auth.register?batch=1',
      '[1,2]',
      400,
      'MALFORMED_JSON',
    ],
    ['an unknown procedure', 'tasks.explode', '{}', 404, 'ROUTE_NOT_FOUND'],
  ])('answers %s with a catalogue error, not a 500', async (_, path, body, status, code) => {
    const response = await post(path, body);
    expect(response.status).toBe(status);
    const text = await response.text();
    expect(text).toContain(`"code":"${code}"`);
    expect(text).not.toMatch(/INTERNAL|stack/);
  });
});
