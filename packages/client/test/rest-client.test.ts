import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../apps/server/test/harness.js';
import { createTasksRestClient } from '../src/rest/index.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

// Types generated from the committed document drive real requests: if the document lied about a
// path, a parameter or a body, this would not compile or would fail here.
it('registers, signs in and manages tasks through the generated REST client', async () => {
  const anonymous = createTasksRestClient(server.baseUrl);
  const credentials = {
    email: `rest-client-${Date.now()}@example.com`,
    password: 'correct horse battery',
  };
  const registered = await anonymous.POST('/auth/register', { body: credentials });
  expect(registered.response.status).toBe(201);
  expect(registered.data?.email).toBe(credentials.email);

  const login = await anonymous.POST('/auth/login', { body: credentials });
  if (!login.data) throw new Error(`login failed: ${login.response.status}`);
  const api = createTasksRestClient(server.baseUrl, login.data.accessToken);

  const created = [];
  for (const title of ['first', 'second', 'third']) {
    const { data, response } = await api.POST('/tasks', { body: { title } });
    expect(response.status).toBe(201);
    if (!data) throw new Error('no task in the 201 body');
    expect(response.headers.get('location')).toBe(`/tasks/${data.id}`);
    created.push(data);
  }
  expect(typeof created[0]?.createdAt).toBe('string');

  const firstPage = await api.GET('/tasks', { params: { query: { limit: 2 } } });
  expect(firstPage.data?.items.map((task) => task.title)).toEqual(['third', 'second']);
  const cursor = firstPage.data?.nextCursor;
  if (!cursor) throw new Error('expected a second page');
  const secondPage = await api.GET('/tasks', { params: { query: { limit: 2, cursor } } });
  expect(secondPage.data).toEqual({
    items: [expect.objectContaining({ title: 'first' })],
    nextCursor: null,
  });

  const id = created[0]?.id ?? '';
  const read = await api.GET('/tasks/{id}', { params: { path: { id } } });
  const etag = read.response.headers.get('etag');
  expect(etag).toBe('"1"');
  const updated = await api.PATCH('/tasks/{id}', {
    params: { path: { id }, header: { 'If-Match': etag ?? '' } },
    body: { status: 'done' },
  });
  expect(updated.data).toMatchObject({ status: 'done', version: 2 });
  expect(updated.response.headers.get('etag')).toBe('"2"');

  const stale = await api.DELETE('/tasks/{id}', {
    params: { path: { id }, header: { 'If-Match': etag ?? '' } },
  });
  expect(stale.response.status).toBe(412);
  expect(stale.error).toMatchObject({ code: 'PRECONDITION_FAILED', status: 412 });

  const deleted = await api.DELETE('/tasks/{id}', {
    params: { path: { id }, header: { 'If-Match': '"2"' } },
  });
  expect(deleted.response.status).toBe(204);
  const gone = await api.GET('/tasks/{id}', { params: { path: { id } } });
  expect(gone.error).toMatchObject({ code: 'TASK_NOT_FOUND' });
});
