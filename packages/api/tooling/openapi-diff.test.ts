import { describe, expect, it } from 'vitest';
import { findBreakingChanges } from './openapi-diff.js';

const task = {
  type: 'object',
  properties: { id: { type: 'string' }, title: { type: 'string' } },
  required: ['id'],
};
const base = {
  paths: {
    '/tasks': {
      post: {
        parameters: [{ name: 'Idempotency-Key', in: 'header', required: false }],
        requestBody: {
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  title: { type: 'string' },
                  status: { type: 'string', enum: ['open', 'done'] },
                },
                required: ['title'],
              },
            },
          },
        },
        responses: {
          '201': {
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Task' } } },
          },
        },
      },
    },
    '/tasks/{id}': { delete: { responses: { '204': {} } } },
  },
  components: { schemas: { Task: task } },
};

type Document = typeof base;
const changed = (mutate: (document: Document) => void) => {
  const copy = structuredClone(base);
  mutate(copy);
  return findBreakingChanges(base, copy);
};

describe('findBreakingChanges', () => {
  it('finds nothing between identical documents, or for additions', () => {
    expect(findBreakingChanges(base, base)).toEqual([]);
    expect(
      changed((d) => {
        d.components.schemas.Task.properties = {
          ...task.properties,
          extra: { type: 'string' },
        } as never;
      }),
    ).toEqual([]);
  });

  it.each([
    [
      'a removed operation',
      (d: Document) => delete (d.paths as Record<string, unknown>)['/tasks/{id}'],
      'DELETE /tasks/{id}: operation removed',
    ],
    [
      'a changed success status',
      (d: Document) => {
        const responses = d.paths['/tasks'].post.responses as Record<string, unknown>;
        responses['200'] = responses['201'];
        delete responses['201'];
      },
      'success status 201 became 200',
    ],
    [
      'a new required parameter',
      (d: Document) =>
        d.paths['/tasks'].post.parameters.push({ name: 'X-Tenant', in: 'header', required: true }),
      'new required header parameter "X-Tenant"',
    ],
    [
      'a newly required field',
      (d: Document) =>
        d.paths['/tasks'].post.requestBody.content['application/json'].schema.required.push(
          'status',
        ),
      'request field "status" became required',
    ],
    [
      'a removed enum value',
      (d: Document) =>
        (d.paths['/tasks'].post.requestBody.content[
          'application/json'
        ].schema.properties.status.enum = ['open']),
      'no longer accepts done',
    ],
    [
      'a removed response field',
      (d: Document) =>
        delete (d.components.schemas.Task.properties as Record<string, unknown>).title,
      'response field "title" removed',
    ],
    [
      'a changed response type',
      (d: Document) => (d.components.schemas.Task.properties.id = { type: 'integer' }),
      'response field "id" changed type',
    ],
  ])('flags %s', (_, mutate, expected) => {
    expect(changed(mutate).join('\n')).toContain(expected);
  });
});
