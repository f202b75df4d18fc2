import {
  createContext,
  toApiError,
  toProblem,
  type RestEventStream,
  type Services,
} from '@tasks/api';
import { isTrackedEnvelope } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { once } from 'node:events';
import { requestDetails } from '../request-details.js';
import { inputsFromHeaders, withoutHeaderFields } from './rest.js';

export interface EventStreamLimits {
  /** A comment at least this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /** A client that reads nothing for this long is dropped; it resumes from its last id. */
  slowClientMs: number;
}

/** What EventSource waits before reconnecting, sent first and again when the server ends it. */
const reconnectMs = 1_000;

/** One SSE frame; `data` is JSON on one line, so it needs no splitting. */
function frame({ id, event, data }: { id?: string; event: string; data: unknown }): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Serves each subscription declared with `meta.eventStream` as `text/event-stream` on REST:
 * everything the subscription checks before streaming (token, input, cursor, limits) is answered
 * as problem+json; after that, one event per item, heartbeats, and an `error` event if the
 * stream ends because the caller's authorization did.
 */
export async function eventStreamRoutes(
  app: FastifyInstance,
  {
    streams,
    services,
    limits,
  }: { streams: RestEventStream[]; services: Services; limits: EventStreamLimits },
): Promise<void> {
  for (const stream of streams) {
    app.get(stream.path, async (request, reply) => {
      const abort = new AbortController();
      request.raw.on('close', () => {
        abort.abort();
      });
      const input = {
        ...withoutHeaderFields(
          stream,
          stream.parseQuery(request.query as Record<string, string | string[]>),
        ),
        ...inputsFromHeaders(stream, request),
      };
      const items = await stream.open(
        createContext(services, requestDetails(request)),
        input,
        abort.signal,
      );
      await pipeEvents(request, reply, items, abort, limits);
    });
  }
}

async function pipeEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  items: AsyncIterable<unknown>,
  abort: AbortController,
  { heartbeatMs, slowClientMs }: EventStreamLimits,
): Promise<void> {
  reply.hijack();
  const response = reply.raw;
  // Headers set by hooks so far (request id, CORS, security, rate limit) go out with the stream.
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) response.setHeader(name, value);
  }
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    // Neither caches nor proxies may hold events back or compress them into batches.
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    // Once a stream ends its connection goes too: no idle socket outlives a shutdown.
    connection: 'close',
  });
  /** Writes, and waits while the client is not reading; a client that stays behind is dropped. */
  const send = async (text: string) => {
    if (response.write(text)) return;
    const drained = once(response, 'drain', { signal: AbortSignal.timeout(slowClientMs) });
    await drained.catch(() => {
      request.log.warn('event stream client too slow: dropped');
      abort.abort();
      response.destroy();
    });
  };
  const heartbeat = setInterval(() => {
    if (response.writableNeedDrain) return;
    response.write(': heartbeat\n\n');
  }, heartbeatMs);
  try {
    await send(`retry: ${reconnectMs}\n\n`);
    for await (const item of items) {
      if (abort.signal.aborted) break;
      const [id, data] = isTrackedEnvelope(item) ? item : [undefined, item];
      await send(frame({ id, event: (data as { type: string }).type, data }));
    }
  } catch (error) {
    if (!abort.signal.aborted) {
      const failure = toApiError(error);
      if (failure.status >= 500) request.log.error({ err: error }, 'event stream failed');
      response.write(frame({ event: 'error', data: toProblem(failure, request.id) }));
    }
  } finally {
    clearInterval(heartbeat);
    // The server ended it (shutdown, expiry): say when to come back, then close.
    if (!response.destroyed) response.end(`retry: ${reconnectMs}\n\n`);
  }
  request.log.info(
    { path: request.url, durationMs: Math.round(reply.elapsedTime) },
    'stream ended',
  );
}
