import { ApiError, problemContentType, toApiError, toProblem, type ErrorCode } from '@tasks/api';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recordOutcomes } from '../call-outcomes.js';
import { sendTrpcError, trpcRoute } from './trpc-envelope.js';

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

/** `Retry-After` for an error that says how long to wait, unless a limiter already set it. */
function setRetryAfter(reply: FastifyReply, error: ApiError): void {
  const seconds = error.retryAfterSeconds;
  if (seconds !== undefined && !reply.hasHeader('retry-after')) {
    reply.header('retry-after', seconds);
  }
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
  recordOutcomes(request, [{ status: error.status, code: error.apiCode }]);
  return reply.code(error.status).type(problemContentType).send(toProblem(error, request.id));
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
