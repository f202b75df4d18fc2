import { randomBytes } from 'node:crypto';
import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { Webhook } from 'standardwebhooks';
import {
  AddressNotAllowedError,
  createGuardedLookup,
  refuseLiteralHost,
  type ResolveHost,
} from './url-policy.js';
import { tracer } from '../tracing.js';

/** One delivery attempt of one message to one endpoint. */
export interface WebhookRequest {
  url: string;
  /** The endpoint's signing secret, `whsec_<base64>` (Standard Webhooks). */
  secret: string;
  /** Sent as `webhook-id`: the same for every attempt, so the receiver can drop duplicates. */
  messageId: string;
  /** Signed and sent as `webhook-timestamp`, in whole seconds. */
  timestamp: Date;
  /** Serialised to JSON once: the bytes signed are the bytes sent. */
  payload: object;
}

export interface SendOptions {
  /** Skip the address policy (development, tests): private and loopback receivers are reached. */
  allowPrivate: boolean;
  /** Covers resolving, connecting, sending and reading the response. */
  timeoutMs?: number;
  /** How much of the response body is kept for the delivery log; the rest is never read. */
  responseExcerptBytes?: number;
  /** Aborts the attempt, e.g. on graceful shutdown. */
  signal?: AbortSignal;
  resolve?: ResolveHost;
}

export interface DeliveryResult {
  /** The receiver answered 2xx. */
  ok: boolean;
  /** Null when no response arrived. */
  status: number | null;
  durationMs: number;
  /** The start of the response body as UTF-8; null when no response arrived. */
  responseExcerpt: string | null;
  /** Why no response arrived, short enough for the delivery log; null when one did. */
  error: string | null;
}

const defaultTimeoutMs = 10_000;
const defaultExcerptBytes = 1024;
const userAgent = 'TasksAPI-Webhooks/1';
/** Why an attempt was aborted, told apart from the error the request fails with. */
const timedOut = Symbol('timed out');
const aborted = Symbol('aborted');

/** A new endpoint secret: 24 random bytes, in the Standard Webhooks format. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/**
 * POSTs one signed delivery. Redirects are not followed (a 3xx is an answer like any non-2xx),
 * and network and HTTP problems come back in the result rather than thrown; an invalid secret
 * or a payload JSON cannot serialise is a bug, and throws. Each attempt is a client span: how
 * long the receiver took, and what it answered.
 */
export function sendWebhook(
  request: WebhookRequest,
  options: SendOptions,
): Promise<DeliveryResult> {
  const attributes = {
    'http.request.method': 'POST',
    'tasks.webhook.message_id': request.messageId,
    ...urlAttributes(request.url),
  };
  return tracer.startActiveSpan(
    'webhook POST',
    { kind: SpanKind.CLIENT, attributes },
    async (span) => {
      try {
        const result = await attemptDelivery(request, options);
        if (result.status !== null) span.setAttribute('http.response.status_code', result.status);
        if (!result.ok) {
          const failure = result.status === null ? 'no_response' : String(result.status);
          span.setAttribute('error.type', failure);
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: result.error ?? `HTTP ${failure}`,
          });
        }
        return result;
      } finally {
        span.end();
      }
    },
  );
}

/** Where a delivery goes, without its query or credentials: a receiver's URL may hold a secret. */
function urlAttributes(url: string): Attributes {
  if (!URL.canParse(url)) return {};
  const { origin, pathname, hostname, port, protocol } = new URL(url);
  return {
    'url.full': `${origin}${pathname}`,
    'server.address': hostname,
    'server.port': Number(port) || (protocol === 'https:' ? 443 : 80),
  };
}

async function attemptDelivery(
  request: WebhookRequest,
  options: SendOptions,
): Promise<DeliveryResult> {
  const body = JSON.stringify(request.payload);
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'user-agent': userAgent,
    'webhook-id': request.messageId,
    'webhook-timestamp': Math.floor(request.timestamp.getTime() / 1000),
    'webhook-signature': new Webhook(request.secret).sign(
      request.messageId,
      request.timestamp,
      body,
    ),
  };

  const startedAt = performance.now();
  const result = (outcome: Omit<DeliveryResult, 'ok' | 'durationMs'>): DeliveryResult => ({
    ok: outcome.status !== null && outcome.status >= 200 && outcome.status < 300,
    durationMs: Math.round(performance.now() - startedAt),
    ...outcome,
  });
  const failure = (error: string) => result({ status: null, responseExcerpt: null, error });

  let target: URL;
  try {
    target = new URL(request.url);
  } catch {
    return failure('invalid URL');
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    return failure(`unsupported URL scheme ${target.protocol}`);
  }
  if (!options.allowPrivate) {
    const refusal = refuseLiteralHost(target.hostname);
    if (refusal !== undefined) return failure(refusal.message);
  }

  // One controller per attempt, with a timer and a listener removed afterwards, rather than
  // AbortSignal.any: combining a long-lived shutdown signal per call retains memory in Node.
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const attempt = new AbortController();
  const timer = setTimeout(() => {
    attempt.abort(timedOut);
  }, timeoutMs);
  const abortAttempt = () => {
    attempt.abort(aborted);
  };
  if (options.signal?.aborted === true) abortAttempt();
  options.signal?.addEventListener('abort', abortAttempt, { once: true });
  try {
    const response = await post(target, body, headers, {
      signal: attempt.signal,
      lookup: options.allowPrivate ? undefined : createGuardedLookup(options.resolve),
      excerptBytes: options.responseExcerptBytes ?? defaultExcerptBytes,
    });
    return result({ status: response.status, responseExcerpt: response.excerpt, error: null });
  } catch (error) {
    if (attempt.signal.reason === timedOut) return failure(`timed out after ${timeoutMs} ms`);
    if (attempt.signal.reason === aborted) return failure('aborted');
    return failure(describeNetworkError(error));
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', abortAttempt);
  }
}

interface PostOptions {
  signal: AbortSignal;
  lookup: LookupFunction | undefined;
  excerptBytes: number;
}

/**
 * Resolves once the status is known and the excerpt read, then closes the connection. Once the
 * status line has arrived it is the receiver's answer: the body ending early (reset, timeout)
 * only shortens the excerpt.
 */
function post(
  target: URL,
  body: string,
  headers: OutgoingHttpHeaders,
  { signal, lookup, excerptBytes }: PostOptions,
): Promise<{ status: number; excerpt: string }> {
  return new Promise((resolve, reject) => {
    const send = target.protocol === 'https:' ? https.request : http.request;
    const outgoing = send(
      target,
      // A connection of its own: nothing pooled outlives the attempt or skips the lookup.
      { method: 'POST', headers, signal, agent: false, lookup },
      (response: IncomingMessage) => {
        // Whole characters only: a multi-byte one cut by the limit is left out.
        const decoder = new StringDecoder('utf8');
        let excerpt = '';
        let remainingBytes = excerptBytes;
        const finish = () => {
          outgoing.destroy();
          resolve({ status: response.statusCode ?? 0, excerpt });
        };
        response.on('data', (chunk: Buffer) => {
          const kept = chunk.subarray(0, remainingBytes);
          excerpt += decoder.write(kept);
          remainingBytes -= kept.length;
          if (remainingBytes === 0) finish();
        });
        response.on('end', finish);
        response.on('error', finish);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const messagesByCode: Partial<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host does not resolve',
  EAI_AGAIN: 'host lookup failed temporarily',
  EPROTO: 'TLS handshake failed',
};

/**
 * A short description for the delivery log. Node's own messages are not used: they carry the
 * resolved address, which for an internal host would disclose the internal network.
 */
function describeNetworkError(error: unknown): string {
  if (error instanceof AddressNotAllowedError) return error.message;
  const code = error instanceof Error && 'code' in error ? String(error.code) : undefined;
  if (code === undefined) return 'request failed';
  const known = messagesByCode[code];
  if (known !== undefined) return known;
  if (code.startsWith('HPE_')) return 'invalid HTTP response';
  if (/CERT|SELF_SIGNED|ERR_TLS/.test(code)) return `TLS certificate not accepted (${code})`;
  return `request failed (${code})`;
}
