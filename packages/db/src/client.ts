import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, type Prisma } from './generated/prisma/client.js';

export interface DatabaseClientOptions {
  /** PostgreSQL connection string, e.g. `postgresql://user@host:5432/db`. */
  url: string;
  /** Upper bound of pooled connections held by this client. */
  poolSize?: number;
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
  onQuery,
}: DatabaseClientOptions): PrismaClient {
  const adapter = new PrismaPg({ connectionString: url, max: poolSize });
  if (!onQuery) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ level: 'query', emit: 'event' }] });
  client.$on('query', onQuery);
  return client;
}
