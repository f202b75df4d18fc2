// The server's side of tracing, through the OpenTelemetry API only: the SDK itself is started,
// when configured, by `tracing.ts` before the entry point runs.
import { spanContextOf } from '@tasks/db';
import { SpanKind, SpanStatusCode, trace, type Link } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';

const tracer = trace.getTracer('@tasks/server');

/**
 * Every line a request logs carries its trace: its request logger gets the trace and span id of
 * the request's span (@fastify/otel's, whose context this hook runs in), so a log line leads to
 * its trace and back.
 */
export function logTraceIds(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    const span = trace.getActiveSpan();
    if (span) {
      const { traceId, spanId } = span.spanContext();
      request.log = request.log.child({ traceId, spanId });
      reply.log = request.log;
    }
    done();
  });
}

/**
 * Sends the spans still buffered; before `process.exit`, which would drop them. The API has no
 * flush, the SDK's provider behind its global proxy has; without an SDK there is nothing to send.
 */
export async function flushTraces(): Promise<void> {
  const proxy = trace.getTracerProvider() as { getDelegate?: () => object };
  const provider = proxy.getDelegate?.() as { forceFlush?: () => Promise<void> } | undefined;
  await provider?.forceFlush?.();
}

interface RunningJob {
  id: string;
  name: string;
  attempt: number;
  /** Its payload, which holds `traceparent` when a traced request enqueued it. */
  payload: unknown;
}

/**
 * Runs one job in a span of its own: a trace of its own (a job may run long after, and more than
 * once), linked to the trace of the request that enqueued it. What the job queries and sends
 * nests under it.
 */
export function traceJob<T>(job: RunningJob, run: () => Promise<T>): Promise<T> {
  const enqueuedBy = spanContextOf((job.payload as { traceparent?: unknown } | null)?.traceparent);
  const links: Link[] = enqueuedBy ? [{ context: enqueuedBy }] : [];
  return tracer.startActiveSpan(
    `job ${job.name}`,
    {
      root: true,
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        'messaging.system': 'graphile_worker',
        'messaging.operation.type': 'process',
        'messaging.destination.name': job.name,
        'messaging.message.id': job.id,
        'tasks.job.attempt': job.attempt,
      },
    },
    async (span) => {
      try {
        return await run();
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
