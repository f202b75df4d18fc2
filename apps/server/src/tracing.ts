// Loaded with `node --import` before the entry point (`pnpm start`, the image, `pnpm dev`, the
// tests' servers), because instrumentations patch `pg` as it is loaded, and an ES module graph
// is loaded whole before any of it runs. With no OTLP endpoint configured it only reads the
// configuration: neither the SDK nor an instrumentation is even loaded.
import { register } from 'node:module';
import { tracingConfig } from './config.js';

/** Probes, every few seconds: a trace each would bury the requests'. */
const untracedPaths = new Set(['/health', '/ready']);

const tracing = tracingConfig();
if (tracing) await startTracing(tracing);

async function startTracing({ serviceName }: NonNullable<typeof tracing>): Promise<void> {
  // import-in-the-middle wraps only the modules an instrumentation asks for (`pg`), told over
  // this channel, instead of every module the process loads.
  const { createAddHookMessageChannel } = await import('import-in-the-middle');
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const [
    { NodeSDK },
    { PgInstrumentation },
    { FastifyOtelInstrumentation },
    { PrismaInstrumentation },
  ] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-pg'),
    import('@fastify/otel'),
    import('@prisma/instrumentation'),
  ]);
  const sdk = new NodeSDK({
    serviceName,
    instrumentations: [
      new FastifyOtelInstrumentation({
        // Joins every Fastify instance as it is created, so the app needs no OpenTelemetry code.
        registerOnInitialization: true,
        // The request span and the handler's; a span per hook function would outnumber them.
        instrumentHooks: false,
        ignorePaths: ({ url }) => untracedPaths.has(url),
        requestHook: (span, { method, routeOptions }) => {
          span.updateName(`${method} ${routeOptions.url ?? 'unmatched'}`);
        },
      }),
      // Every statement, Prisma's (through its pg adapter) and the hand-written ones alike;
      // only inside a request's or a job's trace, not the queue's polling and heartbeats.
      new PgInstrumentation({ requireParentSpan: true }),
      // Prisma's own work around the SQL: which model operation, and its query compilation.
      new PrismaInstrumentation({ ignoreSpanTypes: ['prisma:client:db_query'] }),
    ],
    // Traces only: metrics are Prometheus's (METRICS_PORT) and logs go to stdout. Unset, the SDK
    // would also export both over OTLP.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  await waitForAllMessagesAcknowledged();
}
