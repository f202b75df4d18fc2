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
