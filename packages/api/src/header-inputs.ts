import { validationError, type ErrorCode } from './errors.js';

/**
 * An input field that REST clients send as a request header instead of in the body or query:
 * how the header is read, documented and refused, declared once. A procedure names its header
 * inputs in its meta (`headerInputs`); the REST adapter fills the field from the header, and the
 * OpenAPI document describes the header instead of the field.
 */
export interface HeaderInput {
  /** The header's name as documented. */
  header: string;
  /** The input field it fills. */
  field: string;
  /** The error an operation can answer because of the header's value. */
  error: ErrorCode;
  /** The OpenAPI header parameter: what to send and why. */
  description: string;
  schema: Record<string, unknown>;
  /** The field's value from the header's; a value the API cannot read is VALIDATION_FAILED. */
  parse: (value: string) => unknown;
}

/** `If-Match: "<version>"` becomes `expectedVersion` (412 when stale); `*` means any version. */
export const ifMatch: HeaderInput = {
  header: 'If-Match',
  field: 'expectedVersion',
  error: 'PRECONDITION_FAILED',
  description:
    'The `ETag` you last saw (or `*`): the change is refused with 412 if the task has changed since',
  schema: { type: 'string', examples: ['"3"'] },
  parse(value) {
    if (value.trim() === '*') return undefined;
    const match = /^\s*"(\d{1,9})"\s*$/.exec(value);
    if (!match) {
      throw validationError([
        {
          path: 'If-Match',
          code: 'invalid_etag',
          message: 'Send one ETag of this API, like "3", or *',
        },
      ]);
    }
    return Number(match[1]);
  },
};

/** `Idempotency-Key` becomes `idempotencyKey`: a retry replays the first response. */
export const idempotencyKey: HeaderInput = {
  header: 'Idempotency-Key',
  field: 'idempotencyKey',
  error: 'IDEMPOTENCY_KEY_REUSED',
  description:
    'Any unique string (e.g. a UUID): a retry with the same key and body within 24 h replays the first response instead of creating another task',
  schema: { type: 'string', minLength: 1, maxLength: 255 },
  // The input schema validates it like any other field.
  parse: (value) => value,
};

/**
 * `Last-Event-ID` becomes `lastEventId`: where a reconnecting event stream resumes (browsers'
 * EventSource sends the last `id:` it saw by itself).
 */
export const lastEventId: HeaderInput = {
  header: 'Last-Event-ID',
  field: 'lastEventId',
  error: 'CHANGES_EXPIRED',
  description:
    'The `id:` of the last event received: the stream resumes after it (410 when it is older than the changes kept)',
  schema: { type: 'string', maxLength: 200 },
  parse: (value) => value,
};

/**
 * What an operation does with the refresh-token cookie of a REST client that opted in (see
 * `refreshTokenCookie`): `issues` sets the cookie to the output's refresh token and answers
 * without it, `reads` takes the input's refresh token from the cookie when the body has none,
 * `ends` clears the cookie, whatever the outcome.
 */
export interface RefreshTokenCookieUse {
  issues?: true;
  reads?: true;
  ends?: true;
}

const optInHeader = 'X-Refresh-Token';
const optInValue = 'cookie';
const cookieName = 'tasks_refresh_token';
const cookiePath = '/auth';
const field = 'refreshToken';

/**
 * Browser sessions: a REST client that sends `X-Refresh-Token: cookie` keeps its refresh token
 * in an HttpOnly cookie instead of the body, where no script of the page can read it. Declared
 * once: the REST adapter moves the token between the body and the cookie as an operation's meta
 * (`refreshTokenCookie`) says, and the OpenAPI document describes the header, the cookie and
 * `Set-Cookie` from here. The cookie is read only when the header comes with it: a page of
 * another origin cannot send a custom header without a CORS preflight, which the allow-list
 * refuses, so the header is the defence against cross-site request forgery (with
 * SameSite=Strict). The cookie's path is `/auth`: it never travels to `/trpc`, whose procedures
 * take the refresh token in their input only.
 */
export const refreshTokenCookie = {
  /** The opt-in request header, and its one value. */
  header: optInHeader,
  value: optInValue,
  name: cookieName,
  path: cookiePath,
  /** The input field the cookie fills, and the output field it replaces. */
  field,
  headerDescription: `\`${optInValue}\` (browsers): the refresh token travels in the HttpOnly cookie \`${cookieName}\` (Path=${cookiePath}) instead of the JSON body, which then goes without \`${field}\`. Leave it out to get and send the refresh token in the body`,
  cookieDescription: `The refresh token, as set by \`/auth/login\` or \`/auth/refresh\` with \`${optInHeader}: ${optInValue}\`; read only when that header is sent and the body has no \`${field}\`. Missing or no longer valid: 401`,
  issuedDescription: `With \`${optInHeader}: ${optInValue}\` only: \`${cookieName}=<refresh token>; Max-Age=<REFRESH_TOKEN_TTL_SECONDS>; Path=${cookiePath}; HttpOnly; Secure; SameSite=Strict\` (\`Secure\` unless REFRESH_COOKIE_SECURE=false)`,
  clearedDescription: `With \`${optInHeader}: ${optInValue}\` only: clears \`${cookieName}\` (\`Max-Age=0\`), on a failure too`,
  fieldDescription: `Absent with \`${optInHeader}: ${optInValue}\`: the refresh token is in the \`Set-Cookie\` header instead`,
  /** Whether the request opted in (the header's value); any other value is VALIDATION_FAILED. */
  optsIn(value: string | undefined): boolean {
    if (value === undefined) return false;
    if (value.trim().toLowerCase() === optInValue) return true;
    throw validationError([
      {
        path: optInHeader,
        code: 'invalid_value',
        message: `Send ${optInValue}, or leave the header out for the refresh token in the body`,
      },
    ]);
  },
} as const;
