/**
 * Rate limits against the real server, in memory and (when REDIS_URL is set) in Redis: the global
 * budget per address (each call of a batch counted), and the sign-in, sign-up, refresh and
 * password-change budgets per address and per account, charged per call, on REST and on /trpc.
 */
import { randomBytes } from 'node:crypto';
import type { AppRouter } from '@tasks/api';
import { TRPCClientError } from '@trpc/client';
import { Redis } from 'ioredis';
import { describeWhere } from '@tasks/db/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

const redisUrl = process.env.REDIS_URL;
const redisMissing = redisUrl
  ? undefined
  : 'REDIS_URL is not set (a Redis on 127.0.0.1:6379: REDIS_URL=redis://127.0.0.1:6379)';
/** Every key this file writes to Redis starts with this, so runs never share counters. */
const runPrefix = `tasks-test:rate-limit:${randomBytes(6).toString('hex')}:`;
let serverCounter = 0;

const password = 'correct horse battery';
const wrongPassword = 'wrong password!';
const credentials = (email: string, secret = wrongPassword) => ({ email, password: secret });

const opened: TestServer[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((server) => server.close()));
});

async function expectRateLimited(response: Response, windowSeconds = 60) {
  expect(response.status).toBe(429);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(await response.json()).toMatchObject({
    type: '/problems/rate-limited',
    status: 429,
    code: 'RATE_LIMITED',
    requestId: response.headers.get('x-request-id'),
  });
}

async function expectTrpcRateLimited(response: Response) {
  expect(response.status).toBe(429);
  expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(
    ((await response.json()) as { error: { json: { data: unknown } } }).error.json.data,
  ).toMatchObject({
    code: 'RATE_LIMITED',
    httpStatus: 429,
    requestId: response.headers.get('x-request-id'),
  });
}

/** A raw /trpc POST: `procedures` is the URL's procedure list, `body` what the client sends. */
function trpcPost(server: TestServer, procedures: string, body: unknown, batch = false) {
  return server.request(`/trpc/${procedures}${batch ? '?batch=1' : ''}`, { method: 'POST', body });
}

function suite(storeEnv: () => Record<string, string>) {
  const start = async (env: Record<string, string>) => {
    const server = await startTestServer({ ...storeEnv(), ...env });
    opened.push(server);
    return server;
  };
  const login = (server: TestServer, body: unknown) =>
    server.request('/auth/login', { method: 'POST', body });

  it('limits wrong passwords per account, while other accounts from the address go on until its limit', async () => {
    const server = await start({
      AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '3',
      AUTH_RATE_LIMIT_MAX_PER_IP: '7',
    });
    const ann = await server.signUp(); // a successful sign-in: not counted against the account

    // Case does not make another account; each wrong password counts.
    for (const email of [ann.email, ann.email.toUpperCase(), ann.email]) {
      expect((await login(server, credentials(email))).status).toBe(401);
    }
    // Even the right password is refused now from this address: a guesser learns nothing more.
    await expectRateLimited(await login(server, credentials(ann.email, password)));

    // The address has spent 5 of its 7 attempts (the refused one too): other accounts get the rest.
    expect((await login(server, credentials('bob@example.com'))).status).toBe(401);
    expect((await login(server, credentials('carol@example.com'))).status).toBe(401);
    await expectRateLimited(await login(server, credentials('dave@example.com')));
  });

  it('limits registrations per email and per address', async () => {
    const server = await start({
      AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '2',
      AUTH_RATE_LIMIT_MAX_PER_IP: '4',
    });
    const register = (email: string) =>
      server.request('/auth/register', { method: 'POST', body: credentials(email, password) });

    expect((await register('dana@example.com')).status).toBe(201);
    expect((await register('DANA@example.com')).status).toBe(409);
    await expectRateLimited(await register('dana@example.com'));
    expect((await register('erin@example.com')).status).toBe(201);
    await expectRateLimited(await register('frank@example.com'));
  });

  it('limits refreshes per presented token and per address', async () => {
    const server = await start({
      AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '2',
      AUTH_RATE_LIMIT_MAX_PER_IP: '4',
    });
    const { refreshToken } = await server.signUp();
    const refresh = (token: string) =>
      server.request('/auth/refresh', { method: 'POST', body: { refreshToken: token } });

    expect((await refresh('stolen-or-guessed')).status).toBe(401);
    expect((await refresh('stolen-or-guessed')).status).toBe(401);
    await expectRateLimited(await refresh('stolen-or-guessed'));
    expect((await refresh(refreshToken)).status).toBe(200);
    await expectRateLimited(await refresh('another-guess'));
  });

  it('limits auth.login on /trpc, single and batched, in the same budgets as REST', async () => {
    const server = await start({
      AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '4',
      AUTH_RATE_LIMIT_MAX_PER_IP: '50',
    });
    const ann = await server.signUp(); // a successful sign-in: not counted
    const call = (email: string) => ({ json: credentials(email) });

    expect((await login(server, credentials(ann.email))).status).toBe(401);
    expect((await trpcPost(server, 'auth.login', call(ann.email))).status).toBe(401);
    const rejected = await server
      .trpc()
      .auth.login.mutate(credentials(ann.email))
      .catch((error: unknown) => error);
    expect((rejected as TRPCClientError<AppRouter>).data?.code).toBe('INVALID_CREDENTIALS');

    // One request, two attempts, each charged on its own: the fourth wrong password is
    // compared, the fifth is refused without a comparison.
    const batch = await trpcPost(
      server,
      'auth.login,auth.login',
      { 0: call(ann.email), 1: call(ann.email.toUpperCase()) },
      true,
    );
    expect(Number(batch.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const errors = (await batch.json()) as { error: { json: { data: unknown } } }[];
    expect(errors.map((item) => item.error.json.data)).toEqual([
      expect.objectContaining({ code: 'INVALID_CREDENTIALS', httpStatus: 401, path: 'auth.login' }),
      expect.objectContaining({ code: 'RATE_LIMITED', httpStatus: 429, path: 'auth.login' }),
    ]);

    // A real client sees the catalogue code in error.data, and the status and header.
    const limited = await server
      .trpc()
      .auth.login.mutate(credentials(ann.email, password))
      .catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(TRPCClientError);
    const { data, meta } = limited as TRPCClientError<AppRouter>;
    expect(data).toMatchObject({ code: 'RATE_LIMITED', httpStatus: 429 });
    const response = meta?.response as Response | undefined;
    expect(response?.status).toBe(429);
    expect(Number(response?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const single = await trpcPost(server, 'auth.login', call(ann.email));
    expect(single.status).toBe(429);
    expect(
      ((await single.json()) as { error: { json: { data: unknown } } }).error.json.data,
    ).toMatchObject({
      code: 'RATE_LIMITED',
    });
    // Other accounts from the same address are not affected.
    expect((await trpcPost(server, 'auth.login', call('bob@example.com'))).status).toBe(401);
  });

  it('counts the email tRPC will see, not one that superjson annotations replace', async () => {
    const server = await start({
      AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '2',
      AUTH_RATE_LIMIT_MAX_PER_IP: '50',
    });
    const ann = await server.signUp(); // a successful sign-in: not counted
    const disguised = (decoy: string) => ({
      json: { email: decoy, password: wrongPassword, alias: ann.email },
      meta: { referentialEqualities: { alias: ['email'] } },
    });

    expect((await trpcPost(server, 'auth.login', disguised('decoy1@example.com'))).status).toBe(
      401,
    );
    expect((await trpcPost(server, 'auth.login', disguised('decoy2@example.com'))).status).toBe(
      401,
    );
    expect((await trpcPost(server, 'auth.login', disguised('decoy3@example.com'))).status).toBe(
      429,
    );
  });

  it('answers garbage /trpc bodies in the tRPC envelope, charging only the global budget', async () => {
    const server = await start({ AUTH_RATE_LIMIT_MAX_PER_IP: '1', RATE_LIMIT_MAX: '8' });
    const garbage: [string, string, boolean][] = [
      ['auth.login', 'not json', false],
      ['auth.login', '{"0":', true],
      ['auth.login,auth.login', '[1,2]', true],
      ['auth.login', 'null', false],
      ['auth.login', '{"json":{"email":42,"password":[]}}', false],
      ['auth.refresh', '{"json":{"refreshToken":{"a":1}}}', false],
    ];
    for (const [procedures, body, batch] of garbage) {
      const response = await trpcPost(server, procedures, body, batch);
      expect(response.status).not.toBe(429);
      expect(response.status).toBeLessThan(500);
      expect(await response.text()).toMatch(/^\[?\{"error":\{"json":/);
    }
    // None of them reached a comparison, so the address's one sign-in attempt is still there...
    expect(
      (await trpcPost(server, 'auth.login', { json: credentials('x@example.com') })).status,
    ).toBe(401);
    // ...but every call counted against the global budget: 7 garbage calls and that attempt.
    await expectTrpcRateLimited(await trpcPost(server, 'auth.me', {}));
  });

  it('applies the global limit to ordinary routes and both doors, never to the probes', async () => {
    const server = await start({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '30000' });

    for (const remaining of [2, 1, 0]) {
      const response = await server.request('/tasks');
      expect(response.status).toBe(401);
      expect(response.headers.get('x-ratelimit-limit')).toBe('3');
      expect(response.headers.get('x-ratelimit-remaining')).toBe(String(remaining));
    }
    await expectRateLimited(await server.request('/tasks'), 30);
    await expectRateLimited(await server.request('/no-such-route'), 30);
    const trpc = await server.request('/trpc/tasks.list?input=%7B%7D');
    expect(trpc.status).toBe(429);
    expect(trpc.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(
      ((await trpc.json()) as { error: { json: { data: unknown } } }).error.json.data,
    ).toMatchObject({
      code: 'RATE_LIMITED',
      httpStatus: 429,
    });

    for (let probe = 0; probe < 10; probe++) {
      expect((await server.request('/health')).status).toBe(200);
      expect((await server.request('/ready')).status).toBe(200);
    }
  });
}

describe('rate limits in memory', () => {
  suite(() => ({}));
});

describeWhere(redisMissing, 'rate limits in Redis (REDIS_URL)', () => {
  const redisEnv = (prefix = `${runPrefix}${++serverCounter}:`) => ({
    REDIS_URL: redisUrl ?? '',
    RATE_LIMIT_REDIS_PREFIX: prefix,
  });
  const redis = redisUrl ? new Redis(redisUrl) : undefined;
  const keysOfThisRun = async () => (await redis?.keys(`${runPrefix}*`)) ?? [];

  afterAll(async () => {
    const keys = await keysOfThisRun();
    if (keys.length > 0) await redis?.del(...keys);
    expect(await keysOfThisRun()).toEqual([]);
    redis?.disconnect();
  });

  suite(redisEnv);

  it('shares the budgets between instances on one Redis', async () => {
    const shared = redisEnv();
    const env = { ...shared, AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '3', RATE_LIMIT_MAX: '20' };
    const first = await startTestServer(env);
    const second = await startTestServer(env);
    opened.push(first, second);
    const attempt = (server: TestServer) =>
      server.request('/auth/login', { method: 'POST', body: credentials('ann@example.com') });

    expect((await attempt(first)).status).toBe(401);
    expect((await attempt(first)).status).toBe(401);
    expect((await attempt(second)).status).toBe(401);
    await expectRateLimited(await attempt(second));
    await expectRateLimited(await attempt(first));

    // This address's sixth request across both instances.
    const response = await second.request('/tasks');
    expect(response.headers.get('x-ratelimit-remaining')).toBe(String(20 - 6));
    expect(await redis?.keys(`${shared.RATE_LIMIT_REDIS_PREFIX}*`)).toEqual(
      expect.arrayContaining([`${shared.RATE_LIMIT_REDIS_PREFIX}global:127.0.0.1`]),
    );
  });
});

describe('rate limits with Redis down', () => {
  it('keeps serving when Redis is unreachable, without limits', async () => {
    const server = await startTestServer({
      REDIS_URL: 'redis://127.0.0.1:1',
      AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '1',
      RATE_LIMIT_MAX: '1',
    });
    opened.push(server);
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await server.request('/auth/login', {
        method: 'POST',
        body: credentials('ann@example.com'),
      });
      expect(response.status).toBe(401);
    }
    expect((await server.request('/health')).status).toBe(200);
  });
});
