import { ApiError, refreshTokenCookie, type RestOperation } from '@tasks/api';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface RefreshTokenCookieSettings {
  /** `Secure`: off only for plain-http development on a host browsers do not trust. */
  secure: boolean;
  maxAgeSeconds: number;
}

/**
 * Runs the operation (`invoke`) for one request that opted in: the input's refresh token from the
 * cookie when the body brought none, the output's into the cookie instead of the body.
 */
type RefreshTokenCookieRun = (
  input: unknown,
  invoke: (input: unknown) => Promise<unknown>,
) => Promise<unknown>;

const { field } = refreshTokenCookie;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A refresh token refused as input: the only field of the operations that read the cookie. */
function isFieldError(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    error.apiCode === 'VALIDATION_FAILED' &&
    (error.fieldErrors ?? []).some(({ path }) => path === field)
  );
}

function sessionEnded(): ApiError {
  return new ApiError(
    'UNAUTHENTICATED',
    `No valid ${refreshTokenCookie.name} cookie came with ${refreshTokenCookie.header}: sign in again`,
  );
}

function cookieOf(request: FastifyRequest): string {
  const token = request.server.parseCookie(request.headers.cookie ?? '')[refreshTokenCookie.name];
  if (!token) throw sessionEnded();
  return token;
}

/**
 * What `operation` does with the refresh-token cookie for this request (its meta says), or
 * undefined when the client did not opt in: then the cookie, if any came, is never read, and the
 * body-token flow runs untouched. A cookie without the opt-in header is ignored because a page of
 * another site can make the browser send the cookie, but not the header (see
 * `refreshTokenCookie` in @tasks/api).
 */
export function refreshTokenCookieRun(
  operation: Pick<RestOperation, 'refreshTokenCookie'>,
  request: FastifyRequest,
  reply: FastifyReply,
  settings: RefreshTokenCookieSettings,
): RefreshTokenCookieRun | undefined {
  const use = operation.refreshTokenCookie;
  if (!use) return undefined;
  const optIn = request.headers[refreshTokenCookie.header.toLowerCase()];
  if (!refreshTokenCookie.optsIn(Array.isArray(optIn) ? optIn.join(', ') : optIn)) return undefined;
  const attributes = {
    path: refreshTokenCookie.path,
    httpOnly: true,
    secure: settings.secure,
    sameSite: 'strict',
  } as const;
  // Set before the operation runs, so that a failed sign-out clears the cookie too.
  if (use.ends) reply.clearCookie(refreshTokenCookie.name, attributes);
  return async (input, invoke) => {
    const fromCookie = use.reads === true && isRecord(input) && input[field] === undefined;
    const output = fromCookie
      ? await invoke({ ...input, [field]: cookieOf(request) }).catch((error: unknown) => {
          // The input's limits would call a mangled cookie a field error of a body without it.
          throw isFieldError(error) ? sessionEnded() : error;
        })
      : await invoke(input);
    if (!use.issues || !isRecord(output)) return output;
    const { [field]: token, ...body } = output;
    reply.setCookie(refreshTokenCookie.name, String(token), {
      ...attributes,
      maxAge: settings.maxAgeSeconds,
    });
    return body;
  };
}
