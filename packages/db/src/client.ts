import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.js';
import { AccountRepository } from './account-repository.js';
import { ChangeRepository } from './change-repository.js';
import {
  createPollingChangeSignal,
  createPostgresChangeSignal,
  type ChangeSignalSource,
} from './change-signals.js';
import { StatementRunner, type SentStatement } from './statements.js';
import { TaskRepository } from './task-repository.js';
import { WebhookRepository } from './webhook-repository.js';

export interface DatabaseClientOptions {
  /** PostgreSQL connection string, e.g. `postgresql://user@host:5432/db`. */
  url: string;
  /** Upper bound of pooled connections held by this client. */
  poolSize?: number;
  /** PostgreSQL cancels any statement running longer (server-side `statement_timeout`). */
  statementTimeoutMs?: number;
  /**
   * A new connection that takes longer fails instead of waiting; so does a query that waits
   * longer than this for a free pooled connection.
   */
  connectTimeoutMs?: number;
  /**
   * A query whose answer takes longer fails on the client side and its connection is discarded.
   * `statement_timeout` cannot bound a silent network (the server never sees the statement, or
   * its answer never arrives); set this above it, so that a merely slow statement is cancelled
   * by PostgreSQL first and keeps its connection.
   */
  queryTimeoutMs?: number;
  /**
   * Queries allowed to wait for a pooled connection while all are busy; the next one fails at
   * once with `DatabaseBusyError` instead of growing pg's queue (and memory) without bound.
   */
  maxWaiting?: number;
  /**
   * Prepare the hand-written statements once per connection (default); see
   * `StatementOptions.prepared` for where not to.
   */
  preparedStatements?: boolean;
  /**
   * Receives every SQL statement sent, by Prisma or by a repository, with its parameters
   * (for tools that inspect plans).
   */
  onQuery?: (statement: SentStatement) => void;
}

/** Every pooled connection is in use and `maxWaiting` queries already wait for one. */
export class DatabaseBusyError extends Error {
  constructor(waiting: number) {
    super(`All database connections are busy and ${waiting} queries are waiting`);
    this.name = 'DatabaseBusyError';
  }
}

/**
 * What pg throws, as plain Errors without a code, when the connection rather than the query
 * failed (the driver adapter passes them through unclassified). Pinned by the fault-injection
 * tests: a pg upgrade that rewords one fails them.
 */
const connectionFailureMessages = new Set([
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
]);

/** True when the database could not be reached or did not answer in time: worth a retry later. */
export function isConnectionFailure(error: unknown): boolean {
  return (
    error instanceof DatabaseBusyError ||
    (error instanceof Error && connectionFailureMessages.has(error.message))
  );
}

type ConnectCallback = Parameters<pg.Pool['connect']>[0];

/**
 * pg's pool, plus a bound on how many queries may wait for a connection, and no reuse of a
 * connection handed back inside a transaction.
 */
class BoundedPool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly maxWaiting: number,
  ) {
    super(config);
    // A transaction's connection comes back without an error even when its ROLLBACK never got
    // through: after a client-side query timeout pg still awaits the timed-out answer. Reused,
    // it would run the next request's statements inside that transaction; ended here, before
    // the pool decides, it is dropped instead.
    this.on('release', (error, client) => {
      // Typed as always present, `error` is undefined on an ordinary release.
      const failed = (error as Error | undefined) !== undefined;
      if (!failed && client.getTransactionStatus() !== 'I') void client.end();
    });
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    const mustWait = this.idleCount === 0 && this.totalCount >= this.options.max;
    if (!mustWait || this.waitingCount < this.maxWaiting) {
      if (!callback) return super.connect();
      super.connect(callback);
      return undefined;
    }
    const error = new DatabaseBusyError(this.waitingCount);
    if (!callback) return Promise.reject(error);
    process.nextTick(() => {
      callback(error, undefined, () => undefined);
    });
    return undefined;
  }
}

/**
 * Without it Prisma captures a stack trace on every query, to point at the calling line should
 * the query fail: a large share of a query's CPU in the benchmark (bench/results). Our errors are mapped to the catalogue
 * and logged with their own stack, so the code frame would only ever reach a log.
 */
const errorFormat = 'minimal';

function createPrismaClient(adapter: PrismaPg, onQuery: DatabaseClientOptions['onQuery']) {
  if (!onQuery) return new PrismaClient({ adapter, errorFormat });
  const prisma = new PrismaClient({
    adapter,
    errorFormat,
    log: [{ level: 'query', emit: 'event' }],
  });
  prisma.$on('query', (event) => {
    onQuery({ sql: event.query, params: JSON.parse(event.params) as unknown[] });
  });
  return prisma;
}

/** The repositories, on one pool; Prisma's client itself for the tools that inspect data. */
export interface Database {
  prisma: PrismaClient;
  tasks: TaskRepository;
  /** The change feed of task writes. */
  changes: ChangeRepository;
  /**
   * How instances on this database tell each other about new changes: LISTEN/NOTIFY, or polling
   * every `pollIntervalMs` where LISTEN is not available (the embedded PGlite).
   */
  createChangeSignal(options: {
    kind: 'notify' | 'poll';
    pollIntervalMs: number;
    onError: (error: unknown) => void;
  }): ChangeSignalSource;
  accounts: AccountRepository;
  webhooks: WebhookRepository;
  /** The pool under every repository, for a library that brings its own SQL (the job queue). */
  pool: pg.Pool;
  /** Resolves when the database answers a trivial query (readiness). */
  ping(): Promise<void>;
  /** Disconnects Prisma and ends the pool, even where only `tasks` ever used it. */
  close(): Promise<void>;
}

/**
 * Builds a Prisma client on the `pg` driver adapter, with the repositories on its pool. There is
 * deliberately no module-level singleton: whoever owns the process lifecycle (the server, a
 * test, a script) creates one and closes it.
 */
export function createDatabase({
  url,
  poolSize = 10,
  statementTimeoutMs,
  connectTimeoutMs,
  queryTimeoutMs,
  maxWaiting = Number.POSITIVE_INFINITY,
  preparedStatements = true,
  onQuery,
}: DatabaseClientOptions): Database {
  const pool = new BoundedPool(
    {
      connectionString: url,
      max: poolSize,
      ...(statementTimeoutMs !== undefined && { statement_timeout: statementTimeoutMs }),
      ...(connectTimeoutMs !== undefined && { connectionTimeoutMillis: connectTimeoutMs }),
      ...(queryTimeoutMs !== undefined && { query_timeout: queryTimeoutMs }),
    },
    maxWaiting,
  );
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  const prisma = createPrismaClient(adapter, onQuery);
  const sql = new StatementRunner(pool, { prepared: preparedStatements, onQuery });
  const changes = new ChangeRepository(sql);
  return {
    prisma,
    tasks: new TaskRepository(sql, prisma),
    changes,
    createChangeSignal: ({ kind, pollIntervalMs, onError }) =>
      kind === 'notify'
        ? createPostgresChangeSignal({ url, pool, onError })
        : createPollingChangeSignal({ changes, intervalMs: pollIntervalMs, onError }),
    accounts: new AccountRepository(prisma),
    webhooks: new WebhookRepository(prisma, sql),
    pool,
    // Through the pool and statement kind the repositories use, so a database that cannot
    // serve them (a PGlite session shared with another process's named statements) is unready.
    async ping() {
      await sql.query({ name: 'ping', text: 'SELECT 1' }, []);
    },
    async close() {
      // The adapter ends the pool only if Prisma itself ever connected.
      await prisma.$disconnect();
      if (!pool.ended) await pool.end();
    },
  };
}

/** Prisma's client alone, for whoever needs no repository (scripts, test inspection). */
export function createDatabaseClient(options: DatabaseClientOptions): PrismaClient {
  return createDatabase(options).prisma;
}
