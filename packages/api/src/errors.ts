import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { ZodError } from 'zod';
import { isConnectionFailure, Prisma } from '@tasks/db';

/**
 * The closed catalogue of error codes shared by REST (problem+json) and tRPC (`error.data`).
 * Each code has exactly one HTTP status; `docs/api.md` documents the same list.
 */
export const errorCatalogue = {
  MALFORMED_JSON: { status: 400, title: 'Malformed JSON body' },
  INVALID_RESET_TOKEN: { status: 400, title: 'Invalid password-reset token' },
  INVALID_VERIFICATION_TOKEN: { status: 400, title: 'Invalid email-verification token' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  INVALID_CREDENTIALS: { status: 401, title: 'Invalid email or password' },
  QUOTA_EXCEEDED: { status: 403, title: 'Quota exceeded' },
  EMAIL_NOT_VERIFIED: { status: 403, title: 'Email address not verified' },
  INSUFFICIENT_SCOPE: { status: 403, title: 'Insufficient token scope' },
  TASK_NOT_FOUND: { status: 404, title: 'Task not found' },
  NOT_FOUND: { status: 404, title: 'Resource not found' },
  ROUTE_NOT_FOUND: { status: 404, title: 'Route not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  EMAIL_TAKEN: { status: 409, title: 'Email already registered' },
  CONFLICT: { status: 409, title: 'Conflicts with existing data' },
  CHANGES_EXPIRED: { status: 410, title: 'Changes expired' },
  PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  VALIDATION_FAILED: { status: 422, title: 'Validation failed' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency key reused with another request' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  TOO_MANY_STREAMS: { status: 429, title: 'Too many open streams' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalogue;
export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

/**
 * Seconds a client should wait before retrying after a 503 that says nothing more: an overload
 * or a database fault is usually over in moments, and a short pause keeps retries from feeding
 * the overload.
 */
const serviceUnavailableRetryAfterSeconds = 2;

/** One invalid input field, as listed in `errors` of a problem and in tRPC `error.data.errors`. */
export interface FieldError {
  path: string;
  code: string;
  message: string;
}

const trpcCodeByStatus: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'PARSE_ERROR',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  409: 'CONFLICT',
  410: 'NOT_FOUND',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * The one error type that leaves the API. Its tRPC `code` is derived from the catalogue status,
 * so tRPC's HTTP status and the REST status always agree.
 */
export class ApiError extends TRPCError {
  readonly apiCode: ErrorCode;
  readonly status: number;
  readonly fieldErrors: FieldError[] | undefined;
  /** Seconds the client should wait before retrying (`Retry-After`); every 503 has one. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { errors?: FieldError[]; cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    const { status, title } = errorCatalogue[code];
    super({
      code: trpcCodeByStatus[status] ?? 'INTERNAL_SERVER_ERROR',
      message: detail ?? title,
      cause: options.cause,
    });
    this.apiCode = code;
    this.status = status;
    this.fieldErrors = options.errors;
    this.retryAfterSeconds =
      options.retryAfterSeconds ??
      (status === 503 ? serviceUnavailableRetryAfterSeconds : undefined);
  }
}

function fieldErrorsFromZod(error: ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    code: issue.code,
    message: issue.message,
  }));
}

export function validationError(errors: FieldError[]): ApiError {
  const detail = errors.length === 1 ? '1 field is invalid' : `${errors.length} fields are invalid`;
  return new ApiError('VALIDATION_FAILED', detail, { errors });
}

/** Prisma codes and Node socket codes that mean "the database cannot be reached right now". */
const unavailableCodes = new Set([
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P2024',
  // A transaction could not start or finish in time: the database is slow or not answering.
  'P2028',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ECONNRESET',
]);

/** What the driver adapter (Prisma 7) reports when the database, not the query, is the problem. */
const unavailableAdapterKinds = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TlsConnectionError',
]);

/**
 * PostgreSQL SQLSTATEs of an unavailable server: connection exceptions (08), insufficient
 * resources (53), operator intervention such as shutdown or a cancelled statement (57), system
 * errors (58) and a database that is gone (3D000). Prisma's adapter reports them as
 * `originalCode`; pg, under `TaskRepository`, as the error's `code`.
 */
const unavailableSqlState = /^(08|53|57|58)|^3D000$/;

function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientInitializationError || isConnectionFailure(error)) {
    return true;
  }
  const details = error as {
    code?: unknown;
    cause?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown } } };
  } | null;
  const code = details?.code;
  if (typeof code === 'string' && (unavailableCodes.has(code) || unavailableSqlState.test(code))) {
    return true;
  }
  const adapterCause = details?.meta?.driverAdapterError?.cause;
  if (typeof adapterCause?.kind === 'string' && unavailableAdapterKinds.has(adapterCause.kind)) {
    return true;
  }
  const sqlState = adapterCause?.originalCode;
  if (typeof sqlState === 'string' && unavailableSqlState.test(sqlState)) return true;
  const cause = details?.cause;
  return cause !== undefined && cause !== error && isDatabaseUnavailable(cause);
}

/** Columns of a violated unique constraint; Prisma 7 with a driver adapter nests them deeply. */
function conflictingFields(error: Prisma.PrismaClientKnownRequestError): string[] {
  const meta = error.meta as
    | { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: unknown } } } }
    | undefined;
  const fields = meta?.driverAdapterError?.cause?.constraint?.fields ?? meta?.target;
  return Array.isArray(fields) ? fields.map(String) : [];
}

/**
 * Database errors that services did not turn into a domain error themselves (as registration
 * does with EMAIL_TAKEN) still get a status that tells the client what happened.
 */
function fromPrismaError(error: Prisma.PrismaClientKnownRequestError): ApiError | undefined {
  switch (error.code) {
    case 'P2002':
      return new ApiError('CONFLICT', 'A record with these values already exists', {
        cause: error,
        errors: conflictingFields(error).map((path) => ({
          path,
          code: 'unique',
          message: 'Already taken',
        })),
      });
    case 'P2003':
      return new ApiError('CONFLICT', 'A record this one refers to does not exist', {
        cause: error,
      });
    case 'P2001':
    case 'P2025':
      return new ApiError('NOT_FOUND', undefined, { cause: error });
    case 'P2034':
      // Write conflict or deadlock: retrying the same request can succeed.
      return new ApiError('SERVICE_UNAVAILABLE', 'The database was busy, retry the request', {
        cause: error,
      });
    default:
      return undefined;
  }
}

/**
 * Maps anything thrown inside a procedure to an ApiError. This is the only place where
 * validation, database and unknown failures become catalogue codes; unknown errors keep their
 * cause for the log but expose nothing.
 */
/**
 * tRPC's own client-side failures (before any procedure runs: unparseable body, unknown procedure,
 * wrong method...) in catalogue terms. A server fault (INTERNAL_SERVER_ERROR) is judged by its cause.
 */
const codeByTrpcCode: Partial<Record<TRPC_ERROR_CODE_KEY, ErrorCode>> = {
  PARSE_ERROR: 'MALFORMED_JSON',
  BAD_REQUEST: 'MALFORMED_JSON',
  UNAUTHORIZED: 'UNAUTHENTICATED',
  NOT_FOUND: 'ROUTE_NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'METHOD_NOT_ALLOWED',
  CONFLICT: 'CONFLICT',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  UNPROCESSABLE_CONTENT: 'VALIDATION_FAILED',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof TRPCError) {
    if (error.cause instanceof ApiError) return error.cause;
    if (error.cause instanceof ZodError && error.code === 'BAD_REQUEST') {
      return validationError(fieldErrorsFromZod(error.cause));
    }
    const clientError = codeByTrpcCode[error.code];
    // The catalogue's own wording: tRPC's messages can quote parser internals.
    if (clientError) return new ApiError(clientError, undefined, { cause: error });
    if (error.cause !== undefined && error.cause !== error) return toApiError(error.cause);
    return new ApiError('INTERNAL', undefined, { cause: error });
  }
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    const mapped = fromPrismaError(error);
    if (mapped) return mapped;
  }
  if (isDatabaseUnavailable(error)) {
    return new ApiError('SERVICE_UNAVAILABLE', 'The database is unavailable, retry later', {
      cause: error,
    });
  }
  return new ApiError('INTERNAL', undefined, { cause: error });
}
