import { trace, type SpanContext } from '@opentelemetry/api';

/** W3C Trace Context: version 00, trace id, parent span id, flags. */
const traceparentPattern = /^00-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;

/**
 * The span a statement runs in, as a W3C `traceparent`, for the jobs it enqueues: their runs link
 * back to it. Null outside a recorded span (tracing off, or this trace not sampled): a link
 * would lead nowhere.
 */
export function currentTraceparent(): string | null {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return null;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
}

/** The span a stored `traceparent` names; undefined for anything else. */
export function spanContextOf(traceparent: unknown): SpanContext | undefined {
  const match = typeof traceparent === 'string' ? traceparentPattern.exec(traceparent) : null;
  if (!match) return undefined;
  const [, traceId = '', spanId = '', flags = ''] = match;
  const context = { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true };
  return trace.isSpanContextValid(context) ? context : undefined;
}
