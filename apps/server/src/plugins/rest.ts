import {
  createCaller,
  createContext,
  ApiError,
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

function buildInput(operation: RestOperation, request: FastifyRequest): unknown {
  const params = request.params as Record<string, string>;
  if (operation.inputSource === 'none') return undefined;
  if (operation.inputSource === 'query') {
    return {
      ...operation.parseQuery(request.query as Record<string, string | string[]>),
      ...params,
    };
  }
  const body = request.body;
  // Path parameters win over body fields of the same name; a non-object body fails validation.
  return body !== null && typeof body === 'object' && !Array.isArray(body)
    ? { ...body, ...params }
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
      handler: async (request, reply) => {
        const caller = createCaller(createContext(services, requestDetails(request)));
        const output = await resolveProcedure(
          caller,
          operation.procedurePath,
        )(buildInput(operation, request));
        reply.code(operation.successStatus);
        if (operation.location) reply.header('location', fillTemplate(operation.location, output));
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
