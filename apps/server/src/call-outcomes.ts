import type { ErrorCode } from '@tasks/api';
import type { FastifyRequest } from 'fastify';

/** How one call ended, as its door answered it. */
export interface CallOutcome {
  status: number;
  /** The catalogue code of a failure; absent on success. */
  code?: ErrorCode;
}

const outcomesOfRequest = new WeakMap<FastifyRequest, readonly CallOutcome[]>();

/**
 * Noted where a door writes its answer (a problem, tRPC's response), for whoever looks once the
 * response is finished (the request metrics): one outcome per call of a `/trpc` batch, in the
 * order of its calls, or one outcome that answered every call.
 */
export function recordOutcomes(request: FastifyRequest, outcomes: readonly CallOutcome[]): void {
  outcomesOfRequest.set(request, outcomes);
}

/** What was noted for the request; nothing for a REST success. */
export function outcomesOf(request: FastifyRequest): readonly CallOutcome[] | undefined {
  return outcomesOfRequest.get(request);
}
