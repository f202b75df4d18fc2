import { IncomingMessage, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * helmet's response headers for these options. They depend on nothing in the request, so they
 * are computed once at boot: @fastify/helmet builds a new helmet middleware on every request
 * (re-parsing the CSP directives each time), a visible share of a task read's CPU in the
 * benchmark's profiles (bench/results).
 */
export function computeSecurityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      Reflect.deleteProperty(headers, name.toLowerCase());
    },
  };
  // helmet reads nothing from the request; an unconnected one stands in for it.
  const request = new IncomingMessage(new Socket());
  helmet(options)(request, response as unknown as ServerResponse, (error?: unknown) => {
    if (error !== undefined) throw new Error('helmet refused its options', { cause: error });
  });
  return headers;
}

/** Sends `headers` on every response, including the router's own refusals. */
export function registerSecurityHeaders(
  app: FastifyInstance,
  headers: Record<string, string>,
): void {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
