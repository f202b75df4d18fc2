import type { Services } from './services/index.js';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The logging surface the API needs; pino's (and Fastify's request) logger satisfies it. */
export interface Logger {
  error(details: object, message?: string): void;
  warn(details: object, message?: string): void;
  info(details: object, message?: string): void;
}

/** What one request carries into a procedure, whichever door (`/trpc` or REST) it came through. */
export interface Context {
  services: Services;
  requestId: string;
  /** Raw `Authorization` header; `protectedProcedure` verifies it. */
  authorization: string | undefined;
  log: Logger;
}

export interface RequestDetails {
  requestId: string;
  authorization: string | undefined;
  log: Logger;
}

export function createContext(services: Services, request: RequestDetails): Context {
  return { services, ...request };
}
