/** Oversized requests are refused by Fastify or Node before any route runs, never with a 500. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** Plain fetch, outside the harness's OpenAPI check: Node's parser answers 431 before any route. */
const refused = (path: string, headers?: Record<string, string>) =>
  fetch(`${server.baseUrl}${path}`, { headers });

describe('request size limits', () => {
  it('routes path parameters up to 500 characters and answers longer ones like unknown routes', async () => {
    expect((await server.request(`/tasks/${'a'.repeat(500)}`)).status).toBe(401);
    const tooLong = await server.request(`/tasks/${'a'.repeat(501)}`);
    expect(tooLong.status).toBe(404);
    expect(tooLong.headers.get('x-request-id')).toBeTruthy();
    expect(await tooLong.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });

  it('answers a path that is not percent-encoded UTF-8 like an unknown route', async () => {
    const undecodable = await server.request('/tasks/%ED%A0%80');
    expect(undecodable.status).toBe(404);
    // Refused by the router before any hook runs, yet with the same security headers.
    expect(undecodable.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(undecodable.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await undecodable.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });

  it('serves a /trpc batch of forty procedures (longer than the Fastify default allows)', async () => {
    const paths = Array.from({ length: 40 }, () => 'auth.me').join(',');
    const response = await server.request(`/trpc/${paths}?batch=1`);
    expect(response.status).toBe(401);
    expect((await response.json()) as unknown[]).toHaveLength(40);
  });

  it('serves a /trpc batch of 50 of the longest procedure names, longer than any path parameter may be', async () => {
    // Found by the fuzzer: the names were a route parameter, cut at 500 characters into a 404.
    const names = (count: number) => Array.from({ length: count }, () => 'auth.changePassword');
    const full = await server.request(`/trpc/${names(50).join(',')}?batch=1`, {
      method: 'POST',
      body: {},
    });
    expect(full.status).toBe(401);
    expect((await full.json()) as unknown[]).toHaveLength(50);
    const over = await server.request(`/trpc/${names(51).join(',')}?batch=1`, {
      method: 'POST',
      body: {},
    });
    expect(over.status).toBe(413);
  });

  it('answers more than 16 KiB of headers with 431', async () => {
    const big = (size: number) => ({ 'x-big': 'a'.repeat(size) });
    expect((await server.request('/health', { headers: big(15_000) })).status).toBe(200);
    expect((await refused('/health', big(17_000))).status).toBe(431);
  });

  it('bounds the query string by the same 16 KiB', async () => {
    expect((await server.request(`/tasks?q=${'a'.repeat(8_000)}`)).status).toBe(401);
    expect((await refused(`/tasks?q=${'a'.repeat(17_000)}`)).status).toBe(431);
  });
});
