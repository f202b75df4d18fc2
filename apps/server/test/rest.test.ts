import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

let server: TestServer;
let ann: { email: string; token: string };
let bob: { email: string; token: string };

beforeAll(async () => {
  server = await startTestServer();
  ann = await server.signUp();
  bob = await server.signUp();
});
afterAll(() => server.close());

const isoTimestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const unknownId = '01963a5e-7c1a-7b4e-9f35-2f9c1d7e8a10';

async function expectProblem(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = (await response.json()) as Record<string, unknown>;
  expect(problem).toMatchObject({
    status,
    code,
    type: expect.stringMatching(/^\/problems\//),
    title: expect.any(String),
  });
  expect(problem.requestId).toBe(response.headers.get('x-request-id'));
  expect(JSON.stringify(problem)).not.toMatch(/stack|at .*\.ts:\d+|SELECT|prisma/i);
  return problem;
}

describe('accounts over REST', () => {
  it('registers with 201 and a plain JSON account', async () => {
    const response = await server.request('/auth/register', {
      method: 'POST',
      body: { email: 'Dana@Example.com', password: 'correct horse battery' },
    });
    expect(response.status).toBe(201);
    const body = await response.json();
    expect(body).toEqual({
      id: expect.any(String),
      email: 'dana@example.com',
      emailVerified: false,
      createdAt: expect.stringMatching(isoTimestamp),
    });
  });

  it('answers a second registration of the email, in any case, with 409 EMAIL_TAKEN', async () => {
    const response = await server.request('/auth/register', {
      method: 'POST',
      body: { email: ann.email.toUpperCase(), password: 'correct horse battery' },
    });
    await expectProblem(response, 409, 'EMAIL_TAKEN');
  });

  it('logs in and reads the account back with the token', async () => {
    const me = await server.request('/auth/me', { token: ann.token });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email: ann.email });
  });

  it('answers bad credentials with 401 INVALID_CREDENTIALS and WWW-Authenticate', async () => {
    const response = await server.request('/auth/login', {
      method: 'POST',
      body: { email: ann.email, password: 'wrong password' },
    });
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    await expectProblem(response, 401, 'INVALID_CREDENTIALS');
  });

  it('answers a missing or invalid token with 401 UNAUTHENTICATED and WWW-Authenticate', async () => {
    for (const token of [undefined, 'garbage']) {
      const response = await server.request('/tasks', { token });
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      await expectProblem(response, 401, 'UNAUTHENTICATED');
    }
  });
});

describe('tasks over REST', () => {
  it('runs the whole lifecycle with the contract statuses and headers', async () => {
    const created = await server.request('/tasks', {
      method: 'POST',
      token: ann.token,
      body: { title: 'Ship it' },
    });
    expect(created.status).toBe(201);
    const task = (await created.json()) as Record<string, string>;
    expect(task).toEqual({
      id: expect.any(String),
      title: 'Ship it',
      description: null,
      status: 'open',
      dueAt: null,
      version: 1,
      createdAt: expect.stringMatching(isoTimestamp),
      updatedAt: expect.stringMatching(isoTimestamp),
    });
    expect(created.headers.get('location')).toBe(`/tasks/${task.id}`);

    const read = await server.request(`/tasks/${task.id}`, { token: ann.token });
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(task);

    const patched = await server.request(`/tasks/${task.id}`, {
      method: 'PATCH',
      token: ann.token,
      body: { status: 'done', description: 'with notes' },
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({
      id: task.id,
      status: 'done',
      description: 'with notes',
    });

    const listed = await server.request('/tasks?limit=10', { token: ann.token });
    expect(listed.status).toBe(200);
    const page = (await listed.json()) as { items: { id: string }[]; nextCursor: string | null };
    expect(page.items.map((item) => item.id)).toContain(task.id);
    expect(page.nextCursor).toBeNull();

    const deleted = await server.request(`/tasks/${task.id}`, {
      method: 'DELETE',
      token: ann.token,
    });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    await expectProblem(
      await server.request(`/tasks/${task.id}`, { token: ann.token }),
      404,
      'TASK_NOT_FOUND',
    );
  });

  it("answers another user's task with 404 on every route and leaves it unchanged", async () => {
    const created = await server.request('/tasks', {
      method: 'POST',
      token: ann.token,
      body: { title: 'Private' },
    });
    const task = (await created.json()) as { id: string };
    await expectProblem(
      await server.request(`/tasks/${task.id}`, { token: bob.token }),
      404,
      'TASK_NOT_FOUND',
    );
    await expectProblem(
      await server.request(`/tasks/${task.id}`, {
        method: 'PATCH',
        token: bob.token,
        body: { title: 'mine now' },
      }),
      404,
      'TASK_NOT_FOUND',
    );
    await expectProblem(
      await server.request(`/tasks/${task.id}`, { method: 'DELETE', token: bob.token }),
      404,
      'TASK_NOT_FOUND',
    );
    const bobsList = (await (await server.request('/tasks', { token: bob.token })).json()) as {
      items: { id: string }[];
    };
    expect(bobsList.items.map((item) => item.id)).not.toContain(task.id);
    const stillThere = await server.request(`/tasks/${task.id}`, { token: ann.token });
    expect(await stillThere.json()).toMatchObject({ title: 'Private' });
  });

  it('pages through the list with limit and cursor from the query string', async () => {
    const pager = await server.signUp();
    for (let i = 0; i < 3; i++) {
      await server.request('/tasks', {
        method: 'POST',
        token: pager.token,
        body: { title: `page ${i}` },
      });
    }
    const first = (await (
      await server.request('/tasks?limit=2', { token: pager.token })
    ).json()) as {
      items: { title: string }[];
      nextCursor: string;
    };
    expect(first.items.map((item) => item.title)).toEqual(['page 2', 'page 1']);
    const second = (await (
      await server.request(`/tasks?limit=2&cursor=${encodeURIComponent(first.nextCursor)}`, {
        token: pager.token,
      })
    ).json()) as { items: { title: string }[]; nextCursor: null };
    expect(second).toEqual({
      items: [expect.objectContaining({ title: 'page 0' })],
      nextCursor: null,
    });
  });

  it('sets a due date on create, keeps it when absent from a change, moves and clears it', async () => {
    const planner = await server.signUp();
    const created = await server.request('/tasks', {
      method: 'POST',
      token: planner.token,
      body: { title: 'File the taxes', dueAt: '2026-12-04T18:00:00+01:00' },
    });
    expect(created.status).toBe(201);
    const task = (await created.json()) as { id: string; dueAt: string | null };
    // Answered in UTC, with milliseconds, whatever the offset sent.
    expect(task.dueAt).toBe('2026-12-04T17:00:00.000Z');

    const change = (body: Record<string, unknown>) =>
      server.request(`/tasks/${task.id}`, { method: 'PATCH', token: planner.token, body });
    expect(await (await change({ status: 'in_progress' })).json()).toMatchObject({
      status: 'in_progress',
      dueAt: '2026-12-04T17:00:00.000Z',
    });
    expect(await (await change({ dueAt: '2026-12-24T12:00:00.250Z' })).json()).toMatchObject({
      dueAt: '2026-12-24T12:00:00.250Z',
    });
    const cleared = await change({ dueAt: null });
    expect(cleared.status).toBe(200);
    expect(await cleared.json()).toMatchObject({ dueAt: null, version: 4 });
    expect(
      await (await server.request(`/tasks/${task.id}`, { token: planner.token })).json(),
    ).toMatchObject({ dueAt: null });
  });

  it('filters by dueBefore and dueAfter and pages by sort=dueAt across pages', async () => {
    const planner = await server.signUp();
    // Two tasks share a due date and two have none, so that the id must break ties.
    const dueDates = [
      '2026-12-10T09:00:00.000Z',
      null,
      '2026-12-01T09:00:00.000Z',
      '2026-12-10T09:00:00.000Z',
      null,
      '2026-12-05T09:00:00.000Z',
    ];
    const ids = new Map<string, string | null>();
    for (const [index, dueAt] of dueDates.entries()) {
      const response = await server.request('/tasks', {
        method: 'POST',
        token: planner.token,
        body: { title: `due ${index}`, ...(dueAt === null ? {} : { dueAt }) },
      });
      ids.set(((await response.json()) as { id: string }).id, dueAt);
    }
    type Page = { items: { id: string; dueAt: string | null }[]; nextCursor: string | null };
    const pageThrough = async (query: string) => {
      const seen: { id: string; dueAt: string | null }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const after: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
        const response = await server.request(`/tasks?limit=2&${query}${after}`, {
          token: planner.token,
        });
        expect(response.status).toBe(200);
        const page = (await response.json()) as Page;
        seen.push(...page.items.map(({ id, dueAt }) => ({ id, dueAt })));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null);
      return { seen, pages };
    };
    /** The listing's order: by due date, a task without one as if due at the end of time, then id. */
    const byDueThenId = (order: 'asc' | 'desc') => {
      const key = ([id, dueAt]: [string, string | null]) => `${dueAt ?? '\uffff'} ${id}`;
      const sorted = [...ids].sort((a, b) => (key(a) < key(b) ? -1 : 1));
      return (order === 'asc' ? sorted : sorted.reverse()).map(([id, dueAt]) => ({ id, dueAt }));
    };

    const ascending = await pageThrough('sort=dueAt&order=asc');
    expect(ascending.pages).toBe(3);
    expect(ascending.seen).toEqual(byDueThenId('asc'));
    expect(ascending.seen.slice(-2).map((task) => task.dueAt)).toEqual([null, null]);
    const descending = await pageThrough('sort=dueAt&order=desc');
    expect(descending.seen).toEqual(byDueThenId('desc'));

    // [dueAfter, dueBefore): the window's start is in it, its end is not; undated tasks never.
    const window = await pageThrough(
      'sort=dueAt&order=asc&dueAfter=2026-12-05T09:00:00Z&dueBefore=2026-12-10T09:00:00Z',
    );
    expect(window.seen.map((task) => task.dueAt)).toEqual(['2026-12-05T09:00:00.000Z']);
    const fromFifth = await pageThrough('dueAfter=2026-12-05T10:00:00%2B01:00');
    expect(fromFifth.seen.map((task) => task.dueAt).sort()).toEqual([
      '2026-12-05T09:00:00.000Z',
      '2026-12-10T09:00:00.000Z',
      '2026-12-10T09:00:00.000Z',
    ]);
    const beforeFifth = await pageThrough('dueBefore=2026-12-05T09:00:00.000Z');
    expect(beforeFifth.seen.map((task) => task.dueAt)).toEqual(['2026-12-01T09:00:00.000Z']);
  });

  it('writes bodies from the response schemas exactly as JSON.stringify would', async () => {
    const writer = await server.signUp();
    const title = 'Quote " backslash \\ tab\t line\u2028separator \u{1F600} \u00e9 </script>';
    const description = 'Line one\nline two';
    const created = await server.request('/tasks', {
      method: 'POST',
      token: writer.token,
      body: { title, description },
    });
    await server.request('/tasks', {
      method: 'POST',
      token: writer.token,
      body: { title: 'Bare' },
    });
    // What JSON.stringify would write: the same procedure's output, fetched through the other
    // door (tRPC, which writes with superjson, not with the REST schemas' serializer), then
    // stringified here. The REST body must be those very bytes: a field the schema drops, or a
    // value it writes differently, shows. (The task is unchanged since it was created.)
    const { id } = (await created.clone().json()) as { id: string };
    const trpc = server.trpc(writer.token);
    const bodies: [Response, unknown][] = [
      [created, await trpc.tasks.get.query({ id })],
      [
        await server.request(`/tasks/${id}`, { token: writer.token }),
        await trpc.tasks.get.query({ id }),
      ],
      [
        await server.request('/tasks?limit=1', { token: writer.token }),
        await trpc.tasks.list.query({ limit: 1 }),
      ],
      [await server.request('/tasks', { token: writer.token }), await trpc.tasks.list.query({})],
      [await server.request('/auth/me', { token: writer.token }), await trpc.auth.me.query()],
    ];
    for (const [response, output] of bodies) {
      expect(await response.text()).toBe(JSON.stringify(output));
    }
    const page = (await (await server.request('/tasks', { token: writer.token })).json()) as {
      items: { title: string; description: string | null; createdAt: string }[];
    };
    expect(page.items).toEqual([
      expect.objectContaining({ title: 'Bare', description: null }),
      expect.objectContaining({ title, description }),
    ]);
    expect(page.items[0]?.createdAt).toMatch(isoTimestamp);
  });
});

describe('bad input gets a documented error, never a 500', () => {
  const validation = async (response: Response, path: string) => {
    const problem = await expectProblem(response, 422, 'VALIDATION_FAILED');
    expect(problem.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
  };

  it('422 for invalid fields, with the failing fields', async () => {
    await validation(
      await server.request('/tasks', { method: 'POST', token: ann.token, body: { title: '' } }),
      'title',
    );
    await validation(
      await server.request('/tasks', {
        method: 'POST',
        token: ann.token,
        body: { title: 'x', status: 'nope' },
      }),
      'status',
    );
    await validation(await server.request('/tasks/not-a-uuid', { token: ann.token }), 'id');
    await validation(await server.request('/tasks?limit=0', { token: ann.token }), 'limit');
    await validation(await server.request('/tasks?limit=abc', { token: ann.token }), 'limit');
    await validation(await server.request('/tasks?limit=201', { token: ann.token }), 'limit');
    await validation(await server.request('/tasks?cursor=forged', { token: ann.token }), 'cursor');
    for (const dueAt of [
      'tomorrow',
      '2026-12-04',
      '2026-12-04T17:00:00',
      '0000-01-01T00:00:00Z',
      42,
    ]) {
      await validation(
        await server.request('/tasks', {
          method: 'POST',
          token: ann.token,
          body: { title: 'x', dueAt },
        }),
        'dueAt',
      );
    }
    await validation(
      await server.request(`/tasks/${unknownId}`, {
        method: 'PATCH',
        token: ann.token,
        body: { dueAt: '2026-13-01T00:00:00Z' },
      }),
      'dueAt',
    );
    await validation(
      await server.request('/tasks?dueBefore=next%20week', { token: ann.token }),
      'dueBefore',
    );
    await validation(
      await server.request('/tasks?dueAfter=2026-02-30T00:00:00Z', { token: ann.token }),
      'dueAfter',
    );
    await validation(
      await server.request('/tasks?dueAfter=2026-12-01T00:00:00Z&dueAfter=2026-12-02T00:00:00Z', {
        token: ann.token,
      }),
      'dueAfter',
    );
    await validation(await server.request('/tasks?sort=due', { token: ann.token }), 'sort');
    await validation(
      await server.request(`/tasks/${unknownId}`, { method: 'PATCH', token: ann.token, body: {} }),
      'title',
    );
    await validation(
      await server.request('/auth/register', {
        method: 'POST',
        body: { email: 'x', password: 'y' },
      }),
      'email',
    );
  });

  it('422 for a JSON body that is not an object', async () => {
    for (const body of ['[1,2]', '"text"', '42', 'null']) {
      const response = await server.request('/tasks', {
        method: 'POST',
        token: ann.token,
        body,
        headers: { 'content-type': 'application/json' },
      });
      await expectProblem(response, 422, 'VALIDATION_FAILED');
    }
  });

  it('400 MALFORMED_JSON for a body that is not JSON', async () => {
    await expectProblem(
      await server.request('/tasks', { method: 'POST', token: ann.token, body: '{"title":' }),
      400,
      'MALFORMED_JSON',
    );
  });

  it('415 for a body that is not declared as JSON', async () => {
    const response = await server.request('/tasks', {
      method: 'POST',
      token: ann.token,
      body: 'title=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await expectProblem(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('400 and 415 for a bad body even on DELETE, which takes none (the document lists both)', async () => {
    const remove = (body: string, contentType: string) =>
      server.request(`/tasks/${unknownId}`, {
        method: 'DELETE',
        token: ann.token,
        body,
        headers: { 'content-type': contentType },
      });
    await expectProblem(await remove('{', 'application/json'), 400, 'MALFORMED_JSON');
    await expectProblem(
      await remove('x=1', 'application/x-www-form-urlencoded'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('413 for a body over the limit', async () => {
    const response = await server.request('/tasks', {
      method: 'POST',
      token: ann.token,
      body: { title: 'x', description: 'y'.repeat(70_000) },
    });
    await expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('404 ROUTE_NOT_FOUND for an unknown route, 405 with Allow for a wrong method', async () => {
    await expectProblem(await server.request('/nope'), 404, 'ROUTE_NOT_FOUND');
    const wrongMethod = await server.request('/tasks', {
      method: 'PUT',
      token: ann.token,
      body: {},
    });
    expect(wrongMethod.headers.get('allow')).toBe('POST, GET, HEAD');
    await expectProblem(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
  });

  it('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
    const echoed = await server.request('/health', {
      headers: { 'x-request-id': 'client-abc.123' },
    });
    expect(echoed.headers.get('x-request-id')).toBe('client-abc.123');
    const replaced = await server.request('/health', {
      headers: { 'x-request-id': 'bad id\twith<script>' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('security headers', () => {
  it('sends helmet headers fit for a JSON API, and a same-origin policy on /docs', async () => {
    const api = await server.request('/tasks', { token: ann.token });
    expect(api.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
    expect(api.headers.get('strict-transport-security')).toContain('max-age=');
    expect(api.headers.get('x-powered-by')).toBeNull();
    const docs = await fetch(`${server.baseUrl}/docs/`);
    expect(docs.headers.get('content-security-policy')).toContain("default-src 'self'");
  });
});

describe('operations endpoints', () => {
  it('/health answers without the database and /ready checks it', async () => {
    expect(await (await server.request('/health')).json()).toEqual({ status: 'ok' });
    const ready = await server.request('/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});
