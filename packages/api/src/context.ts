import type { AuthenticatedCaller } from './services/auth-service.js';
import type { Services } from './services/index.js';
import type { TaskReads } from './services/task-service.js';

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
  /** Raw `Authorization` header; `protectedProcedure` verifies it through `authenticate`. */
  authorization: string | undefined;
  /** The client's address as the server trusts it (see TRUST_PROXY): what per-address budgets count. */
  clientAddress: string;
  log: Logger;
  /** Reads the calls of this request share, when it holds several (a `/trpc` batch). */
  taskReads: TaskReads | undefined;
  /**
   * The caller behind `authorization`, verified once per HTTP request: the calls of a `/trpc`
   * batch share one context, so ten reads check the token and the session once, not ten times.
   * Rejects with UNAUTHENTICATED.
   */
  authenticate(): Promise<AuthenticatedCaller>;
}

export interface RequestDetails {
  requestId: string;
  authorization: string | undefined;
  clientAddress: string;
  log: Logger;
  /** Default false: one call per request, as on REST. */
  batched?: boolean;
}

export function createContext(services: Services, request: RequestDetails): Context {
  let caller: Promise<AuthenticatedCaller> | undefined;
  const { batched = false, ...details } = request;
  return {
    services,
    ...details,
    taskReads: batched ? services.tasks.createReads() : undefined,
    authenticate: () => (caller ??= services.auth.authenticate(request.authorization)),
  };
}
