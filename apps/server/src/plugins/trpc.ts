import {
  ApiError,
  appRouter,
  createContext,
  rememberRequestId,
  toApiError,
  type Services,
} from '@tasks/api';
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { recordOutcomes } from '../call-outcomes.js';
import { requestDetails } from '../request-details.js';
import { trpcCalls, trpcRoute } from './trpc-envelope.js';

const jsonLines = 'application/jsonl';

/** How many procedure calls a request holds: several for a `/trpc` batch, else one. */
export function callsIn(request: FastifyRequest): number {
  return request.routeOptions.url === trpcRoute ? trpcCalls(request).paths.length : 1;
}

/**
 * tRPC's JSON-lines streaming answers 200 before any call has run, whatever the calls end
 * with; this API does not offer it, so such a request is answered as plain JSON with its real
 * status.
 */
function withoutJsonLines(request: FastifyRequest): void {
  delete request.headers['trpc-accept'];
  const accept = request.headers.accept;
  if (accept?.includes(jsonLines)) request.headers.accept = 'application/json';
}

/**
 * `/trpc` for TypeScript clients (superjson, batching), on tRPC's Fastify request handler. Its
 * plugin is not used: it registers a `multipart/form-data` parser that hands tRPC the raw
 * stream, which then reads it whole, however large. Here only JSON is parsed (as text, which
 * tRPC decodes with its transformer), within Fastify's body limit; any other body is 415 before
 * a byte of it is read. A batch over `maxBatchSize` calls is 413 before any runs.
 */
export async function trpcRoutes(
  app: FastifyInstance,
  { services, maxBatchSize }: { services: Services; maxBatchSize: number },
): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    done(null, body);
  });

  app.addHook('onRequest', async (request) => {
    const calls = callsIn(request);
    if (calls > maxBatchSize) {
      throw new ApiError(
        'PAYLOAD_TOO_LARGE',
        `A batch holds at most ${maxBatchSize} calls; this one has ${calls}`,
      );
    }
    withoutJsonLines(request);
  });

  app.all(trpcRoute, async (request, reply) => {
    await fastifyRequestHandler({
      router: appRouter,
      req: request,
      res: reply,
      path: trpcCalls(request).path,
      allowBatching: true,
      createContext: ({ info }) =>
        createContext(services, {
          ...requestDetails(request),
          batched: info.calls.length > 1,
        }),
      onError: ({ error, ctx }) => {
        if (!ctx) rememberRequestId(error, request.id);
      },
      // tRPC leaves the media type of an error it raises itself to the platform (text/plain).
      responseMeta: ({ data, errors, info, type }) => {
        recordOutcomes(
          request,
          data.map((response) =>
            'error' in response
              ? { status: response.error.data.httpStatus, code: response.error.data.code }
              : { status: 200 },
          ),
        );
        // A subscription's stream keeps tRPC's own media type (text/event-stream).
        if (type === 'subscription' && errors.length === 0) return {};
        const failures = errors.map(toApiError);
        const waits = failures.map((failure) => failure.retryAfterSeconds ?? 0);
        const retryAfter = Math.max(0, ...waits);
        const [only] = failures;
        return {
          // A lone failed call answers with its catalogue status, also where tRPC has no code
          // for it (410 CHANGES_EXPIRED).
          ...(only && info?.calls.length === 1 && { status: only.status }),
          headers: {
            'content-type': 'application/json',
            ...(retryAfter > 0 && { 'retry-after': String(retryAfter) }),
          },
        };
      },
    });
  });
}
