import {
  ApiError,
  appRouter,
  problemContentType,
  rememberRequestId,
  toApiError,
  toProblem,
  type ErrorCode,
} from '@tasks/api';
import { getTRPCErrorShape, transformTRPCResponse } from '@trpc/server';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Seconds a client should wait before retrying after a 503: an overload or a database fault is
 * usually over in moments, and a short pause keeps retries from feeding the overload.
 */
const serviceUnavailableRetryAfterSeconds = 2;

/** Where `plugins/trpc.ts` mounts the tRPC adapter: one route, procedures named in `:path`. */
export const trpcRoute = '/trpc/:path';

/** Fastify's own request failures (parsing, limits) expressed in the catalogue. */
const fastifyErrorCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

const codeByClientStatus: Partial<Record<number, ErrorCode>> = {
  400: 'MALFORMED_JSON',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

function fromFastifyError(error: FastifyError): ApiError | undefined {
  const code =
    fastifyErrorCodes[error.code] ??
    (error.statusCode ? codeByClientStatus[error.statusCode] : undefined);
  return code ? new ApiError(code, error.message, { cause: error }) : undefined;
}

/** `Retry-After` of an error: its own, else a short pause for any 503. */
export function retryAfterSeconds(error: ApiError): number | undefined {
  return (
    error.retryAfterSeconds ??
    (error.status === 503 ? serviceUnavailableRetryAfterSeconds : undefined)
  );
}

function setRetryAfter(reply: FastifyReply, error: ApiError): void {
  const seconds = retryAfterSeconds(error);
  if (seconds !== undefined && !reply.hasHeader('retry-after'))
    reply.header('retry-after', seconds);
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  error: ApiError,
): FastifyReply {
  if (error.apiCode === 'UNAUTHENTICATED' || error.apiCode === 'INVALID_CREDENTIALS') {
    reply.header('www-authenticate', 'Bearer');
  }
  setRetryAfter(reply, error);
  return reply.code(error.status).type(problemContentType).send(toProblem(error, request.id));
}

export interface TrpcCalls {
  /** The `:path` parameter: one procedure, or a comma-separated batch. */
  path: string;
  paths: string[];
  isBatch: boolean;
}

/** The procedures of a /trpc request, split exactly as tRPC splits them. */
export function trpcCalls(request: FastifyRequest): TrpcCalls {
  const { path } = request.params as { path: string };
  const isBatch = new URL(request.url, 'http://localhost').searchParams.get('batch') === '1';
  return { path, paths: isBatch ? path.split(',') : [path], isBatch };
}

/**
 * A /trpc request refused before tRPC runs (a rate limit, load shedding) gets tRPC's own error
 * envelope (one entry per call of a batch), so `@trpc/client` surfaces the catalogue code in
 * `error.data` like every other failure on that door.
 */
function sendTrpcError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: ApiError,
): FastifyReply {
  const config = appRouter._def._config;
  const { path, paths, isBatch } = trpcCalls(request);
  // No procedure ran, so no context carries the request id into tRPC's error shape.
  rememberRequestId(error, request.id);
  const errorFor = (procedure: string) => ({
    error: getTRPCErrorShape({
      config,
      error,
      type: 'unknown',
      path: procedure,
      input: undefined,
      ctx: undefined,
    }),
  });
  const body = isBatch ? paths.map(errorFor) : errorFor(path);
  setRetryAfter(reply, error);
  return reply
    .code(error.status)
    .type('application/json')
    .send(transformTRPCResponse(config, body));
}

/**
 * Every failure outside tRPC's own handling leaves in its door's shape: problem+json on REST,
 * tRPC's envelope on `/trpc` (a refused body, a rate limit, load shedding). Procedure errors
 * arrive here already mapped (and logged) by the tRPC middleware; anything else is mapped now
 * and logged when it is a 5xx.
 */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError =
      error instanceof ApiError ? error : (fromFastifyError(error) ?? toApiError(error));
    if (apiError.status >= 500 && !(error instanceof ApiError)) {
      request.log.error({ err: error }, 'request failed');
    }
    if (request.routeOptions.url === trpcRoute) return sendTrpcError(request, reply, apiError);
    return sendProblem(request, reply, apiError);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      new ApiError('ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
}
