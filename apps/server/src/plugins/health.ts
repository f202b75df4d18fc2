import { ApiError } from '@tasks/api';
import type { PrismaClient } from '@tasks/db';
import type { FastifyInstance } from 'fastify';

const readinessTimeoutMs = 2_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([work, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

export async function healthRoutes(
  app: FastifyInstance,
  { db }: { db: PrismaClient },
): Promise<void> {
  // Liveness: the process answers; it never touches the database.
  app.get('/health', async () => ({ status: 'ok' }));

  // Readiness: the database answers within a short timeout.
  app.get('/ready', async (request) => {
    try {
      await withTimeout(db.$queryRaw`SELECT 1`, readinessTimeoutMs);
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed');
      throw new ApiError('SERVICE_UNAVAILABLE', 'The database is not reachable');
    }
    return { status: 'ready' };
  });
}
