import { ApiError } from '@tasks/api';
import { getMigrationStatus, type Database } from '@tasks/db';
import type { FastifyInstance } from 'fastify';
import { isDraining } from '../graceful-close.js';

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

export interface HealthOptions {
  database: Pick<Database, 'ping'>;
  databaseUrl: string;
  /** Where this build's migrations are; undefined: the repository's `prisma/migrations`. */
  migrationsDir: string | undefined;
}

export async function healthRoutes(
  app: FastifyInstance,
  { database, databaseUrl, migrationsDir }: HealthOptions,
): Promise<void> {
  // Liveness: the process answers; it never touches the database.
  app.get('/health', async () => ({ status: 'ok' }));

  // This build's migrations cannot change while it runs: once all are applied, stop asking.
  let migrationsApplied = false;
  async function pendingMigrations(): Promise<string[]> {
    if (migrationsApplied) return [];
    const { pending, failed } = await getMigrationStatus({ url: databaseUrl, migrationsDir });
    migrationsApplied = pending.length === 0 && failed.length === 0;
    return [...failed, ...pending];
  }

  // Readiness: not shutting down, the database answers quickly, and its schema is this build's.
  app.get('/ready', async (request) => {
    if (isDraining(app)) throw new ApiError('SERVICE_UNAVAILABLE', 'The server is shutting down');
    let notApplied: string[];
    try {
      await withTimeout(database.ping(), readinessTimeoutMs);
      notApplied = await withTimeout(pendingMigrations(), readinessTimeoutMs);
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed');
      throw new ApiError('SERVICE_UNAVAILABLE', 'The database is not reachable');
    }
    if (notApplied.length > 0) {
      throw new ApiError('SERVICE_UNAVAILABLE', `Migrations not applied: ${notApplied.join(', ')}`);
    }
    return { status: 'ready' };
  });
}
