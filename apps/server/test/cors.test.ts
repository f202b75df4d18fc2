/**
 * A browser app on another origin (CORS_ORIGINS): its preflights allow every method and header
 * the API uses, and the headers it must read are exposed to its scripts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

const origin = 'https://app.example.com';
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CORS_ORIGINS: origin });
});
afterAll(() => server.close());

it.each(['PATCH', 'DELETE', 'POST', 'GET'])('lets %s through a preflight', async (method) => {
  const preflight = await fetch(`${server.baseUrl}/tasks/01963a5e-7c1a-7b4e-9f35-2f9c1d7e8a10`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization, content-type, if-match, last-event-id',
    },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
  expect(preflight.headers.get('access-control-allow-methods')?.split(/,\s*/)).toContain(method);
});

it('refuses an origin it does not know, and exposes what scripts must read', async () => {
  const foreign = await fetch(`${server.baseUrl}/health`, {
    headers: { origin: 'https://evil.example.com' },
  });
  expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  const allowed = await fetch(`${server.baseUrl}/health`, { headers: { origin } });
  expect(allowed.headers.get('access-control-expose-headers')).toContain('etag');
});
