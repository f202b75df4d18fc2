import { createHash } from 'node:crypto';
import { once } from 'node:events';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import { ApiError, appRouter, listRestOperations } from '@tasks/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config.js';
import { sendTrpcError, trpcCalls, trpcRoute, type TrpcCalls } from './problems.js';

/** The procedures that guess or spend a secret, counted per client IP and per targeted account. */
const authProcedures = new Set(['auth.login', 'auth.register', 'auth.refresh']);

/** REST route -> procedure, from the same meta the REST adapter registers routes from. */
const restAuthProcedures = new Map<string, string>(
  listRestOperations()
    .filter((operation) => authProcedures.has(operation.procedurePath))
    .map((operation) => [operation.path, operation.procedurePath]),
);

/** Load balancers and orchestrators probe these constantly; a 429 would take the instance out. */
const probeRoutes = new Set(['/health', '/ready']);

/** One counter to increment: its store key, and the budget that key has per window. */
interface Charge {
  key: string;
  max: number;
  windowMs: number;
}

interface AuthCall {
  procedure: string;
  input: unknown;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Keeps emails (personal data) and tokens (secrets) out of the store, at a bounded key length. */
const fingerprint = (value: string) => createHash('sha256').update(value).digest('base64url');

/**
 * The inputs tRPC will hand to each call, decoded the way tRPC decodes them (its own transformer,
 * so superjson annotations cannot make the procedure see another email than the one counted).
 * The body is untrusted: anything tRPC would reject yields no inputs, never an exception.
 */
function trpcInputs(body: unknown, { paths, isBatch }: TrpcCalls): unknown[] {
  if (typeof body !== 'string' || body === '') return [];
  const { transformer } = appRouter._def._config;
  const decode = (value: unknown): unknown =>
    value === undefined ? undefined : transformer.input.deserialize(value);
  try {
    const parsed: unknown = JSON.parse(body);
    if (!isBatch) return [decode(parsed)];
    return isRecord(parsed) ? paths.map((_, index) => decode(parsed[index])) : [];
  } catch {
    return [];
  }
}

/** Login, register and refresh calls in this request, on either door; a batch may hold several. */
function authCalls(request: FastifyRequest): AuthCall[] {
  const route = request.routeOptions.url;
  if (route === trpcRoute) {
    const calls = trpcCalls(request);
    const inputs = trpcInputs(request.body, calls);
    return calls.paths
      .map((procedure, index) => ({ procedure, input: inputs[index] }))
      .filter((call) => authProcedures.has(call.procedure));
  }
  const procedure = route === undefined ? undefined : restAuthProcedures.get(route);
  return procedure ? [{ procedure, input: request.body }] : [];
}

/** The account a call targets: its email as the API normalises it, or the refresh token. */
function targetedAccount({ procedure, input }: AuthCall): string | undefined {
  if (!isRecord(input)) return undefined;
  const subject = procedure === 'auth.refresh' ? input.refreshToken : input.email;
  if (typeof subject !== 'string') return undefined;
  return fingerprint(procedure === 'auth.refresh' ? subject : subject.trim().toLowerCase());
}

/** The shared store: commands fail fast during an outage instead of queueing behind requests. */
async function connectRedis(app: FastifyInstance, url: string): Promise<Redis> {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 500,
  });
  // ioredis retries forever in the background; log an outage once, not on every retry.
  let available = true;
  redis.on('error', (error: Error) => {
    if (available) app.log.error({ err: error }, 'rate limit store unavailable: limits are off');
    available = false;
  });
  redis.on('ready', () => {
    if (!available) app.log.info('rate limit store reconnected: limits are on');
    available = true;
  });
  // Requests before the first connection would go uncounted; a store that is down at boot
  // must not stop the API from starting, so its error is only logged (above).
  await once(redis, 'ready').catch(() => undefined);
  app.addHook('onClose', () => {
    redis.disconnect();
  });
  return redis;
}

/**
 * Request rate limits, on every route but the probes: a global budget per client IP (checked
 * before the body is read), and for login, register and refresh on both doors a budget per
 * client IP and one per targeted account (checked per call, so a tRPC batch cannot hide
 * attempts). Exceeding any of them answers 429 `RATE_LIMITED` with `Retry-After`.
 *
 * The counting is @fastify/rate-limit's (its in-memory LRU, or its atomic Redis script when
 * `redisUrl` is set, so every instance spends one budget). Its limiter derives the key, budget
 * and window from the request alone, so each auth charge is handed to it through
 * `pendingCharge`.
 */
export async function registerRateLimits(
  app: FastifyInstance,
  config: AppConfig['rateLimit'],
): Promise<void> {
  const pendingCharge = new WeakMap<FastifyRequest, Charge>();
  const clientIp = (request: FastifyRequest) => normalizeIP(request.ip);
  const globalCharge = (request: FastifyRequest): Charge => ({
    key: `global:${clientIp(request)}`,
    max: config.max,
    windowMs: config.windowMs,
  });
  const authCharge = (key: string, max: number): Charge => ({
    key,
    max,
    windowMs: config.auth.windowMs,
  });
  /** The auth charge being spent, else (the first check of every request) the global budget. */
  const chargeOf = (request: FastifyRequest) => pendingCharge.get(request) ?? globalCharge(request);

  const redis = config.redisUrl ? await connectRedis(app, config.redisUrl) : undefined;
  await app.register(rateLimit, {
    global: false,
    keyGenerator: (request) => chargeOf(request).key,
    max: (request) => chargeOf(request).max,
    timeWindow: (request) => chargeOf(request).windowMs,
    allowList: (request) => probeRoutes.has(request.routeOptions.url ?? ''),
    // In memory: room for every client and account of a busy window before the LRU evicts.
    cache: 50_000,
    // A store outage lets requests through rather than failing them all.
    skipOnError: true,
    ...(redis && { redis, nameSpace: config.redisKeyPrefix }),
  });
  const limiter = app.createRateLimit();

  const rejectRequest = (
    request: FastifyRequest,
    reply: FastifyReply,
    { key, ttlInSeconds }: { key: string; ttlInSeconds: number },
  ) => {
    request.log.info({ rateLimitKey: key }, 'rate limited');
    const retryAfter = Math.max(1, ttlInSeconds);
    reply.header('retry-after', retryAfter);
    const detail = `Too many requests; retry in ${retryAfter} s`;
    const error = new ApiError('RATE_LIMITED', detail);
    if (request.routeOptions.url === trpcRoute) return sendTrpcError(request, reply, error);
    throw error;
  };

  // Before the body is read, so a flood costs as little as possible.
  app.addHook('onRequest', async (request, reply) => {
    const result = await limiter(request);
    if (result.isAllowed) return;
    reply.header('x-ratelimit-limit', result.max);
    reply.header('x-ratelimit-remaining', result.remaining);
    reply.header('x-ratelimit-reset', result.ttlInSeconds);
    if (result.isExceeded) return rejectRequest(request, reply, result);
  });

  // After body parsing: the targeted account is in the body.
  app.addHook('preHandler', async (request, reply) => {
    const ip = clientIp(request);
    for (const call of authCalls(request)) {
      const charges = [authCharge(`${call.procedure}:ip:${ip}`, config.auth.maxPerIp)];
      const account = targetedAccount(call);
      if (account !== undefined) {
        charges.push(authCharge(`${call.procedure}:account:${account}`, config.auth.maxPerAccount));
      }
      for (const charge of charges) {
        pendingCharge.set(request, charge);
        const result = await limiter(request);
        if (!result.isAllowed && result.isExceeded) return rejectRequest(request, reply, result);
      }
    }
  });
}
