import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { ApiError } from './errors.js';

/**
 * The API's own spans. Only the OpenTelemetry API is used here: until a process starts an SDK
 * (apps/server's `tracing.ts`), every span is a no-op that records nothing.
 */
export const tracer = trace.getTracer('@tasks/api');

/**
 * A failure as spans record it: always its catalogue code, and an error status only for a
 * server fault; a client's mistake (404, 422) is the API working as it should.
 */
export function recordApiError(span: Span, error: ApiError): void {
  span.setAttribute('error.type', error.apiCode);
  if (error.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: error.apiCode });
}
