/**
 * A raw reader of a server-sent event stream for tests: every event and comment as sent, in
 * order, so a test can say exactly what arrived (EventSource would reconnect by itself and hide
 * how a stream ended).
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface StreamEvent {
  id: string | undefined;
  event: string | undefined;
  data: unknown;
}

export interface EventStreamReader {
  status: number;
  headers: Headers;
  /** The next event, or an error when none arrives within `timeoutMs` or the stream ended. */
  next(timeoutMs?: number): Promise<StreamEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  comments: string[];
  /** `retry:` values the server sent. */
  retries: number[];
  close(): void;
}

export async function openEventStream(
  url: string,
  headers: Record<string, string>,
): Promise<EventStreamReader> {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  const queue: StreamEvent[] = [];
  const waiting: ((event: StreamEvent | Error) => void)[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  let finished = false;
  const deliver = (event: StreamEvent) => {
    const waiter = waiting.shift();
    if (waiter) waiter(event);
    else queue.push(event);
  };
  const parser = createParser({
    onEvent: (message: EventSourceMessage) => {
      deliver({ id: message.id, event: message.event, data: JSON.parse(message.data) as unknown });
    },
    onComment: (comment) => comments.push(comment.trim()),
    onRetry: (ms) => retries.push(ms),
  });
  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body)
        parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch {
      // Closed by the test.
    }
    finished = true;
    for (const waiter of waiting.splice(0)) waiter(new Error('the stream ended'));
  })();
  return {
    status: response.status,
    headers: response.headers,
    ended,
    comments,
    retries,
    next(timeoutMs = 5_000) {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      if (finished) return Promise.reject(new Error('the stream ended'));
      return new Promise((resolve, reject) => {
        const waiter = (event: StreamEvent | Error) => {
          clearTimeout(timer);
          if (event instanceof Error) reject(event);
          else resolve(event);
        };
        // A waiter that timed out leaves the line: the next event is for the next `next()`.
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          reject(new Error(`no event within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.push(waiter);
      });
    },
    close() {
      abort.abort();
    },
  };
}
