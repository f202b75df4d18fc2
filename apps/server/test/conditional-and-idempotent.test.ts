import type { AppRouter } from '@tasks/api';
import type { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type SignedUpUser, type TestServer } from './harness.js';

let server: TestServer;
let user: SignedUpUser;

beforeAll(async () => {
  server = await startTestServer();
  user = await server.signUp();
});
afterAll(() => server.close());

interface Task {
  id: string;
  title: string;
  version: number;
}

async function createTask(title: string, headers: Record<string, string> = {}) {
  const response = await server.request('/tasks', {
    method: 'POST',
    token: user.token,
    body: { title },
    headers,
  });
  return { response, task: (await response.json()) as Task };
}

const patch = (id: string, body: object, ifMatch?: string) =>
  server.request(`/tasks/${id}`, {
    method: 'PATCH',
    token: user.token,
    body,
    headers: ifMatch === undefined ? {} : { 'if-match': ifMatch },
  });

describe('ETag and If-Match', () => {
  it('tags every task response with its version', async () => {
    const { response, task } = await createTask('tagged');
    expect(response.headers.get('etag')).toBe('"1"');
    const read = await server.request(`/tasks/${task.id}`, { token: user.token });
    expect(read.headers.get('etag')).toBe('"1"');
    const changed = await patch(task.id, { title: 'retagged' });
    expect(changed.headers.get('etag')).toBe('"2"');
    expect(await changed.json()).toMatchObject({ version: 2 });
  });

  it('lets only the first of two clients holding the same ETag change the task', async () => {
    const { task, response } = await createTask('contended');
    const etag = response.headers.get('etag') ?? '';
    const first = await patch(task.id, { title: 'first writer' }, etag);
    expect(first.status).toBe(200);
    const second = await patch(task.id, { title: 'second writer' }, etag);
    expect(second.status).toBe(412);
    expect(await second.json()).toMatchObject({ code: 'PRECONDITION_FAILED', status: 412 });
    const now = (await (
      await server.request(`/tasks/${task.id}`, { token: user.token })
    ).json()) as Task;
    expect(now.title).toBe('first writer');
  });

  it('guards DELETE the same way, and accepts * as any version', async () => {
    const { task } = await createTask('to delete');
    await patch(task.id, { status: 'done' });
    const stale = await server.request(`/tasks/${task.id}`, {
      method: 'DELETE',
      token: user.token,
      headers: { 'if-match': '"1"' },
    });
    expect(stale.status).toBe(412);
    const fresh = await server.request(`/tasks/${task.id}`, {
      method: 'DELETE',
      token: user.token,
      headers: { 'if-match': '"2"' },
    });
    expect(fresh.status).toBe(204);
    const { task: other } = await createTask('any version');
    expect((await patch(other.id, { title: 'x' }, '*')).status).toBe(200);
  });

  it('answers 404, not 412, for a missing task, and 422 for a malformed If-Match', async () => {
    const missing = await patch('01963a5e-7c1a-7b4e-9f35-2f9c1d7e8a10', { title: 'x' }, '"1"');
    expect(missing.status).toBe(404);
    const { task } = await createTask('malformed');
    const malformed = await patch(task.id, { title: 'x' }, 'W/"1"');
    expect(malformed.status).toBe(422);
    expect(await malformed.json()).toMatchObject({
      errors: [expect.objectContaining({ path: 'If-Match' })],
    });
  });

  it('ignores a version smuggled into the body: only If-Match conditions REST writes', async () => {
    const { task } = await createTask('body version');
    expect((await patch(task.id, { title: 'y', expectedVersion: 99 })).status).toBe(200);
  });

  it('takes the expected version as input on /trpc', async () => {
    const client = server.trpc(user.token);
    const created = await client.tasks.create.mutate({ title: 'trpc versioned' });
    await client.tasks.update.mutate({ id: created.id, title: 'v2', expectedVersion: 1 });
    const stale = await client.tasks.update
      .mutate({ id: created.id, title: 'v3', expectedVersion: 1 })
      .catch((error: unknown) => error);
    expect((stale as TRPCClientError<AppRouter>).data).toMatchObject({
      code: 'PRECONDITION_FAILED',
      httpStatus: 412,
    });
  });

  it('refuses a version beyond the 4-byte column with 422, on change and delete alike', async () => {
    const client = server.trpc(user.token);
    const created = await client.tasks.create.mutate({ title: 'huge version' });
    const expectedVersion = 2 ** 31;
    for (const attempt of [
      client.tasks.update.mutate({ id: created.id, title: 'x', expectedVersion }),
      client.tasks.delete.mutate({ id: created.id, expectedVersion }),
    ]) {
      const error = await attempt.catch((caught: unknown) => caught);
      expect((error as TRPCClientError<AppRouter>).data).toMatchObject({
        code: 'VALIDATION_FAILED',
        httpStatus: 422,
      });
    }
    expect(await client.tasks.get.query({ id: created.id })).toMatchObject({ version: 1 });
  });
});

describe('Idempotency-Key on POST /tasks', () => {
  it('replays the first response for a retry with the same body', async () => {
    const key = { 'idempotency-key': `retry-${Date.now()}` };
    const first = await createTask('pay once', key);
    const retry = await createTask('pay once', key);
    expect(retry.response.status).toBe(201);
    expect(retry.task).toEqual(first.task);
    expect(retry.response.headers.get('location')).toBe(first.response.headers.get('location'));
    expect(await server.db.task.count({ where: { title: 'pay once' } })).toBe(1);
  });

  it('refuses the same key with another body: 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const key = { 'idempotency-key': `reuse-${Date.now()}` };
    await createTask('original', key);
    const reused = await createTask('something else', key);
    expect(reused.response.status).toBe(422);
    expect(reused.task).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('keeps keys per user', async () => {
    const other = await server.signUp();
    const key = `shared-${Date.now()}`;
    await createTask('mine', { 'idempotency-key': key });
    const theirs = await server.request('/tasks', {
      method: 'POST',
      token: other.token,
      body: { title: 'theirs' },
      headers: { 'idempotency-key': key },
    });
    expect(theirs.status).toBe(201);
    expect(await theirs.json()).toMatchObject({ title: 'theirs' });
  });

  it('works on /trpc through the idempotencyKey input', async () => {
    const client = server.trpc(user.token);
    const idempotencyKey = `trpc-${Date.now()}`;
    const [a, b] = await Promise.all([
      client.tasks.create.mutate({ title: 'trpc once', idempotencyKey }),
      client.tasks.create.mutate({ title: 'trpc once', idempotencyKey }),
    ]);
    expect(a).toEqual(b);
    expect(a.createdAt).toBeInstanceOf(Date);
    expect(await server.db.task.count({ where: { title: 'trpc once' } })).toBe(1);
  });
});

describe('listing over REST', () => {
  it('takes repeated status, q, sort and order from the query string', async () => {
    const lister = await server.signUp();
    for (const [title, status] of [
      ['b red', 'open'],
      ['a red', 'done'],
      ['c blue', 'done'],
    ] as const) {
      await server.request('/tasks', {
        method: 'POST',
        token: lister.token,
        body: { title, status },
      });
    }
    const response = await server.request(
      '/tasks?status=done&status=open&q=RED&sort=title&order=asc',
      {
        token: lister.token,
      },
    );
    const page = (await response.json()) as { items: Task[] };
    expect(page.items.map((task) => task.title)).toEqual(['a red', 'b red']);
    const bad = await server.request('/tasks?sort=priority', { token: lister.token });
    expect(bad.status).toBe(422);
  });
});
