import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import {
  ApiError,
  createOpenApiDocument,
  createServices,
  listRestEventStreams,
  listRestOperations,
  systemClock,
  type Clock,
} from '@tasks/api';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { servicesConfig, type AppConfig } from './config.js';
import { boundConnections } from './connections.js';
import { connectBackends, createLogger, startConfiguredWorkers } from './backends.js';
import { enableGracefulClose } from './graceful-close.js';
import type { Metrics } from './metrics.js';
import { docsRoutes } from './plugins/docs.js';
import { eventStreamRoutes } from './plugins/event-streams.js';
import { healthRoutes } from './plugins/health.js';
import { registerLoadShedding } from './plugins/load-shedding.js';
import { registerProblemHandlers, sendProblem } from './plugins/problems.js';
import { registerRequestMetrics } from './plugins/request-metrics.js';
import { createRateLimiterFor, registerGlobalRateLimit } from './plugins/rate-limit.js';
import { computeSecurityHeaders, registerSecurityHeaders } from './plugins/security-headers.js';
import { restRoutes } from './plugins/rest.js';
import { callsIn, trpcRoutes } from './plugins/trpc.js';
import { logTraceIds } from './traces.js';

export interface AppDependencies {
  clock?: Clock;
  /** Where the app records its metrics (`METRICS_PORT`); the caller serves them. */
  metrics?: Metrics | undefined;
}

/** A client-supplied request id is echoed only when it is short and plain. */
const saneRequestId = /^[\w.:-]{1,128}$/;

/**
 * Request line plus headers, Node's default made explicit (a `--max-http-header-size` flag must
 * not raise it). Bigger requests, including over-long query strings, get Node's 431 before any
 * route runs.
 */
const maxHeaderBytes = 16_384;

/**
 * Longest path parameter: room for a 36-character id and more. Longer parameters get 404 like
 * any unknown route. (A /trpc batch's procedure names are a wildcard, bounded by the header size
 * and TRPC_MAX_BATCH_SIZE instead.)
 */
const maxParamLength = 500;

/** One log line per request, with its outcome, instead of Fastify's "incoming" + "completed". */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        url: request.url,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
        ...(error && { err: error }),
      },
      'request',
    );
  }
}

/** A hop count means "trust the nearest n proxies" (what Fastify does with a number at runtime). */
function trustProxyOption(trust: AppConfig['trustProxy']) {
  return typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : trust;
}

/** Builds the whole HTTP application; `server.ts` only listens, tests call this directly. */
export async function buildApp(
  config: AppConfig & { databaseUrl: string },
  { clock = systemClock, metrics }: AppDependencies = {},
): Promise<FastifyInstance> {
  const securityHeaders = computeSecurityHeaders({
    // The API serves JSON only: no document may load anything, or frame it.
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    // Cross-origin reads are governed by the CORS allow-list, not blanket-blocked.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
  const app = Fastify({
    loggerInstance: createLogger(config),
    bodyLimit: config.bodyLimitBytes,
    genReqId: (request) => {
      const supplied = request.headers['x-request-id'];
      return typeof supplied === 'string' && saneRequestId.test(supplied) ? supplied : randomUUID();
    },
    // Node checks head and request timeouts this often (its default, 30 s, would let a
    // trickling client keep its socket up to that long past them).
    http: { maxHeaderSize: maxHeaderBytes, connectionsCheckingInterval: 1_000 },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength },
    trustProxy: trustProxyOption(config.trustProxy),
    // A client that trickles its request, or idles on a kept-alive socket, is cut off.
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    logController: new OneLinePerRequest(),
    // Shutdown drains instead (see closeGracefully): requests on open connections are served.
    forceCloseConnections: false,
    return503OnClosing: false,
    // The router's own refusals (a path that is not valid percent-encoded UTF-8, a parameter
    // over maxParamLength) match no route: answered like any unknown route, as problem+json.
    frameworkErrors: (_error, request, reply) => {
      reply.headers(securityHeaders).header('x-request-id', request.id);
      sendProblem(request, reply, new ApiError('ROUTE_NOT_FOUND', 'No route matches this path'));
    },
  });
  // Traced (see tracing.ts: @fastify/otel joins every Fastify instance as it is created), each
  // request's log lines carry its trace id.
  if (config.tracing) logTraceIds(app);
  enableGracefulClose(app);
  boundConnections(app.server, config);
  // JSON is the only media type of request bodies (Fastify also parses text/plain by default):
  // anything else is 415 before it is read.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  if (metrics) {
    const restPaths = [...listRestOperations(), ...listRestEventStreams()].map(({ path }) => path);
    registerRequestMetrics(app, metrics, { restPaths });
  }

  if (config.jwt.isDevDefault) {
    app.log.warn(
      'JWT_SECRET is not set: using the insecure development secret. Never do this in production.',
    );
  }

  const { database, changeSignal } = connectBackends(config, app.log);
  app.addHook('onClose', () => database.close());
  app.addHook('onClose', () => changeSignal.close());
  metrics?.watchPool('app', database.pool);
  const { tasks, accounts, changes, webhooks } = database;
  const rateLimiter = await createRateLimiterFor(app, config.rateLimit);
  const services = createServices({
    tasks,
    accounts,
    changes,
    webhooks,
    changeSignal,
    clock,
    config: servicesConfig(config),
    rateLimiter,
  });
  // Streams end first on shutdown (clients resume elsewhere from their cursor), then the rest.
  app.addHook('preClose', (done) => {
    services.changes.close();
    done();
  });
  metrics?.watchEventStreams(() => services.changes.openStreams);
  if (config.jobs.inApi) {
    const workers = await startConfiguredWorkers(config, {
      database,
      feed: services.changes,
      clock,
      log: app.log,
      metrics,
    });
    // Before the database closes: running jobs finish, or go back to the queue.
    app.addHook('preClose', () => workers.stop());
  }

  registerSecurityHeaders(app, securityHeaders);
  const corsOrigins = new Set(config.corsOrigins);
  await app.register(cors, {
    // Exactly the listed origins get CORS headers, and any other request none at all (with a
    // list, @fastify/cors would still answer everyone `Access-Control-Allow-Credentials`). With
    // none listed the plugin is told so, not asked per request: the function costs every
    // request about 50 us of CPU (bench/results/cors-origin.md).
    origin:
      corsOrigins.size === 0
        ? false
        : (origin, allow) => {
            allow(null, origin !== undefined && corsOrigins.has(origin));
          },
    // @fastify/cors allows GET, HEAD and POST by default: a browser on another origin could not
    // change or delete a task.
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    // A web app on a listed origin signs in with the refresh token in a cookie (fetch with
    // `credentials: 'include'`). Request headers are allowed as asked, `X-Refresh-Token` included:
    // only the listed origins get an answer at all.
    credentials: true,
    // Browsers hide response headers from scripts unless listed; If-Match needs the ETag.
    exposedHeaders: [
      'location',
      'etag',
      'x-request-id',
      'www-authenticate',
      'retry-after',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
    ],
  });
  // Only the REST auth routes read or set a cookie (the refresh token's, in cookie mode): no
  // cookie is parsed on any other request.
  await app.register(cookie, { hook: false });
  registerProblemHandlers(app);
  await registerLoadShedding(app, config.loadShedding);
  registerGlobalRateLimit(app, {
    limiter: rateLimiter,
    budget: { max: config.rateLimit.max, windowMs: config.rateLimit.windowMs },
    callsIn,
  });

  const openApiDocument = createOpenApiDocument({ baseUrl: '/' });
  app.get('/openapi.json', async () => openApiDocument);
  await app.register(docsRoutes);
  await app.register(healthRoutes, {
    database,
    databaseUrl: config.databaseUrl,
    migrationsDir: config.migrationsDir,
  });
  await app.register(restRoutes, {
    operations: listRestOperations(),
    services,
    refreshCookie: config.refreshTokenCookie,
  });
  await app.register(eventStreamRoutes, {
    streams: listRestEventStreams(),
    services,
    limits: {
      heartbeatMs: config.changeFeed.heartbeatMs,
      slowClientMs: config.changeFeed.slowClientMs,
    },
  });
  await app.register(trpcRoutes, { services, maxBatchSize: config.trpcMaxBatchSize });
  return app;
}
