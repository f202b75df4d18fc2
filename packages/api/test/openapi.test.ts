import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { createOpenApiDocument, listRestOperations } from '../src/index.js';

const document = createOpenApiDocument({ baseUrl: 'http://localhost:3000' });
type Operation = {
  responses: Record<
    string,
    { content?: Record<string, unknown>; headers?: Record<string, unknown> }
  >;
  security?: unknown[];
};
const operation = (method: string, path: string) =>
  (document.paths?.[path] as Record<string, Operation> | undefined)?.[method] as Operation;

describe('OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    expect(document.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
  });

  it('lists each operation with its real success status', () => {
    const successStatuses = Object.fromEntries(
      listRestOperations().map(({ method, path }) => [
        `${method} ${path}`,
        Object.keys(operation(method.toLowerCase(), path).responses).filter((status) =>
          status.startsWith('2'),
        ),
      ]),
    );
    expect(successStatuses).toEqual({
      'POST /auth/register': ['201'],
      'POST /auth/login': ['200'],
      'POST /auth/refresh': ['200'],
      'POST /auth/logout': ['204'],
      'POST /auth/password': ['204'],
      'GET /auth/me': ['200'],
      'POST /auth/password/forgot': ['202'],
      'POST /auth/password/reset': ['204'],
      'POST /auth/email/verify': ['204'],
      'POST /auth/email/resend': ['202'],
      'POST /auth/tokens': ['201'],
      'GET /auth/tokens': ['200'],
      'DELETE /auth/tokens/{id}': ['204'],
      'POST /tasks': ['201'],
      'GET /tasks': ['200'],
      'GET /tasks/{id}': ['200'],
      'PATCH /tasks/{id}': ['200'],
      'DELETE /tasks/{id}': ['204'],
      'GET /tasks/changes': ['200'],
      'POST /webhooks': ['201'],
      'GET /webhooks': ['200'],
      'GET /webhooks/{id}': ['200'],
      'PATCH /webhooks/{id}': ['200'],
      'DELETE /webhooks/{id}': ['204'],
      'GET /webhooks/{id}/deliveries': ['200'],
      'POST /webhooks/{id}/ping': ['202'],
    });
  });

  it('documents the Location of a created task and no body for a deletion', () => {
    expect(operation('post', '/tasks').responses['201']?.headers).toHaveProperty('Location');
    expect(operation('delete', '/tasks/{id}').responses['204']?.content).toBeUndefined();
  });

  it('documents errors as problem+json and protects task routes with the bearer schemes', () => {
    const getTask = operation('get', '/tasks/{id}');
    expect(Object.keys(getTask.responses)).toEqual(
      expect.arrayContaining(['401', '404', '422', '500']),
    );
    expect(getTask.responses['404']?.content).toHaveProperty(['application/problem+json']);
    expect(getTask.security).toEqual([{ bearerAuth: [] }, { personalAccessToken: ['tasks:read'] }]);
    expect(Object.keys(getTask.responses['403'] ?? {})).not.toHaveLength(0);
    expect(operation('post', '/auth/login').security).toEqual([]);
    // Every answer that asks the client to come back later says when.
    for (const status of ['429', '503']) {
      expect(operation('post', '/auth/login').responses[status]?.headers).toHaveProperty(
        'Retry-After',
      );
    }
  });

  it('gives every operation a summary, description, tag and explicit security', () => {
    for (const { method, path } of listRestOperations()) {
      const described = operation(method.toLowerCase(), path) as Operation &
        Record<string, unknown>;
      expect(described, `${method} ${path}`).toMatchObject({
        summary: expect.any(String),
        description: expect.any(String),
        tags: [expect.any(String)],
        security: expect.any(Array),
      });
    }
  });

  it('gives the interactive docs real examples, not the extremes of a type', () => {
    // An integer without bounds is documented from -(2^53 - 1), which /docs shows as its example.
    const unbounded = JSON.stringify(document)
      .split(',')
      .filter((member) => member.includes(String(Number.MIN_SAFE_INTEGER)));
    expect(unbounded).toEqual([]);
    const schemas = document.components?.schemas ?? {};
    for (const [name, schema] of Object.entries(schemas)) {
      for (const [property, field] of Object.entries(
        (schema as { properties?: Record<string, Record<string, unknown>> }).properties ?? {},
      )) {
        const isReference = (member: Record<string, unknown>) =>
          '$ref' in member || member.type === 'null';
        const speaksForItself =
          ['examples', 'enum', 'const', '$ref', 'items'].some((key) => key in field) ||
          (Array.isArray(field.anyOf) &&
            (field.anyOf as Record<string, unknown>[]).every(isReference));
        expect(speaksForItself, `${name}.${property} has an example`).toBe(true);
      }
    }
  });

  it('moves If-Match and Idempotency-Key out of the body into headers', () => {
    const create = operation('post', '/tasks') as Operation & Record<string, unknown>;
    expect(JSON.stringify(create.requestBody)).not.toContain('idempotencyKey');
    expect(create.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }),
    );
    const remove = operation('delete', '/tasks/{id}') as Operation & Record<string, unknown>;
    expect(remove.parameters).not.toContainEqual(
      expect.objectContaining({ name: 'expectedVersion' }),
    );
    expect(remove.parameters).toContainEqual(
      expect.objectContaining({ name: 'If-Match', in: 'header' }),
    );
    expect(operation('get', '/tasks/{id}').responses['200']?.headers).toHaveProperty('ETag');
  });
});
