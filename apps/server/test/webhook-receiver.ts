/**
 * A webhook receiver on 127.0.0.1 for tests and `bench:webhooks`: it records what arrives and
 * answers as told.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';

interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  body: string;
  /** The body as JSON. */
  json: { type: string; [field: string]: unknown };
  /** When the body had arrived (`performance.now()`). */
  receivedAt: number;
}

/** How to answer the n-th request (from 0): a status, or `hang` to never answer. */
export type Answer = number | 'hang';

export interface WebhookReceiver {
  url: string;
  received: ReceivedDelivery[];
  /** The `index`-th delivery received (from 0); throws when there is none yet. */
  delivery(index: number): ReceivedDelivery;
  /** Resolves once `count` deliveries matching `filter` arrived (rejects after `timeoutMs`). */
  waitFor(
    count: number,
    filter?: (delivery: ReceivedDelivery) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedDelivery[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(
  answer: (index: number) => Answer = () => 200,
): Promise<WebhookReceiver> {
  const received: ReceivedDelivery[] = [];
  const hanging = new Set<ServerResponse>();
  const waiters = new Set<() => void>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const index = received.length;
      received.push({
        headers: request.headers,
        body,
        json: JSON.parse(body) as ReceivedDelivery['json'],
        receivedAt: performance.now(),
      });
      for (const wake of waiters) wake();
      const status = answer(index);
      if (status === 'hang') {
        hanging.add(response);
        return;
      }
      response.writeHead(status, { 'content-type': 'text/plain' }).end(`answered ${status}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    delivery(index) {
      const found = received[index];
      if (!found) throw new Error(`no delivery #${index} (${received.length} received)`);
      return found;
    },
    waitFor(count, filter = () => true, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const matching = received.filter(filter);
          if (matching.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(matching);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} deliveries, got ${received.filter(filter).length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
