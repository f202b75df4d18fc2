/**
 * Races over real HTTP and PostgreSQL: many clients fire the same write at once, and exactly one
 * of them may take effect. Each burst is released together once every request is built, and the
 * database is checked afterwards, not just the answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type SignedUpUser, type TestServer } from './harness.js';

let server: TestServer;
let user: SignedUpUser;

// The bursts below come from one address and target one account: budgets must not decide them.
const unlimited = String(1_000_000);

beforeAll(async () => {
  server = await startTestServer({
    RATE_LIMIT_MAX: unlimited,
    AUTH_RATE_LIMIT_MAX_PER_IP: unlimited,
    AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: unlimited,
  });
  user = await server.signUp();
});
afterAll(() => server.close());

interface Answer {
  status: number;
  body: string;
}

type RequestInit = Parameters<TestServer['request']>[1];

/** Sends `count` requests to `path` concurrently (the n-th built by `init(n)`); answers in order. */
function burst(
  count: number,
  path: string,
  init: (index: number) => RequestInit,
): Promise<Answer[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const response = await server.request(path, init(index));
      return { status: response.status, body: await response.text() };
    }),
  );
}

/** How many answers had each status, e.g. `{ 200: 1, 412: 99 }`, printed for the record. */
function tally(answers: Answer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
  console.info(
    `races: ${expect.getState().currentTestName ?? ''}: statuses ${JSON.stringify(counts)}`,
  );
  return counts;
}

const codes = (answers: Answer[], status: number) =>
  new Set(
    answers
      .filter((answer) => answer.status === status)
      .map((answer) => (JSON.parse(answer.body) as { code: string }).code),
  );

describe('concurrent writes: exactly one wins', () => {
  it('100 PATCHes with the same If-Match: one 200, 99 × 412, the version bumped once', async () => {
    const created = await server.request('/tasks', {
      method: 'POST',
      token: user.token,
      body: { title: 'contended' },
    });
    const { id } = (await created.json()) as { id: string };
    const etag = created.headers.get('etag') ?? '';

    // Each writer sends a title of its own, so the row tells which one won.
    const answers = await burst(100, `/tasks/${id}`, (writer) => ({
      method: 'PATCH',
      token: user.token,
      headers: { 'if-match': etag },
      body: { title: `writer ${writer}` },
    }));

    expect(tally(answers)).toEqual({ 200: 1, 412: 99 });
    expect(codes(answers, 412)).toEqual(new Set(['PRECONDITION_FAILED']));
    const winner = JSON.parse(answers.find(({ status }) => status === 200)?.body ?? '{}') as {
      title: string;
      version: number;
    };
    expect(winner.version).toBe(2);
    const row = await server.db.task.findUniqueOrThrow({ where: { id } });
    expect({ title: row.title, version: row.version }).toEqual({
      title: winner.title,
      version: 2,
    });
  });

  it('50 POSTs with one Idempotency-Key: 50 identical 201s, one task in the database', async () => {
    const key = `race-${Date.now()}`;
    const answers = await burst(50, '/tasks', () => ({
      method: 'POST',
      token: user.token,
      headers: { 'idempotency-key': key },
      body: { title: 'charged once', description: 'fifty retries' },
    }));

    expect(tally(answers)).toEqual({ 201: 50 });
    expect(new Set(answers.map(({ body }) => body)).size).toBe(1);
    expect(await server.db.task.count({ where: { title: 'charged once' } })).toBe(1);
    expect(await server.db.idempotencyKey.count({ where: { key } })).toBe(1);
  });

  it('25 registrations of one email: one 201, 24 × 409 EMAIL_TAKEN, one account', async () => {
    const email = `race-${Date.now()}@example.com`;
    // Differently cased: the API normalises the email, so they are all the same account.
    const answers = await burst(25, '/auth/register', (index) => ({
      method: 'POST',
      body: { email: index % 2 ? email.toUpperCase() : email, password: 'correct horse battery' },
    }));

    expect(tally(answers)).toEqual({ 201: 1, 409: 24 });
    expect(codes(answers, 409)).toEqual(new Set(['EMAIL_TAKEN']));
    expect(await server.db.user.count({ where: { email } })).toBe(1);
  });

  it('20 refreshes of one refresh token: one new pair, 19 × 401, and the session is revoked', async () => {
    const login = await server.request('/auth/login', {
      method: 'POST',
      body: { email: user.email, password: 'correct horse battery' },
    });
    const { refreshToken, accessToken } = (await login.json()) as {
      refreshToken: string;
      accessToken: string;
    };
    const answers = await burst(20, '/auth/refresh', () => ({
      method: 'POST',
      body: { refreshToken },
    }));

    expect(tally(answers)).toEqual({ 200: 1, 401: 19 });
    expect(codes(answers, 401)).toEqual(new Set(['UNAUTHENTICATED']));
    // A replayed token means it leaked: the losers revoked the session, the winner's pair too.
    const winner = JSON.parse(answers.find(({ status }) => status === 200)?.body ?? '{}') as {
      refreshToken: string;
      accessToken: string;
    };
    for (const token of [accessToken, winner.accessToken]) {
      expect((await server.request('/auth/me', { token })).status).toBe(401);
    }
    const again = await server.request('/auth/refresh', {
      method: 'POST',
      body: { refreshToken: winner.refreshToken },
    });
    expect(again.status).toBe(401);
    // Other sessions of the user are untouched.
    expect((await server.request('/auth/me', { token: user.token })).status).toBe(200);
  });
});
