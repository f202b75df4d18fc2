import type { RequestDetails } from '@tasks/api';
import type { FastifyRequest } from 'fastify';
import { Address6 } from 'ip-address';
import { isIPv6 } from 'node:net';

/**
 * The client's address as budgets count it: IPv4 as is (an IPv4-mapped IPv6 address as its IPv4),
 * IPv6 by its /64, since one subscriber usually holds a whole /64 and could rotate through it.
 */
export function clientAddress(request: FastifyRequest): string {
  const { ip } = request;
  if (!isIPv6(ip)) return ip;
  const address = new Address6(ip);
  if (address.isMapped4()) return address.to4().correctForm();
  return new Address6(`${ip}/64`).startAddress().correctForm();
}

/** What both doors (`/trpc` and REST) hand to the API about one HTTP request. */
export function requestDetails(request: FastifyRequest): RequestDetails {
  return {
    requestId: request.id,
    authorization: request.headers.authorization,
    clientAddress: clientAddress(request),
    log: request.log,
  };
}
