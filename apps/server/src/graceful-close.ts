import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';

/** Keyed by the HTTP server, which the app and all its encapsulated plugins share. */
const draining = new WeakSet<object>();

/** True once shutdown began: `/ready` then answers 503 so load balancers stop routing here. */
export function isDraining(app: FastifyInstance): boolean {
  return draining.has(app.server);
}

/**
 * While the app drains or closes, every response asks the client to close its connection, so
 * kept-alive sockets end as soon as their last request is answered.
 */
export function enableGracefulClose(app: FastifyInstance): void {
  app.addHook('preClose', async () => {
    draining.add(app.server);
  });
  app.addHook('onSend', async (_request, reply) => {
    if (isDraining(app)) reply.header('connection', 'close');
  });
}

function openConnections(app: FastifyInstance): Promise<number> {
  return new Promise((resolve) => {
    app.server.getConnections((error, count) => {
      resolve(error ? 0 : count);
    });
  });
}

/**
 * Drains, then closes. Node's `server.close()` destroys every socket it considers idle, including
 * one whose request is sent but not yet read by a busy event loop; so first keep serving (each
 * response closing its connection) until no connection is left or `drainMs` passes, and only then
 * stop listening and wait for what is still in flight. onClose hooks then release the pool and
 * Redis.
 */
export async function closeGracefully(
  app: FastifyInstance,
  { drainMs }: { drainMs: number },
): Promise<void> {
  draining.add(app.server);
  const deadline = Date.now() + drainMs;
  while (Date.now() < deadline && (await openConnections(app)) > 0) await sleep(25);
  await app.close();
}
