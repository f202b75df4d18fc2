import { appRouter, createContext, type Services } from '@tasks/api';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import type { FastifyInstance } from 'fastify';
import { requestDetails } from '../request-details.js';

/**
 * `/trpc` for TypeScript clients (superjson, batching). Registered in its own encapsulated
 * scope because the adapter replaces the JSON content-type parser there.
 */
export async function trpcRoutes(
  app: FastifyInstance,
  { services }: { services: Services },
): Promise<void> {
  const options: FastifyTRPCPluginOptions<typeof appRouter> = {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      allowBatching: true,
      createContext: ({ req, info }) =>
        createContext(services, { ...requestDetails(req), batched: info.calls.length > 1 }),
    },
  };
  await app.register(fastifyTRPCPlugin, options);
}
