/**
 * What a hostile client found (issue 13), each as a regression test named after what broke:
 * bodies read before they were refused, bcrypt work nobody paid for, lockouts for the price of a
 * validation error, batches priced as one request, no quotas, idle connections held, and error
 * envelopes without the request id. Real server, real sockets, real database.
 */
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

const password = 'correct horse battery';

const opened: TestServer[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((server) => server.close()));
});

async function start(env: Record<string, string> = {}): Promise<TestServer> {
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
    const server = await start();
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
    const server = await start();
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
    const server = await start();
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
    const server = await start();
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
    const server = await start();
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
    const server = await start();
    const response = await fetch(`${server.baseUrl}/trpc/auth.me,auth.me?batch=1`, {
      headers: { 'trpc-accept': 'application/jsonl' },
    });
    expect(response.status).toBe(401);
  });
});

describe('password hashing is paid for and bounded', () => {
  it('charges auth.changePassword per account: a batch of wrong guesses runs few comparisons', async () => {
    const server = await start({
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
    const server = await start({
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
    const server = await start({ AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '5' });
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
    const server = await start({ TRUST_PROXY: 'true', AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '3' });
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
    const server = await start({ RATE_LIMIT_MAX: '5' });
    const batch = (size: number) =>
      server.request(`/trpc/${Array.from({ length: size }, () => 'auth.me').join(',')}?batch=1`);
    expect((await batch(3)).status).toBe(401);
    const second = await batch(3);
    expect(second.status).toBe(429);
  });

  it('refuses a /trpc batch over its maximum size with 413 before running any call', async () => {
    const server = await start({ TRPC_MAX_BATCH_SIZE: '4' });
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
    const server = await start({ TASK_QUOTA_PER_USER: '3' });
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
    const server = await start({ TASK_QUOTA_PER_USER: '5' });
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
    const server = await start({ MAX_SESSIONS_PER_USER: '2' });
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
    const server = await start({ HEADERS_TIMEOUT_MS: '1000' });
    const silent = await openSocket(server);
    await closed(silent);
    expect(silent.destroyed).toBe(true);
  });

  it(
    'closes connections beyond the cap at once and serves again when they go',
    { timeout: 15_000 },
    async () => {
      const server = await start({ MAX_CONNECTIONS: '3' });
      const held = await Promise.all([openSocket(server), openSocket(server), openSocket(server)]);
      const extra = await openSocket(server);
      await closed(extra);
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await server.request('/health')).status).toBe(200);
    },
  );
});
