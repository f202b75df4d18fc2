import { appRouter, rememberRequestId, type ApiError } from '@tasks/api';
import { getTRPCErrorShape, transformTRPCResponse } from '@trpc/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordOutcomes } from '../call-outcomes.js';

/**
 * Where `plugins/trpc.ts` mounts the tRPC adapter: one route, the procedures named after
 * `/trpc/`. A wildcard rather than a `:path` parameter: a batch's comma-joined names are longer
 * than the router allows any parameter (`maxParamLength`), and are bounded instead by the header
 * size and the batch size.
 */
export const trpcRoute = '/trpc/*';

export interface TrpcCalls {
  /** What follows `/trpc/`: one procedure, or a comma-separated batch. */
  path: string;
  paths: string[];
  isBatch: boolean;
}

const callsOfRequest = new WeakMap<FastifyRequest, TrpcCalls>();

/** The procedures of a /trpc request, split exactly as tRPC splits them (once per request). */
export function trpcCalls(request: FastifyRequest): TrpcCalls {
  let calls = callsOfRequest.get(request);
  if (!calls) {
    const { '*': path } = request.params as { '*': string };
    const isBatch = new URL(request.url, 'http://localhost').searchParams.get('batch') === '1';
    calls = { path, paths: isBatch ? path.split(',') : [path], isBatch };
    callsOfRequest.set(request, calls);
  }
  return calls;
}

/**
 * A /trpc request refused before tRPC runs (a rate limit, load shedding) gets tRPC's own error
 * envelope (one entry per call of a batch), so `@trpc/client` surfaces the catalogue code in
 * `error.data` like every other failure on that door.
 */
export function sendTrpcError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: ApiError,
): FastifyReply {
  const config = appRouter._def._config;
  const { path, paths, isBatch } = trpcCalls(request);
  // No procedure ran, so no context carries the request id into tRPC's error shape.
  rememberRequestId(error, request.id);
  recordOutcomes(request, [{ status: error.status, code: error.apiCode }]);
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
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', error.retryAfterSeconds);
  return reply
    .code(error.status)
    .type('application/json')
    .send(transformTRPCResponse(config, body));
}
