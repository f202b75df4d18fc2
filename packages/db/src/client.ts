import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, type Prisma } from './generated/prisma/client.js';

export interface DatabaseClientOptions {
  /** PostgreSQL connection string, e.g. `postgresql://user@host:5432/db`. */
  url: string;
  /** Upper bound of pooled connections held by this client. */
  poolSize?: number;
  /** Prisma's log definitions, e.g. query events for tools that inspect the SQL. */
  log?: Prisma.LogDefinition[];
}

/**
 * Builds a Prisma client on the `pg` driver adapter. There is deliberately no module-level
 * singleton: whoever owns the process lifecycle (the server, a test, a script) creates one
 * and disconnects it.
 */
export function createDatabaseClient({
  url,
  poolSize = 10,
  log,
}: DatabaseClientOptions): PrismaClient {
  const adapter = new PrismaPg({ connectionString: url, max: poolSize });
  return new PrismaClient({ adapter, ...(log && { log }) });
}
