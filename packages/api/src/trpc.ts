import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { Context } from './context.js';
import type { HeaderInput, RefreshTokenCookieUse } from './header-inputs.js';
import type { TokenScope } from './schemas/personal-access-token.js';
import { ApiError, toApiError, type ErrorCode } from './errors.js';
import { recordApiError, tracer } from './tracing.js';

/**
 * What an operation declares once, next to its procedure: trpc-to-openapi's `openapi` block plus
 * the success response and the error codes it can answer with. The REST adapter and the OpenAPI
 * document both read this; trpc-to-openapi alone would document every success as 200.
 */
export type ApiMeta = OpenApiMeta<{
  success?: {
    status: 200 | 201 | 202 | 204;
    description?: string;
    /** `Location` header template filled from the output, e.g. `/tasks/{id}`. */
    location?: `/${string}`;
    /** The output has a `version`: answer with `ETag: "<version>"`. */
    etag?: boolean;
  };
  /** Input fields REST clients send as headers (`If-Match`, `Idempotency-Key`). */
  headerInputs?: HeaderInput[];
  /**
   * What the operation does with the refresh-token cookie of a REST client that sent
   * `X-Refresh-Token: cookie` (browsers); the REST adapter acts on it, `/trpc` ignores it.
   */
  refreshTokenCookie?: RefreshTokenCookieUse;
  errors?: ErrorCode[];
  /**
   * Open to an account whose address is not verified even when REQUIRE_VERIFIED_EMAIL is set:
   * what it needs to verify it, and to manage itself.
   */
  allowsUnverifiedEmail?: true;
  /**
   * What a personal access token needs to call it: a scope, or `any` (every token may). Absent:
   * no token may; the procedure manages the account (tokens, sessions, password) and needs a
   * signed-in session.
   */
  tokenScope?: TokenScope | 'any';
  /**
   * A subscription's REST door: a `GET` of `path` answered with server-sent events, one per item
   * (`id:` its tracked id, `event:` its `type`, `data:` its JSON). trpc-to-openapi documents no
   * subscription, so this sits beside `openapi`.
   */
  eventStream?: {
    path: `/${string}`;
    tags: string[];
    summary: string;
    description: string;
  };
}>;

/** Request ids of errors raised before any context existed (see `rememberRequestId`). */
const requestIdsOfContextlessErrors = new WeakMap<Error, string>();

/**
 * For an error raised before tRPC created a context (an unreadable batch, a refused body, a
 * rate limit): the HTTP adapter says which request it belongs to, so its envelope still
 * carries the request id like every other error.
 */
export function rememberRequestId(error: Error, requestId: string): void {
  requestIdsOfContextlessErrors.set(error, requestId);
}

const t = initTRPC
  .context<Context>()
  .meta<ApiMeta>()
  .create({
    transformer: superjson,
    // Subscriptions over SSE: a ping well inside common proxy idle timeouts, and clients that
    // reconnect (resuming from their last tracked id) when nothing arrives for longer.
    sse: {
      ping: { enabled: true, intervalMs: 15_000 },
      client: { reconnectAfterInactivityMs: 20_000 },
    },
    // Same code, status and field errors as the REST problem body; never a stack trace.
    errorFormatter({ shape, error, ctx }) {
      const apiError = toApiError(error);
      return {
        message: apiError.message,
        code: shape.code,
        data: {
          code: apiError.apiCode,
          httpStatus: apiError.status,
          errors: apiError.fieldErrors,
          requestId: ctx?.requestId ?? requestIdsOfContextlessErrors.get(error),
          path: shape.data.path,
        },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Every failure inside a procedure becomes an ApiError here, so the HTTP status tRPC sends
 * matches the catalogue; server faults are logged once, with the request id, and hidden.
 */
const mapErrors = t.middleware(async ({ ctx, next, path }) => {
  const result = await next();
  if (result.ok) return result;
  const apiError = toApiError(result.error);
  if (apiError.status >= 500) {
    ctx.log.error(
      { err: result.error.cause ?? result.error, path, requestId: ctx.requestId },
      'procedure failed',
    );
  }
  throw apiError;
});

/**
 * Each call in a span of its own, named by its procedure: the calls of a `/trpc` batch side by
 * side under the request's span, and REST routes too, since they run the same procedures. What
 * the call queries nests under it. Outside `mapErrors`, so a failure is already an ApiError.
 */
const traceCalls = t.middleware(({ path, type, next }) =>
  tracer.startActiveSpan(
    path,
    { attributes: { 'rpc.system': 'trpc', 'rpc.method': path, 'trpc.type': type } },
    async (span) => {
      try {
        const result = await next();
        if (!result.ok) recordApiError(span, toApiError(result.error));
        return result;
      } finally {
        span.end();
      }
    },
  ),
);

export const publicProcedure = t.procedure.use(traceCalls).use(mapErrors);

/** How a procedure that guesses or spends a secret is charged (see `AttemptThrottle`). */
export interface ThrottlePolicy<Input> {
  /** The budgets' name: each action is counted on its own. */
  action: string;
  /** Whose secret the call targets, from its validated input or its caller. */
  account: (input: Input, ctx: Context & { userId?: string }) => string | undefined;
  /**
   * Only this failure (a wrong secret) counts against the account; a success or any other
   * failure gives the account's charge back. Absent: every attempt counts.
   */
  countsOnly?: ErrorCode;
}

/**
 * Charges each call before it runs, after its input is validated: an input that fails
 * validation costs the account nothing, and every call of a batch is charged on its own.
 */
export function throttled<Input>({ action, account, countsOnly }: ThrottlePolicy<Input>) {
  return t.middleware(async ({ ctx, input, next }) => {
    const attempt = await ctx.services.throttle.admit({
      action,
      address: ctx.clientAddress,
      // Placed after `.input()`: tRPC hands this middleware the parsed input.
      account: account(input as Input, ctx),
    });
    const result = await next();
    if (
      countsOnly !== undefined &&
      (result.ok || toApiError(result.error).apiCode !== countsOnly)
    ) {
      await attempt.refundAccount();
    }
    return result;
  });
}

/** A `:write` scope includes its `:read`: a write answers with what it wrote. */
function scopeGrants(granted: readonly TokenScope[], needed: TokenScope): boolean {
  return granted.some((scope) => scope === needed || scope === needed.replace(/:read$/, ':write'));
}

function assertTokenMay(scopes: readonly TokenScope[], needed: ApiMeta['tokenScope']): void {
  if (needed === 'any' || (needed !== undefined && scopeGrants(scopes, needed))) return;
  throw new ApiError(
    'INSUFFICIENT_SCOPE',
    needed === undefined
      ? 'A personal access token cannot do this: it manages the account, sign in instead'
      : `This personal access token lacks the ${needed} scope`,
  );
}

/**
 * Narrows the context to an authenticated caller (`ctx.userId`, and `ctx.sessionId` unless a
 * personal access token calls); anything else is UNAUTHENTICATED (401), and a token without the
 * procedure's scope INSUFFICIENT_SCOPE (403).
 */
export const protectedProcedure = publicProcedure.use(async ({ ctx, meta, next }) => {
  const { userId, sessionId, tokenScopes, unverifiedEmail } = await ctx.authenticate();
  if (tokenScopes) assertTokenMay(tokenScopes, meta?.tokenScope);
  if (unverifiedEmail && !meta?.allowsUnverifiedEmail) {
    throw new ApiError(
      'EMAIL_NOT_VERIFIED',
      'Confirm your email address first: open the link mailed to you (POST /auth/email/resend sends a new one)',
    );
  }
  return next({ ctx: { userId, sessionId } });
});
