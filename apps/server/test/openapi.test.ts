import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('GET /openapi.json', () => {
  it('serves a valid OpenAPI 3.1 document with the real success statuses', async () => {
    const response = await server.request('/openapi.json');
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      paths: Record<string, Record<string, { responses: object }>>;
    };
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
    expect(Object.keys(document.paths['/tasks']?.post?.responses ?? {})).toContain('201');
    expect(Object.keys(document.paths['/tasks/{id}']?.delete?.responses ?? {})).toContain('204');
    expect(Object.keys(document.paths['/tasks/{id}']?.delete?.responses ?? {})).not.toContain(
      '200',
    );
  });
});
