import {
  createCaller,
  createContext,
  ApiError,
  validationError,
  type HeaderInput,
  type RestOperation,
  type Services,
} from '@tasks/api';
import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify';
import { requestDetails } from '../request-details.js';

type Caller = ReturnType<typeof createCaller>;
type ProcedureCall = (input: unknown) => Promise<unknown>;

const servedMethods: HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

function resolveProcedure(caller: Caller, procedurePath: string): ProcedureCall {
  return procedurePath
    .split('.')
    .reduce<unknown>(
      (node, key) => (node as Record<string, unknown>)[key],
      caller,
    ) as ProcedureCall;
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

/** `If-Match: "3"` -> 3; `*` (any version) or no header -> no condition. */
function parseIfMatch(value: string): number | undefined {
  if (value.trim() === '*') return undefined;
  const match = /^\s*"(\d{1,9})"\s*$/.exec(value);
  if (!match) {
    throw validationError([
      {
        path: 'If-Match',
        code: 'invalid_etag',
        message: 'Send one ETag of this API, like "3", or *',
      },
    ]);
  }
  return Number(match[1]);
}

function headerValue(request: FastifyRequest, header: HeaderInput['header']): string | undefined {
  const value = request.headers[header.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Input fields REST carries in headers; the same fields in the body or query are ignored. */
function inputsFromHeaders(operation: RestOperation, request: FastifyRequest) {
  const inputs: Record<string, unknown> = {};
  for (const { header, field } of operation.headerInputs) {
    const value = headerValue(request, header);
    if (value !== undefined) inputs[field] = header === 'If-Match' ? parseIfMatch(value) : value;
  }
  return inputs;
}

function withoutHeaderFields(operation: RestOperation, values: Record<string, unknown>) {
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
  const body = request.body;
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
  { operations, services }: { operations: RestOperation[]; services: Services },
): Promise<void> {
  for (const operation of operations) {
    app.route({
      method: operation.method,
      url: toFastifyPath(operation.path),
      ...(operation.successBodySchema && {
        schema: { response: { [operation.successStatus]: operation.successBodySchema } },
      }),
      handler: async (request, reply) => {
        const caller = createCaller(createContext(services, requestDetails(request)));
        const output = await resolveProcedure(
          caller,
          operation.procedurePath,
        )(buildInput(operation, request));
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
