import {
  forEachOpenApiProcedure,
  getInputOutputParsers,
  type OpenApiMethod,
  type OpenApiRouter,
} from 'trpc-to-openapi';
import type { z } from 'zod';
import type { AnyTRPCProcedure } from '@trpc/server';
import type { Context } from './context.js';
import type { ErrorCode } from './errors.js';
import type { HeaderInput, RefreshTokenCookieUse } from './header-inputs.js';
import { appRouter } from './root.js';
import type { ApiMeta } from './trpc.js';

/** One REST operation as declared by a procedure's meta; the HTTP adapter serves exactly these. */
export interface RestOperation {
  method: OpenApiMethod;
  /** OpenAPI path template, e.g. `/tasks/{id}`. */
  path: `/${string}`;
  /** Dotted procedure path, e.g. `tasks.get`. */
  procedurePath: string;
  /**
   * Runs the procedure for one request, resolved once here rather than by its path on every
   * request: the same middleware, validation and error mapping as a `/trpc` call.
   */
  invoke: (ctx: Context, input: unknown) => Promise<unknown>;
  successStatus: 200 | 201 | 202 | 204;
  successDescription: string;
  location: `/${string}` | undefined;
  /** Answers with `ETag: "<version>"` of the output. */
  etag: boolean;
  /** Input fields that REST clients send as headers instead (If-Match, Idempotency-Key). */
  headerInputs: HeaderInput[];
  /** What it does with the refresh-token cookie of a client that opted in (browsers). */
  refreshTokenCookie: RefreshTokenCookieUse | undefined;
  requiresAuth: boolean;
  /** What a personal access token needs to call it (see `ApiMeta.tokenScope`). */
  tokenScope: ApiMeta['tokenScope'];
  /** Where the input comes from besides path parameters. */
  inputSource: 'body' | 'query' | 'none';
  /** Domain errors declared on the procedure, plus the ones every such operation can meet. */
  errors: ErrorCode[];
  /** Turns raw query-string values into the types the input schema expects. */
  parseQuery(query: Record<string, string | string[] | undefined>): Record<string, unknown>;
  /** The procedure's output schema: what a success body holds (none for a 204). */
  outputSchema: z.core.$ZodType | undefined;
}

const methodsWithBody = new Set<OpenApiMethod>(['POST', 'PUT', 'PATCH']);

/**
 * Methods whose requests Fastify reads a body for, even where the operation takes none (a DELETE
 * sent with one): an unreadable body fails them before the operation runs.
 */
const methodsParsingBody = new Set<OpenApiMethod>([...methodsWithBody, 'DELETE']);

type QueryKind = 'array' | 'number' | 'scalar';

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  const def = schema._zod.def as { type: string; innerType?: z.core.$ZodType };
  return ['optional', 'nullable', 'default', 'prefault'].includes(def.type) && def.innerType
    ? unwrap(def.innerType)
    : schema;
}

function queryKind(schema: z.core.$ZodType): QueryKind {
  const type = unwrap(schema)._zod.def.type;
  return type === 'array' ? 'array' : type === 'number' || type === 'int' ? 'number' : 'scalar';
}

/**
 * Query strings carry only text. Unlike trpc-to-openapi's adapter, which switches on coercion in
 * the shared zod schemas (so `/trpc` would start accepting "1" for numbers), this converts only
 * the REST query and leaves the schemas untouched. A value that is not a number stays a string,
 * and validation reports it.
 */
function createQueryParser(inputSchema: z.core.$ZodType | undefined) {
  const shape =
    (inputSchema &&
      (unwrap(inputSchema)._zod.def as { shape?: Record<string, z.core.$ZodType> }).shape) ??
    {};
  const kinds = new Map(Object.entries(shape).map(([key, schema]) => [key, queryKind(schema)]));
  return (query: Record<string, string | string[] | undefined>) => {
    const input: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(query)) {
      if (raw === undefined) continue;
      const kind = kinds.get(key) ?? 'scalar';
      if (kind === 'array') {
        input[key] = Array.isArray(raw) ? raw : [raw];
      } else if (
        kind === 'number' &&
        typeof raw === 'string' &&
        raw.trim() !== '' &&
        Number.isFinite(Number(raw))
      ) {
        input[key] = Number(raw);
      } else {
        input[key] = raw;
      }
    }
    return input;
  };
}

function standardErrors(
  method: OpenApiMethod,
  requiresAuth: boolean,
  hasInput: boolean,
  allowsUnverifiedEmail: boolean,
): ErrorCode[] {
  return [
    ...(methodsParsingBody.has(method)
      ? (['MALFORMED_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const)
      : []),
    ...(requiresAuth ? (['UNAUTHENTICATED', 'INSUFFICIENT_SCOPE'] as const) : []),
    // Only where REQUIRE_VERIFIED_EMAIL is set.
    ...(requiresAuth && !allowsUnverifiedEmail ? (['EMAIL_NOT_VERIFIED'] as const) : []),
    ...(hasInput ? (['VALIDATION_FAILED'] as const) : []),
    // Every route shares the global per-client rate limit.
    'RATE_LIMITED',
    'INTERNAL',
    'SERVICE_UNAVAILABLE',
  ];
}

export function listRestOperations(router: OpenApiRouter = appRouter): RestOperation[] {
  const operations: RestOperation[] = [];
  forEachOpenApiProcedure<ApiMeta>(router._def.procedures, ({ path, type, procedure, meta }) => {
    // What tRPC's own caller does with a procedure; trpc-to-openapi types it as a union of its
    // kinds, which TypeScript will not call.
    const run = procedure as unknown as AnyTRPCProcedure;
    const { method, path: route, protect = true } = meta.openapi;
    const { inputParser, outputParser, hasInputsDefined } = getInputOutputParsers(procedure);
    const hasInput = hasInputsDefined && unwrap(inputParser)._zod.def.type !== 'void';
    const headerInputs = meta.headerInputs ?? [];
    const successStatus = meta.success?.status ?? 200;
    operations.push({
      method,
      path: route,
      procedurePath: path,
      invoke: (ctx, input) =>
        run({ ctx, getRawInput: async () => input, path, type, signal: undefined, batchIndex: 0 }),
      successStatus,
      successDescription: meta.success?.description ?? 'Successful response',
      location: meta.success?.location,
      etag: meta.success?.etag ?? false,
      headerInputs,
      refreshTokenCookie: meta.refreshTokenCookie,
      requiresAuth: protect,
      tokenScope: meta.tokenScope,
      inputSource: !hasInput ? 'none' : methodsWithBody.has(method) ? 'body' : 'query',
      errors: [
        ...(meta.errors ?? []),
        ...headerInputs.map(({ error }) => error),
        ...standardErrors(method, protect, hasInput, meta.allowsUnverifiedEmail === true),
      ],
      parseQuery: createQueryParser(hasInput ? inputParser : undefined),
      outputSchema: successStatus === 204 ? undefined : outputParser,
    });
  });
  return operations;
}

/**
 * A subscription served on REST as server-sent events (`meta.eventStream`): a `GET` whose items
 * are the subscription's tracked items.
 */
export interface RestEventStream {
  path: `/${string}`;
  procedurePath: string;
  tags: string[];
  summary: string;
  description: string;
  /**
   * Runs the subscription for one request: its middleware and input validation, and whatever it
   * checks before streaming, fail here (as problem+json), before the stream starts.
   */
  open: (ctx: Context, input: unknown, signal: AbortSignal) => Promise<AsyncIterable<unknown>>;
  headerInputs: HeaderInput[];
  tokenScope: ApiMeta['tokenScope'];
  errors: ErrorCode[];
  parseQuery(query: Record<string, string | string[] | undefined>): Record<string, unknown>;
  /** The query parameters, for the OpenAPI document. */
  inputSchema: z.core.$ZodType | undefined;
}

export function listRestEventStreams(router: OpenApiRouter = appRouter): RestEventStream[] {
  return Object.entries(router._def.procedures as Record<string, AnyTRPCProcedure>).flatMap(
    ([path, procedure]) => {
      const meta = procedure._def.meta as ApiMeta | undefined;
      if (procedure._def.type !== 'subscription' || !meta?.eventStream) return [];
      const [inputSchema] = procedure._def.inputs as z.core.$ZodType[];
      const headerInputs = meta.headerInputs ?? [];
      return [
        {
          ...meta.eventStream,
          procedurePath: path,
          open: (ctx: Context, input: unknown, signal: AbortSignal) =>
            procedure({
              ctx,
              getRawInput: async () => input,
              path,
              type: 'subscription',
              signal,
              batchIndex: 0,
            }) as Promise<AsyncIterable<unknown>>,
          headerInputs,
          tokenScope: meta.tokenScope,
          errors: [
            ...new Set([
              ...(meta.errors ?? []),
              ...headerInputs.map(({ error }) => error),
              ...standardErrors('GET', true, inputSchema !== undefined, false),
            ]),
          ],
          parseQuery: createQueryParser(inputSchema),
          inputSchema,
        },
      ];
    },
  );
}
