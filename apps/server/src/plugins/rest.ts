import {
  createContext,
  ApiError,
  refreshTokenCookie,
  type RestOperation,
  type Services,
} from '@tasks/api';
import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify';
import { z } from 'zod';
import { requestDetails } from '../request-details.js';
import { refreshTokenCookieRun, type RefreshTokenCookieSettings } from './refresh-token-cookie.js';

const servedMethods: HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * The output schema as plain JSON Schema, for Fastify to compile a serializer from
 * (fast-json-stringify): much faster than `JSON.stringify`, which spends most of its time on
 * the Dates (bench/results). The output is already validated
 * by then, so the schema only says how to write it. No documentation metadata (an empty
 * registry): examples and ids are the OpenAPI document's business.
 */
function serializerSchema({
  outputSchema,
  refreshTokenCookie: cookie,
}: RestOperation): Record<string, unknown> | undefined {
  if (!outputSchema) return undefined;
  const schema = z.toJSONSchema(outputSchema, {
    io: 'output',
    target: 'draft-07',
    unrepresentable: 'any',
    metadata: z.registry(),
    // Dates leave as ISO 8601 strings, as `JSON.stringify` writes them.
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema._zod.def.type === 'date') {
        Object.assign(jsonSchema, { type: 'string', format: 'date-time' });
      }
    },
  });
  // In cookie mode the refresh token leaves in `Set-Cookie`, not in the body.
  if (cookie?.issues && Array.isArray(schema.required)) {
    schema.required = schema.required.filter((name) => name !== refreshTokenCookie.field);
  }
  return schema;
}

/** `/tasks/{id}` (OpenAPI) -> `/tasks/:id` (Fastify). */
function toFastifyPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

function fillTemplate(template: string, values: unknown): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) =>
    encodeURIComponent(String((values as Record<string, unknown>)[key])),
  );
}

function headerValue(request: FastifyRequest, header: string): string | undefined {
  const value = request.headers[header.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Input fields REST carries in headers; the same fields in the body or query are ignored. */
export function inputsFromHeaders(
  operation: Pick<RestOperation, 'headerInputs'>,
  request: FastifyRequest,
) {
  const inputs: Record<string, unknown> = {};
  for (const { header, field, parse } of operation.headerInputs) {
    const value = headerValue(request, header);
    if (value !== undefined) inputs[field] = parse(value);
  }
  return inputs;
}

export function withoutHeaderFields(
  operation: Pick<RestOperation, 'headerInputs'>,
  values: Record<string, unknown>,
) {
  // Most operations take nothing from headers: no copy on their hot path.
  if (operation.headerInputs.length === 0) return values;
  const headerFields = new Set<string>(operation.headerInputs.map(({ field }) => field));
  return Object.fromEntries(Object.entries(values).filter(([key]) => !headerFields.has(key)));
}

function buildInput(operation: RestOperation, request: FastifyRequest): unknown {
  const params = request.params as Record<string, string>;
  if (operation.inputSource === 'none') return undefined;
  const fromHeaders = inputsFromHeaders(operation, request);
  if (operation.inputSource === 'query') {
    const query = operation.parseQuery(request.query as Record<string, string | string[]>);
    return { ...withoutHeaderFields(operation, query), ...fromHeaders, ...params };
  }
  // No body at all (a POST whose input is its path, such as a ping) is an empty one.
  const body: unknown = request.body ?? {};
  // Path parameters win over body fields of the same name; a non-object body fails validation.
  return body !== null && typeof body === 'object' && !Array.isArray(body)
    ? {
        ...withoutHeaderFields(operation, body as Record<string, unknown>),
        ...fromHeaders,
        ...params,
      }
    : body;
}

/**
 * Serves each REST operation declared in procedure meta as a native Fastify route, so Fastify's
 * body parsing, limits, hooks and error handler apply (trpc-to-openapi's own Fastify plugin is a
 * catch-all that writes to the raw response and bypasses them). The procedure runs through
 * tRPC's caller: same middleware, validation and error mapping as `/trpc`.
 */
export async function restRoutes(
  app: FastifyInstance,
  {
    operations,
    services,
    refreshCookie,
  }: {
    operations: RestOperation[];
    services: Services;
    /** How the cookie of clients that opt in to it is set (see refresh-token-cookie.ts). */
    refreshCookie: RefreshTokenCookieSettings;
  },
): Promise<void> {
  for (const operation of operations) {
    const successBody = serializerSchema(operation);
    app.route({
      method: operation.method,
      url: toFastifyPath(operation.path),
      ...(successBody && { schema: { response: { [operation.successStatus]: successBody } } }),
      handler: async (request, reply) => {
        const context = createContext(services, requestDetails(request));
        const withCookie = refreshTokenCookieRun(operation, request, reply, refreshCookie);
        const input = buildInput(operation, request);
        const output = withCookie
          ? await withCookie(input, (filled) => operation.invoke(context, filled))
          : await operation.invoke(context, input);
        reply.code(operation.successStatus);
        if (operation.location) reply.header('location', fillTemplate(operation.location, output));
        if (operation.etag) reply.header('etag', `"${(output as { version: number }).version}"`);
        return operation.successStatus === 204 ? reply.send() : output;
      },
    });
  }

  // A known path with another method is 405 with `Allow`, not 404.
  const methodsByPath = new Map<string, HTTPMethods[]>();
  for (const { path, method } of operations)
    methodsByPath.set(path, [...(methodsByPath.get(path) ?? []), method]);
  for (const [path, allowed] of methodsByPath) {
    const allowHeader = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])].join(', ');
    app.route({
      method: servedMethods.filter((method) => !allowed.includes(method)),
      url: toFastifyPath(path),
      handler: async (request, reply) => {
        reply.header('allow', allowHeader);
        throw new ApiError(
          'METHOD_NOT_ALLOWED',
          `${request.method} is not allowed here; use ${allowHeader}`,
        );
      },
    });
  }
}
