import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, type Prisma } from './generated/prisma/client.js';

export interface DatabaseClientOptions {
  /** PostgreSQL connection string, e.g. `postgresql://user@host:5432/db`. */
  url: string;
  /** Upper bound of pooled connections held by this client. */
  poolSize?: number;
  /** PostgreSQL cancels any statement running longer (server-side `statement_timeout`). */
  statementTimeoutMs?: number;
  /** A new connection that takes longer fails instead of waiting. */
  connectTimeoutMs?: number;
  /** Receives every SQL statement sent, with its parameters (for tools that inspect plans). */
  onQuery?: (event: Prisma.QueryEvent) => void;
}

/**
 * Builds a Prisma client on the `pg` driver adapter. There is deliberately no module-level
 * singleton: whoever owns the process lifecycle (the server, a test, a script) creates one
 * and disconnects it.
 */
export function createDatabaseClient({
  url,
  poolSize = 10,
  statementTimeoutMs,
  connectTimeoutMs,
  onQuery,
}: DatabaseClientOptions): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: url,
    max: poolSize,
    ...(statementTimeoutMs !== undefined && { statement_timeout: statementTimeoutMs }),
    ...(connectTimeoutMs !== undefined && { connectionTimeoutMillis: connectTimeoutMs }),
  });
  if (!onQuery) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ level: 'query', emit: 'event' }] });
  client.$on('query', onQuery);
  return client;
}
