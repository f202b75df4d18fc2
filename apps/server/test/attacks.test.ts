/**
 * Attacks on authentication (RFC 8725, OWASP API2) and object-level authorization (OWASP API1),
 * each tried on REST and on /trpc against the real server and database.
 */
import { createHmac } from 'node:crypto';
import type { AppRouter } from '@tasks/api';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
