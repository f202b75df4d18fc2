import type { RequestDetails } from '@tasks/api';
import type { FastifyRequest } from 'fastify';

/** What both doors (`/trpc` and REST) hand to the API about one HTTP request. */
export function requestDetails(request: FastifyRequest): RequestDetails {
  return { requestId: request.id, authorization: request.headers.authorization, log: request.log };
}
