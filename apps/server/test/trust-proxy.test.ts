import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

/** Registers a fresh account as if from `forwardedFor`, through a proxy header. */
const register = (server: TestServer, forwardedFor: string) =>
  server.request('/auth/register', {
    method: 'POST',
    body: { email: `proxy-${Math.random()}@example.com`, password: 'correct horse battery' },
    headers: { 'x-forwarded-for': forwardedFor },
  });

describe.each([
  { trust: 'true', separateBudgets: true },
  { trust: 'false', separateBudgets: false },
])('TRUST_PROXY=$trust', ({ trust, separateBudgets }) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ TRUST_PROXY: trust, AUTH_RATE_LIMIT_MAX_PER_IP: '1' });
  });
  afterAll(() => server.close());

  it(`${separateBudgets ? 'uses' : 'ignores'} X-Forwarded-For as the client address`, async () => {
    expect((await register(server, '203.0.113.1')).status).toBe(201);
    expect((await register(server, '203.0.113.1')).status).toBe(429);
    expect((await register(server, '203.0.113.2')).status).toBe(separateBudgets ? 201 : 429);
  });
});
