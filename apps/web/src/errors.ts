import { isTasksClientError, type ErrorCode } from '@tasks/client';
import type { components } from '@tasks/client/rest';

type Problem = components['schemas']['Problem'];

/** A problem+json body of the REST API (sign-in, renewal and sign-out go over REST). */
export function isProblem(body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && typeof (body as Problem).code === 'string';
}

/** A failure the REST API answered, with its problem; tRPC calls fail as TasksClientError. */
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = 'ProblemError';
  }
}

/** What the user reads for each code of the API's error catalogue. */
const messages: Record<ErrorCode, string> = {
  MALFORMED_JSON:
    'The app sent a request the server could not read. Reload the page and try again.',
  INVALID_RESET_TOKEN:
    'This password reset link no longer works: it has expired, was used already, or a newer one replaced it.',
  INVALID_VERIFICATION_TOKEN:
    'This confirmation link no longer works: it has expired, was used already, or a newer one replaced it.',
  UNAUTHENTICATED: 'Your session has ended. Please sign in again.',
  INVALID_CREDENTIALS: 'That email and password do not match an account.',
  QUOTA_EXCEEDED: 'You have reached the limit of tasks per account. Delete some to add more.',
  EMAIL_NOT_VERIFIED:
    'Confirm your email address first: open the link we mailed you, or send a new one.',
  INSUFFICIENT_SCOPE: 'This needs a signed-in session. Please sign in again.',
  TASK_NOT_FOUND: 'That task no longer exists. It may have been deleted elsewhere.',
  NOT_FOUND: 'That item no longer exists.',
  ROUTE_NOT_FOUND: 'The server does not know this request. The app may be out of date: reload it.',
  METHOD_NOT_ALLOWED:
    'The server refused this kind of request. The app may be out of date: reload it.',
  EMAIL_TAKEN: 'An account with this email already exists. Sign in instead.',
  CONFLICT: 'This conflicts with existing data.',
  CHANGES_EXPIRED: 'This page is out of date. Reload it to see your tasks as they are now.',
  PRECONDITION_FAILED:
    'This task was changed elsewhere in the meantime. It has been reloaded: try again.',
  PAYLOAD_TOO_LARGE: 'That is too much text to save.',
  UNSUPPORTED_MEDIA_TYPE:
    'The app sent a request the server could not read. Reload the page and try again.',
  VALIDATION_FAILED: 'Some fields need another look.',
  IDEMPOTENCY_KEY_REUSED: 'This request was already sent with different content. Try again.',
  RATE_LIMITED: 'Too many attempts. Wait a minute and try again.',
  TOO_MANY_STREAMS:
    'Too many windows are following your tasks live. Close one (another tab?) and try again.',
  INTERNAL: 'Something went wrong on our side. Try again in a moment.',
  SERVICE_UNAVAILABLE: 'The service is busy or briefly unavailable. Try again in a moment.',
};

const emailTaken = 'An account with this email already exists.';
const unsavableCharacter = 'contains a character that cannot be saved. Remove it and try again.';

/**
 * Field-level messages, in the user's words, keyed by the field's `path` and the issue `code`
 * the API sends for it: zod's codes for input validation, `taken` from registration and
 * `unique` from a registration that lost a race to the same email.
 */
const fieldMessages: Record<string, Record<string, string>> = {
  email: {
    taken: emailTaken,
    unique: emailTaken,
    too_big: 'Use an email address of at most 254 characters.',
    default: 'Enter a valid email address, like ann@example.com.',
  },
  password: {
    too_small: 'Use at least 8 characters.',
    too_big: 'Use at most 128 characters.',
    default: 'Enter a valid password.',
  },
  title: {
    too_small: 'Give the task a title.',
    too_big: 'Keep the title to 200 characters or fewer.',
    invalid_format: `The title ${unsavableCharacter}`,
    default: 'Enter a valid title.',
  },
  description: {
    too_big: 'Keep the description to 2,000 characters or fewer.',
    invalid_format: `The description ${unsavableCharacter}`,
    default: 'Enter a valid description.',
  },
  q: {
    too_big: 'Search for 200 characters or fewer.',
    invalid_format: 'The search contains a character that cannot be searched for.',
    default: 'Enter other search words.',
  },
};

export interface DescribedError {
  code: ErrorCode | 'NETWORK';
  message: string;
  /** Field name (the input's `name`, the API's `path`) to message. */
  fields: Record<string, string>;
}

function fieldMessage(path: string, code: string, fallback: string): string {
  const known = fieldMessages[path];
  return known?.[code] ?? known?.default ?? fallback;
}

/** What the user reads for `code`, for a failure found before any call (a link without its token). */
export function errorMessage(code: ErrorCode): string {
  return messages[code];
}

/** Any failure of a call, as what to show: the catalogue message, plus messages per field. */
export function describeError(error: unknown): DescribedError {
  // The same code and field errors, whichever door answered.
  const answer =
    error instanceof ProblemError
      ? error.problem
      : isTasksClientError(error)
        ? error.data
        : undefined;
  if (answer) {
    const { code } = answer;
    const fields: Record<string, string> = {};
    for (const issue of answer.errors ?? []) {
      fields[issue.path] ??= fieldMessage(issue.path, issue.code, issue.message);
    }
    return { code, message: messages[code], fields };
  }
  // No catalogue code: the request never got an answer from the API (offline, CORS, server down).
  return {
    code: 'NETWORK',
    message: 'Cannot reach the server. Check your connection and try again.',
    fields: {},
  };
}
