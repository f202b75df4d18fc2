/**
 * Personal access tokens against the real server: made once and shown once, scoped on both doors,
 * unable to manage the account, revoked and expired tokens refused, bounded per user, and
 * declared per operation in the OpenAPI document.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, trpcClient, type SignedUpUser, type TestServer } from './harness.js';

interface CreatedToken {
  id: string;
  name: string;
  scopes: string[];
  expiresAt: string;
  lastUsedAt: string | null;
  createdAt: string;
  token: string;
}

const dayMs = 86_400_000;
const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };

let server: TestServer;
let owner: SignedUpUser;

beforeAll(async () => {
  server = await startTestServer({ MAX_TOKENS_PER_USER: '10' }, { clock });
  owner = await server.signUp();
});

afterAll(async () => {
  await server.close();
});

async function makeToken(
  user: SignedUpUser,
  body: Record<string, unknown> = { name: 'script', scopes: ['tasks:read'] },
): Promise<CreatedToken> {
  const response = await server.request('/auth/tokens', {
    method: 'POST',
    token: user.token,
    body,
  });
  expect(response.status).toBe(201);
  return (await response.json()) as CreatedToken;
}

async function deleteToken(user: SignedUpUser, id: string): Promise<number> {
  const response = await server.request(`/auth/tokens/${id}`, {
    method: 'DELETE',
    token: user.token,
  });
  return response.status;
}

async function createTask(token: string): Promise<Response> {
  return server.request('/tasks', { method: 'POST', token, body: { title: 'by a token' } });
}

async function problemCode(response: Response): Promise<string> {
  return ((await response.json()) as { code: string }).code;
}

describe('making and listing tokens', () => {
  it('shows the token once, prefixed, and lists it without any secret', async () => {
    const created = await makeToken(owner, { name: 'nightly backup', scopes: ['tasks:read'] });
    expect(created.token).toMatch(/^tasks_pat_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({
      name: 'nightly backup',
      scopes: ['tasks:read'],
      lastUsedAt: null,
    });
    const lifetimeDays = (Date.parse(created.expiresAt) - Date.parse(created.createdAt)) / dayMs;
    expect(lifetimeDays).toBe(90);

    const stored = await server.db.personalAccessToken.findUniqueOrThrow({
      where: { id: created.id },
    });
    expect(stored.tokenHash).toBe(createHash('sha256').update(created.token).digest('hex'));

    const listed = await server.request('/auth/tokens', { token: owner.token });
    const text = await listed.text();
    expect(text).not.toContain(created.token);
    expect(text).not.toContain(stored.tokenHash);
    const { items } = JSON.parse(text) as { items: Omit<CreatedToken, 'token'>[] };
    expect(items.find(({ id }) => id === created.id)).toEqual({
      id: created.id,
      name: 'nightly backup',
      scopes: ['tasks:read'],
      expiresAt: created.expiresAt,
      lastUsedAt: null,
      createdAt: created.createdAt,
    });
    expect(await deleteToken(owner, created.id)).toBe(204);
  });

  it('records when a token was last used', async () => {
    const created = await makeToken(owner);
    expect((await server.request('/tasks', { token: created.token })).status).toBe(200);
    const { items } = (await (
      await server.request('/auth/tokens', { token: owner.token })
    ).json()) as {
      items: CreatedToken[];
    };
    expect(items.find(({ id }) => id === created.id)?.lastUsedAt).not.toBeNull();
    expect(await deleteToken(owner, created.id)).toBe(204);
  });

  it('refuses bad input with field errors', async () => {
    for (const body of [
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['tasks:admin'] },
      { name: 'x', scopes: ['tasks:read', 'tasks:read'] },
      { name: 'x', scopes: ['tasks:read'], expiresInDays: 366 },
      { name: 'x', scopes: ['tasks:read'], expiresInDays: 0 },
      { name: '', scopes: ['tasks:read'] },
      { name: 'x'.repeat(101), scopes: ['tasks:read'] },
    ]) {
      const response = await server.request('/auth/tokens', {
        method: 'POST',
        token: owner.token,
        body,
      });
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(await problemCode(response)).toBe('VALIDATION_FAILED');
    }
  });

  it('holds at most MAX_TOKENS_PER_USER per user, expired ones included', async () => {
    const user = await server.signUp();
    const first = await makeToken(user);
    for (let index = 1; index < 10; index++) await makeToken(user);
    const oneMore = await server.request('/auth/tokens', {
      method: 'POST',
      token: user.token,
      body: { name: 'one more', scopes: ['tasks:read'] },
    });
    expect(oneMore.status).toBe(403);
    expect(await problemCode(oneMore)).toBe('QUOTA_EXCEEDED');
    // Deleting one makes room again.
    expect(await deleteToken(user, first.id)).toBe(204);
    await makeToken(user);
  });
});

describe('scopes', () => {
  it('lets a read-only token read on both doors, and refuses writes with 403 INSUFFICIENT_SCOPE', async () => {
    const created = await createTask(owner.token);
    const task = (await created.json()) as { id: string; version: number };
    const { token } = await makeToken(owner, { name: 'reader', scopes: ['tasks:read'] });

    expect((await server.request('/tasks', { token })).status).toBe(200);
    expect((await server.request(`/tasks/${task.id}`, { token })).status).toBe(200);
    const patch = await server.request(`/tasks/${task.id}`, {
      method: 'PATCH',
      token,
      body: { title: 'changed' },
    });
    expect(patch.status).toBe(403);
    expect(await problemCode(patch)).toBe('INSUFFICIENT_SCOPE');
    expect((await createTask(token)).status).toBe(403);
    const webhooks = await server.request('/webhooks', { token });
    expect(webhooks.status).toBe(403);

    const trpc = trpcClient(server.baseUrl, token);
    await expect(trpc.tasks.get.query({ id: task.id })).resolves.toMatchObject({ id: task.id });
    await expect(trpc.tasks.create.mutate({ title: 'by a token' })).rejects.toMatchObject({
      data: { code: 'INSUFFICIENT_SCOPE', httpStatus: 403 },
    });
  });

  it('lets a write scope read what it writes', async () => {
    const { token } = await makeToken(owner, { name: 'writer', scopes: ['tasks:write'] });
    const created = await createTask(token);
    expect(created.status).toBe(201);
    const task = (await created.json()) as { id: string };
    expect((await server.request(`/tasks/${task.id}`, { token })).status).toBe(200);
  });

  it('never manages the account: tokens, password and verification need a session', async () => {
    const all = ['tasks:read', 'tasks:write', 'webhooks:read', 'webhooks:write'];
    const { token, id } = await makeToken(owner, { name: 'everything', scopes: all });
    const refused = [
      server.request('/auth/tokens', {
        method: 'POST',
        token,
        body: { name: 'successor', scopes: all },
      }),
      server.request('/auth/tokens', { token }),
      server.request(`/auth/tokens/${id}`, { method: 'DELETE', token }),
      server.request('/auth/password', {
        method: 'POST',
        token,
        body: { currentPassword: 'correct horse battery', newPassword: 'another horse battery' },
      }),
      server.request('/auth/email/resend', { method: 'POST', token, body: {} }),
    ];
    for (const response of await Promise.all(refused)) {
      expect(response.status).toBe(403);
      expect(await problemCode(response)).toBe('INSUFFICIENT_SCOPE');
    }
    const me = await server.request('/auth/me', { token });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ id: owner.id });
  });

  it("never reaches another user's data", async () => {
    const other = await server.signUp();
    const othersTask = (await (await createTask(other.token)).json()) as { id: string };
    const { token, id } = await makeToken(owner, { name: 'reader', scopes: ['tasks:read'] });
    expect((await server.request(`/tasks/${othersTask.id}`, { token })).status).toBe(404);
    // Nor can another user delete (or learn of) the owner's token.
    expect(await deleteToken(other, id)).toBe(404);
    expect((await server.request('/tasks', { token })).status).toBe(200);
  });
});

describe('revocation and expiry', () => {
  it('refuses a deleted token with 401, on both doors', async () => {
    const { token, id } = await makeToken(owner);
    expect((await server.request('/tasks', { token })).status).toBe(200);
    expect(await deleteToken(owner, id)).toBe(204);
    const after = await server.request('/tasks', { token });
    expect(after.status).toBe(401);
    expect(await problemCode(after)).toBe('UNAUTHENTICATED');
    await expect(trpcClient(server.baseUrl, token).tasks.list.query({})).rejects.toMatchObject({
      data: { code: 'UNAUTHENTICATED' },
    });
    expect(await deleteToken(owner, id)).toBe(404);
  });

  it('is refused by another instance within SESSION_CACHE_MS of its deletion', async () => {
    const frozen = { at: new Date() };
    const otherInstance = await startTestServer(
      { SESSION_CACHE_MS: '1000' },
      { database: server.database, clock: { now: () => frozen.at } },
    );
    try {
      const { token, id } = await makeToken(owner);
      const readOnOther = () => otherInstance.request('/tasks', { token });
      expect((await readOnOther()).status).toBe(200);
      expect(await deleteToken(owner, id)).toBe(204);
      // The other instance trusts what it checked less than SESSION_CACHE_MS ago...
      expect((await readOnOther()).status).toBe(200);
      frozen.at = new Date(frozen.at.getTime() + 1_000);
      // ...and then asks the database again.
      expect((await readOnOther()).status).toBe(401);
    } finally {
      await otherInstance.close();
    }
  });

  it('refuses an unknown token and an expired one with 401', async () => {
    const unknown = `tasks_pat_${'A'.repeat(43)}`;
    expect((await server.request('/tasks', { token: unknown })).status).toBe(401);

    const { token } = await makeToken(owner, {
      name: 'short-lived',
      scopes: ['tasks:read'],
      expiresInDays: 1,
    });
    expect((await server.request('/tasks', { token })).status).toBe(200);
    clock.offsetMs = dayMs + 1_000;
    try {
      expect((await server.request('/tasks', { token })).status).toBe(401);
    } finally {
      clock.offsetMs = 0;
    }
  });

  it('ends every token of the account when its password is reset', async () => {
    const user = await server.signUp();
    const { token } = await makeToken(user);
    const resetToken = 'reset-token-of-the-test';
    await server.db.accountToken.create({
      data: {
        userId: user.id,
        purpose: 'password_reset',
        tokenHash: createHash('sha256').update(resetToken).digest('hex'),
        expiresAt: new Date(Date.now() + 600_000),
      },
    });
    const reset = await server.request('/auth/password/reset', {
      method: 'POST',
      body: { token: resetToken, password: 'a brand new password' },
    });
    expect(reset.status).toBe(204);
    expect((await server.request('/tasks', { token })).status).toBe(401);
  });
});

describe('the OpenAPI document', () => {
  it('declares per operation which scope a token needs, and where tokens are refused', async () => {
    const document = (await (await server.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security: Record<string, string[]>[] }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual([
      'bearerAuth',
      'personalAccessToken',
    ]);
    const security = (path: string, method: string) => document.paths[path]?.[method]?.security;
    expect(security('/tasks', 'get')).toEqual([
      { bearerAuth: [] },
      { personalAccessToken: ['tasks:read'] },
    ]);
    expect(security('/tasks/{id}', 'patch')).toEqual([
      { bearerAuth: [] },
      { personalAccessToken: ['tasks:write'] },
    ]);
    expect(security('/webhooks', 'post')).toEqual([
      { bearerAuth: [] },
      { personalAccessToken: ['webhooks:write'] },
    ]);
    expect(security('/auth/me', 'get')).toEqual([{ bearerAuth: [] }, { personalAccessToken: [] }]);
    expect(security('/auth/tokens', 'post')).toEqual([{ bearerAuth: [] }]);
    expect(security('/auth/password', 'post')).toEqual([{ bearerAuth: [] }]);
    expect(security('/auth/login', 'post')).toEqual([]);
  });
});
