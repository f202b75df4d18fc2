import { appRouter } from '@tasks/api';
import type { FastifyInstance } from 'fastify';
import { outcomesOf } from '../call-outcomes.js';
import type { Door, Metrics } from '../metrics.js';
import { trpcCalls, trpcRoute } from './trpc-envelope.js';

/** The label of a `/trpc` call to no procedure: the names a client sends are unbounded. */
const unknownProcedure = 'unknown';

/** The labels of a request no route matched (a 404): its raw path is unbounded. */
const unmatched = { door: 'other', route: 'unmatched' } as const;

/**
 * Observes every answered request once it is finished (`tasks_request_duration_seconds` and
 * `tasks_request_errors_total`): REST routes by their OpenAPI template (`/tasks/{id}`), each
 * call of a `/trpc` request by its procedure. A batch's calls each get the batch's time: tRPC
 * answers them together, so that is what each caller waited (a call's own time inside the batch
 * is for traces). Registered before the routes, so that it sees each of them added.
 */
export function registerRequestMetrics(
  app: FastifyInstance,
  metrics: Metrics,
  { restPaths }: { restPaths: readonly string[] },
): void {
  const procedures = new Set(Object.keys(appRouter._def.procedures));
  const rest = new Set(restPaths);
  // Labels per route, worked out once when the route is added, not per request.
  const labelsOfRoute = new Map<string, { door: Door; route: string }>();
  app.addHook('onRoute', ({ url }) => {
    const template = url.replace(/:(\w+)/g, '{$1}');
    labelsOfRoute.set(
      url,
      rest.has(template) ? { door: 'rest', route: template } : { door: 'other', route: url },
    );
  });

  app.addHook('onResponse', (request, reply, done) => {
    const seconds = reply.elapsedTime / 1000;
    const { method } = request;
    const outcomes = outcomesOf(request);
    const url = request.routeOptions.url;
    if (url === trpcRoute) {
      const { paths } = trpcCalls(request);
      paths.forEach((path, index) => {
        const outcome = outcomes?.[index] ?? outcomes?.[0];
        metrics.request(
          {
            door: 'trpc',
            route: procedures.has(path) ? path : unknownProcedure,
            method,
            status: outcome?.status ?? reply.statusCode,
            code: outcome?.code,
          },
          seconds,
        );
      });
    } else {
      const labels = (url === undefined ? undefined : labelsOfRoute.get(url)) ?? unmatched;
      metrics.request(
        { ...labels, method, status: reply.statusCode, code: outcomes?.[0]?.code },
        seconds,
      );
    }
    done();
  });
}
