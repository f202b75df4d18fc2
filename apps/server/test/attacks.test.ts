/**
 * Attacks on authentication (RFC 8725, OWASP API2), object-level authorization (OWASP API1) and
 * resources (OWASP API4: bodies, bcrypt work, lockouts, batches, quotas, connections), each tried
 * on REST and on /trpc against the real server and database. The resource attacks each run on a
 * server of their own, configured at the limit they test.
 */
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AppRouter } from '@tasks/api';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testEnv, type SignedUpUser, type TestServer } from './harness.js';

let server: TestServer;
let alice: SignedUpUser;
let mallory: SignedUpUser;
/** Every response body seen in this file, checked for leaks at the end. */
const bodies: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.signUp();
  mallory = await server.signUp();
});
afterAll(() => server.close());

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function decode(token: string) {
  const [header = '', payload = '', signature = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>,
    signature,
  };
}

function signHs256(
  payload: Record<string, unknown>,
  secret: string,
  header: Record<string, unknown> = { typ: 'JWT' },
): string {
  const unsigned = `${base64url({ alg: 'HS256', ...header })}.${base64url(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

function withSignatureOf(original: string, payload: Record<string, unknown>): string {
  const { header, signature } = decode(original);
  return `${base64url(header)}.${base64url(payload)}.${signature}`;
}

/** What Authorization header each attack sends; computed once users exist. */
function tokenAttacks(): [string, () => Promise<string | undefined>][] {
  const claims = () => decode(alice.token).payload;
  return [
    ['no token', async () => undefined],
    ['an empty bearer', async () => 'Bearer '],
    ['garbage', async () => 'Bearer not.a.jwt'],
    ['a non-Bearer scheme', async () => `Basic ${alice.token}`],
    [
      'alg: none',
      async () => `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims())}.`,
    ],
    [
      'a tampered payload with the old signature',
      async () => `Bearer ${withSignatureOf(alice.token, { ...claims(), sub: mallory.id })}`,
    ],
    [
      'a flipped signature',
      async () => {
        const [head, body, signature = ''] = alice.token.split('.');
        const flipped = (signature.startsWith('A') ? 'B' : 'A') + signature.slice(1);
        return `Bearer ${head}.${body}.${flipped}`;
      },
    ],
    [
      'a token signed with another secret',
      async () => `Bearer ${signHs256(claims(), 'another-secret-that-is-long-enough-000000')}`,
    ],
    [
      'an edited exp',
      async () =>
        `Bearer ${withSignatureOf(alice.token, { ...claims(), exp: Number(claims().exp) + 86_400 })}`,
    ],
    [
      'an expired token with a valid signature',
      async () => {
        const now = Math.floor(Date.now() / 1000);
        return `Bearer ${signHs256({ ...claims(), iat: now - 3600, exp: now - 60 }, testEnv.JWT_SECRET)}`;
      },
    ],
    [
      'a validly signed token for another audience',
      async () => `Bearer ${signHs256({ ...claims(), aud: 'other-api' }, testEnv.JWT_SECRET)}`,
    ],
    [
      'a validly signed token from another issuer',
      async () => `Bearer ${signHs256({ ...claims(), iss: 'evil' }, testEnv.JWT_SECRET)}`,
    ],
    [
      'a validly signed token whose sub is not a UUID',
      async () => `Bearer ${signHs256({ ...claims(), sub: 'not-a-uuid' }, testEnv.JWT_SECRET)}`,
    ],
    [
      'a validly signed token whose sid is not a UUID',
      async () => `Bearer ${signHs256({ ...claims(), sid: "1' OR '1'='1" }, testEnv.JWT_SECRET)}`,
    ],
    [
      'a validly signed token without exp',
      async () => {
        const withoutExp = claims();
        delete withoutExp.exp;
        return `Bearer ${signHs256(withoutExp, testEnv.JWT_SECRET)}`;
      },
    ],
    [
      'a validly signed token of another typ',
      async () => `Bearer ${signHs256(claims(), testEnv.JWT_SECRET, { typ: 'refresh+jwt' })}`,
    ],
    [
      'a validly signed token with a crit header',
      async () =>
        `Bearer ${signHs256(claims(), testEnv.JWT_SECRET, { typ: 'JWT', crit: ['exp'] })}`,
    ],
    ['a refresh token used as an access token', async () => `Bearer ${alice.refreshToken}`],
    [
      'the token of a deleted user',
      async () => {
        const doomed = await server.signUp();
        await server.db.user.delete({ where: { id: doomed.id } });
        return `Bearer ${doomed.token}`;
      },
    ],
    [
      'an access token after logout',
      async () => {
        const leaving = await server.signUp();
        const logout = await server.request('/auth/logout', {
          method: 'POST',
          body: { refreshToken: leaving.refreshToken },
        });
        expect(logout.status).toBe(204);
        return `Bearer ${leaving.token}`;
      },
    ],
    [
      'a validly signed token with upper-case ids after logout',
      async () => {
        const leaving = await server.signUp();
        const { sub, sid, ...rest } = decode(leaving.token).payload;
        const upper = signHs256(
          { ...rest, sub: String(sub).toUpperCase(), sid: String(sid).toUpperCase() },
          testEnv.JWT_SECRET,
        );
        expect((await server.request('/auth/me', { token: upper })).status).toBe(200);
        const logout = await server.request('/auth/logout', {
          method: 'POST',
          body: { refreshToken: leaving.refreshToken },
        });
        expect(logout.status).toBe(204);
        return `Bearer ${upper}`;
      },
    ],
  ];
}

function trpcClient(authorization: string | undefined) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${server.baseUrl}/trpc`,
        transformer: superjson,
        headers: () => (authorization === undefined ? {} : { authorization }),
      }),
    ],
  });
}

async function expectRestUnauthenticated(path: string, authorization: string | undefined) {
  const response = await server.request(path, {
    headers: authorization === undefined ? {} : { authorization },
  });
  const body = await response.text();
  bodies.push(body);
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toBe('Bearer');
  expect(JSON.parse(body)).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
}

async function expectTrpcUnauthenticated(call: Promise<unknown>) {
  const error = await call.then(
    () => {
      throw new Error('the call was accepted');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  const { data } = error as TRPCClientError<AppRouter>;
  bodies.push(JSON.stringify((error as TRPCClientError<AppRouter>).shape));
  expect(data).toMatchObject({ code: 'UNAUTHENTICATED', httpStatus: 401 });
}

describe('every forged, foreign or dead token is rejected with 401 on both doors', () => {
  it.each(tokenAttacks())('%s', async (_, makeAuthorization) => {
    const authorization = await makeAuthorization();
    await expectRestUnauthenticated('/tasks', authorization);
    await expectRestUnauthenticated('/auth/me', authorization);
    await expectTrpcUnauthenticated(trpcClient(authorization).tasks.list.query({}));
    await expectTrpcUnauthenticated(trpcClient(authorization).auth.me.query());
  });

  it('rejects an access token used as a refresh token, on both doors', async () => {
    const response = await server.request('/auth/refresh', {
      method: 'POST',
      body: { refreshToken: alice.token.slice(0, 200) },
    });
    bodies.push(await response.text());
    expect(response.status).toBe(401);
    await expectTrpcUnauthenticated(
      trpcClient(undefined).auth.refresh.mutate({ refreshToken: alice.token.slice(0, 200) }),
    );
  });

  it.each([
    ['typ: JWT in lower case', { typ: 'jwt' }, (id: string) => id],
    ['typ: at+jwt', { typ: 'at+jwt' }, (id: string) => id],
    ['no typ', {}, (id: string) => id],
    ['upper-case ids', { typ: 'JWT' }, (id: string) => id.toUpperCase()],
  ])('accepts a validly signed token with %s, on both doors', async (_, header, spell) => {
    const { sub, sid, ...rest } = decode(alice.token).payload;
    const token = signHs256(
      { ...rest, sub: spell(String(sub)), sid: spell(String(sid)) },
      testEnv.JWT_SECRET,
      header,
    );
    expect((await server.request('/auth/me', { token })).status).toBe(200);
    await expect(trpcClient(`Bearer ${token}`).auth.me.query()).resolves.toMatchObject({
      id: alice.id,
    });
  });

  it('still accepts the genuine token (the attacks above changed nothing)', async () => {
    expect((await server.request('/auth/me', { token: alice.token })).status).toBe(200);
  });
});

describe("another user's tasks are invisible and untouchable on both doors", () => {
  it('answers read, list, update and delete with 404 / absence, and leaves the data unchanged', async () => {
    const created = await server.request('/tasks', {
      method: 'POST',
      token: alice.token,
      body: { title: 'Alice only', description: 'secret plans' },
    });
    const task = (await created.json()) as { id: string };
    const before = await (await server.request(`/tasks/${task.id}`, { token: alice.token })).json();

    const restAttempts = [
      server.request(`/tasks/${task.id}`, { token: mallory.token }),
      server.request(`/tasks/${task.id}`, {
        method: 'PATCH',
        token: mallory.token,
        body: { title: 'pwned' },
      }),
      server.request(`/tasks/${task.id}`, { method: 'DELETE', token: mallory.token }),
    ];
    for (const response of await Promise.all(restAttempts)) {
      const body = await response.text();
      bodies.push(body);
      expect(response.status).toBe(404);
      expect(JSON.parse(body)).toMatchObject({ code: 'TASK_NOT_FOUND' });
    }
    const listed = (await (
      await server.request('/tasks?limit=200', { token: mallory.token })
    ).json()) as { items: { id: string }[] };
    expect(listed.items.map((item) => item.id)).not.toContain(task.id);

    const trpc = trpcClient(`Bearer ${mallory.token}`);
    const trpcAttempts = await Promise.allSettled([
      trpc.tasks.get.query({ id: task.id }),
      trpc.tasks.update.mutate({ id: task.id, status: 'done' }),
      trpc.tasks.delete.mutate({ id: task.id }),
    ]);
    for (const attempt of trpcAttempts) {
      expect(attempt.status).toBe('rejected');
      const error = attempt.status === 'rejected' ? (attempt.reason as unknown) : undefined;
      expect((error as TRPCClientError<AppRouter>).data).toMatchObject({
        code: 'TASK_NOT_FOUND',
        httpStatus: 404,
      });
    }
    const trpcList = await trpc.tasks.list.query({ limit: 200 });
    expect(trpcList.items.map((item) => item.id)).not.toContain(task.id);

    const after = await (await server.request(`/tasks/${task.id}`, { token: alice.token })).json();
    expect(after).toEqual(before);
  });
});

describe('responses leak nothing', () => {
  it('never contain a password hash, a stack trace or SQL', async () => {
    const me = await server.request('/auth/me', { token: alice.token });
    bodies.push(await me.text());
    expect(bodies.length).toBeGreaterThan(40);
    for (const body of bodies) {
      expect(body).not.toMatch(/\$2[aby]\$\d\d\$|passwordHash|tokenHash/);
      expect(body).not.toMatch(/"stack"|\bat \S+ \(|\.ts:\d+/);
      expect(body).not.toMatch(/\bSELECT\b|\bINSERT\b|prisma|postgres/i);
    }
  });
});

/* What a hostile client found (issue 13): each test is named after what broke. */

/** What `SignedUpUser`s sign up with (harness.ts). */
const password = 'correct horse battery';

const opened: TestServer[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((server) => server.close()));
});

async function startOwn(env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startTestServer(env);
  opened.push(server);
  return server;
}

interface StreamedOutcome {
  status: number;
  contentType: string | undefined;
  body: string;
  /** Bytes the client had written when the answer came. */
  bytesSent: number;
}

/**
 * Streams up to `totalBytes` (chunked, never announced) and stops as soon as the server answers:
 * a server that refuses before reading answers long before the body could have been sent.
 */
function streamBody(
  server: TestServer,
  path: string,
  headers: Record<string, string>,
  totalBytes: number,
): Promise<StreamedOutcome> {
  const { port } = new URL(server.baseUrl);
  return new Promise((resolve, reject) => {
    let bytesSent = 0;
    let answered = false;
    const chunk = Buffer.alloc(256 * 1024, 'a');
    const request = httpRequest(
      { host: '127.0.0.1', port, path, method: 'POST', headers },
      (response) => {
        answered = true;
        const sentWhenAnswered = bytesSent;
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (text: string) => (body += text));
        response.on('end', () => {
          request.destroy();
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers['content-type'],
            body,
            bytesSent: sentWhenAnswered,
          });
        });
      },
    );
    // The server may close the socket once it has answered; that is not a failure.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (!answered && bytesSent < totalBytes) {
        bytesSent += chunk.length;
        if (!request.write(chunk)) {
          request.once('drain', pump);
          return;
        }
      }
      if (!answered) request.end();
    };
    pump();
  });
}

const hundredMiB = 100 * 1024 * 1024;

describe('bodies are refused before they are read', () => {
  it('answers a multipart body to /trpc with 415 in the tRPC envelope, without reading it', async () => {
    const server = await startOwn();
    const outcome = await streamBody(
      server,
      '/trpc/auth.login',
      { 'content-type': 'multipart/form-data; boundary=X', 'x-request-id': 'multipart-1' },
      hundredMiB,
    );
    expect(outcome.status).toBe(415);
    expect(outcome.bytesSent).toBeLessThan(hundredMiB);
    expect(outcome.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(outcome.body)).toMatchObject({
      error: { json: { data: { code: 'UNSUPPORTED_MEDIA_TYPE', requestId: 'multipart-1' } } },
    });
  });

  it('answers an oversized chunked JSON body with 413 before reading all of it, on both doors', async () => {
    const server = await startOwn();
    for (const path of ['/trpc/auth.login', '/auth/login']) {
      const outcome = await streamBody(
        server,
        path,
        { 'content-type': 'application/json' },
        hundredMiB,
      );
      expect(outcome.status).toBe(413);
      expect(outcome.bytesSent).toBeLessThan(hundredMiB);
      expect(outcome.body).toContain('PAYLOAD_TOO_LARGE');
    }
  });

  it('answers text, form and multipart bodies on REST with 415, not 422', async () => {
    const server = await startOwn();
    const user = await server.signUp();
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=X',
    ]) {
      const response = await server.request('/tasks', {
        method: 'POST',
        token: user.token,
        headers: { 'content-type': type },
        body: JSON.stringify({ title: 'smuggled' }),
      });
      expect(response.status).toBe(415);
      expect(await response.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
  });
});

describe('tRPC errors raised before a procedure runs carry the request id and JSON', () => {
  it('answers an unparseable /trpc body with JSON carrying the request id', async () => {
    const server = await startOwn();
    const response = await fetch(`${server.baseUrl}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'garbage-1' },
      body: 'not json',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toMatchObject({
      error: { json: { data: { code: 'MALFORMED_JSON', requestId: 'garbage-1' } } },
    });
  });

  it('answers a text body to /trpc with 415 as JSON carrying the request id, not text/plain', async () => {
    const server = await startOwn();
    const response = await fetch(`${server.baseUrl}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-request-id': 'text-1' },
      body: '{"json":{}}',
    });
    expect(response.status).toBe(415);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toMatchObject({
      error: { json: { data: { code: 'UNSUPPORTED_MEDIA_TYPE', requestId: 'text-1' } } },
    });
  });

  it('answers an all-error batch asked for as JSON lines with its error status, not 200', async () => {
    const server = await startOwn();
    const response = await fetch(`${server.baseUrl}/trpc/auth.me,auth.me?batch=1`, {
      headers: { 'trpc-accept': 'application/jsonl' },
    });
    expect(response.status).toBe(401);
  });
});

describe('password hashing is paid for and bounded', () => {
  it('charges auth.changePassword per account: a batch of wrong guesses runs few comparisons', async () => {
    const server = await startOwn({
      AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '3',
      AUTH_RATE_LIMIT_MAX_PER_IP: '1000',
    });
    const user = await server.signUp();
    const guesses = 12;
    const paths = Array.from({ length: guesses }, () => 'auth.changePassword').join(',');
    const body = Object.fromEntries(
      Array.from({ length: guesses }, (_, index) => [
        index,
        { json: { currentPassword: `wrong guess ${index}`, newPassword: 'brand new password' } },
      ]),
    );
    const response = await server.request(`/trpc/${paths}?batch=1`, {
      method: 'POST',
      token: user.token,
      body,
    });
    const codes = (
      (await response.json()) as { error: { json: { data: { code: string } } } }[]
    ).map((item) => item.error.json.data.code);
    expect(codes.filter((code) => code === 'VALIDATION_FAILED')).toHaveLength(3);
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(guesses - 3);
  });

  it('answers password work beyond the bounded queue with 503 at once', async () => {
    const server = await startOwn({
      BCRYPT_COST: '10',
      PASSWORD_HASH_CONCURRENCY: '1',
      PASSWORD_HASH_QUEUE: '1',
      AUTH_RATE_LIMIT_MAX_PER_IP: '1000',
    });
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        server.request('/auth/login', {
          method: 'POST',
          body: { email: `nobody${index}@example.com`, password },
        }),
      ),
    );
    const statuses = attempts.map((response) => response.status).sort();
    expect(statuses.filter((status) => status === 401)).toHaveLength(2);
    expect(statuses.filter((status) => status === 503)).toHaveLength(4);
    const refused = attempts.find((response) => response.status === 503);
    expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused?.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });
});

describe('a lockout costs the attacker real guesses, never the victim their account', () => {
  it('does not count logins that fail validation against the account', async () => {
    const server = await startOwn({ AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '5' });
    const victim = await server.signUp();
    const paths = Array.from({ length: 5 }, () => 'auth.login').join(',');
    const body = Object.fromEntries(
      Array.from({ length: 5 }, (_, index) => [
        index,
        { json: { email: victim.email, password: 'x' } },
      ]),
    );
    const batch = await server.request(`/trpc/${paths}?batch=1`, { method: 'POST', body });
    expect(batch.status).toBe(422);
    const login = await server.request('/auth/login', {
      method: 'POST',
      body: { email: victim.email, password },
    });
    expect(login.status).toBe(200);
  });

  it('lets a correct password in from an address that has not been failing', async () => {
    const server = await startOwn({ TRUST_PROXY: 'true', AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '3' });
    const victim = await server.signUp();
    const login = (from: string, secret: string) =>
      server.request('/auth/login', {
        method: 'POST',
        headers: { 'x-forwarded-for': from },
        body: { email: victim.email, password: secret },
      });
    for (let guess = 0; guess < 3; guess++) {
      expect((await login('203.0.113.66', `wrong guess ${guess}`)).status).toBe(401);
    }
    // The guessing address is locked out of this account, even with the right password.
    expect((await login('203.0.113.66', password)).status).toBe(429);
    expect((await login('203.0.113.66', 'wrong guess 4')).status).toBe(429);
    // The owner, elsewhere, still gets in.
    expect((await login('198.51.100.7', password)).status).toBe(200);
  });
});

describe('batches, tasks and sessions have quotas', () => {
  it('counts every call of a /trpc batch against the global budget', async () => {
    const server = await startOwn({ RATE_LIMIT_MAX: '5' });
    const batch = (size: number) =>
      server.request(`/trpc/${Array.from({ length: size }, () => 'auth.me').join(',')}?batch=1`);
    expect((await batch(3)).status).toBe(401);
    const second = await batch(3);
    expect(second.status).toBe(429);
  });

  it('refuses a /trpc batch over its maximum size with 413 before running any call', async () => {
    const server = await startOwn({ TRPC_MAX_BATCH_SIZE: '4' });
    const paths = (size: number) => Array.from({ length: size }, () => 'auth.me').join(',');
    expect((await server.request(`/trpc/${paths(4)}?batch=1`)).status).toBe(401);
    const tooMany = await server.request(`/trpc/${paths(5)}?batch=1`);
    expect(tooMany.status).toBe(413);
    const entries = (await tooMany.json()) as { error: { json: { data: { code: string } } } }[];
    expect(entries.map((entry) => entry.error.json.data.code)).toEqual(
      Array.from({ length: 5 }, () => 'PAYLOAD_TOO_LARGE'),
    );
  });

  it('refuses a task beyond the per-user quota with 403 QUOTA_EXCEEDED, on both doors', async () => {
    const server = await startOwn({ TASK_QUOTA_PER_USER: '3' });
    const user = await server.signUp();
    const other = await server.signUp();
    const create = (title: string, headers: Record<string, string> = {}) =>
      server.request('/tasks', { method: 'POST', token: user.token, headers, body: { title } });
    const first = (await (await create('one')).json()) as { id: string };
    expect((await create('two')).status).toBe(201);
    expect((await create('three', { 'idempotency-key': 'k3' })).status).toBe(201);

    const refused = await create('four');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect((await create('four', { 'idempotency-key': 'k4' })).status).toBe(403);
    const viaTrpc = await server
      .trpc(user.token)
      .tasks.create.mutate({ title: 'four' })
      .catch((error: unknown) => error);
    expect(viaTrpc).toMatchObject({ data: { code: 'QUOTA_EXCEEDED', httpStatus: 403 } });
    // The quota is per user, and deleting a task frees its place.
    const othersTask = await server.request('/tasks', {
      method: 'POST',
      token: other.token,
      body: { title: 'mine' },
    });
    expect(othersTask.status).toBe(201);
    expect(
      (await server.request(`/tasks/${first.id}`, { method: 'DELETE', token: user.token })).status,
    ).toBe(204);
    expect((await create('four again')).status).toBe(201);
    expect(await server.db.task.count({ where: { ownerId: user.id } })).toBe(3);
  });

  it('keeps the quota under concurrent creates', async () => {
    const server = await startOwn({ TASK_QUOTA_PER_USER: '5' });
    const user = await server.signUp();
    const attempts = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        server.request('/tasks', {
          method: 'POST',
          token: user.token,
          body: { title: `race ${index}` },
        }),
      ),
    );
    expect(attempts.filter((response) => response.status === 201)).toHaveLength(5);
    expect(attempts.filter((response) => response.status === 403)).toHaveLength(7);
    expect(await server.db.task.count({ where: { ownerId: user.id } })).toBe(5);
  });

  it('caps open sessions per user: a new sign-in ends the oldest', async () => {
    const server = await startOwn({ MAX_SESSIONS_PER_USER: '2' });
    const user = await server.signUp(); // first session
    const login = async () => {
      const response = await server.request('/auth/login', {
        method: 'POST',
        body: { email: user.email, password },
      });
      return (await response.json()) as { refreshToken: string };
    };
    await login();
    const third = await login();
    const open = await server.db.session.count({ where: { userId: user.id, revokedAt: null } });
    expect(open).toBe(2);
    expect((await server.request('/auth/me', { token: user.token })).status).toBe(401);
    const refreshed = await server.request('/auth/refresh', {
      method: 'POST',
      body: { refreshToken: third.refreshToken },
    });
    expect(refreshed.status).toBe(200);
  });
});

describe('connections are bounded', () => {
  const openSocket = (server: TestServer) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
      socket.once('connect', () => {
        resolve(socket);
      });
      socket.once('error', reject);
    });
  const closed = (socket: Socket) =>
    new Promise<void>((resolve) => {
      if (socket.destroyed || socket.readyState === 'closed') resolve();
      socket.once('close', () => {
        resolve();
      });
      socket.on('error', () => undefined);
      socket.resume();
    });

  it('closes a connection that sends nothing', { timeout: 15_000 }, async () => {
    const server = await startOwn({ HEADERS_TIMEOUT_MS: '1000' });
    const silent = await openSocket(server);
    await closed(silent);
    expect(silent.destroyed).toBe(true);
  });

  it(
    'closes connections beyond the cap at once and serves again when they go',
    { timeout: 15_000 },
    async () => {
      const server = await startOwn({ MAX_CONNECTIONS: '3' });
      const held = await Promise.all([openSocket(server), openSocket(server), openSocket(server)]);
      const extra = await openSocket(server);
      await closed(extra);
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await server.request('/health')).status).toBe(200);
    },
  );
});
