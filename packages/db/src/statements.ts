import type pg from 'pg';

/** A statement as sent, for whoever inspects them (`DatabaseClientOptions.onQuery`). */
export interface SentStatement {
  sql: string;
  params: unknown[];
}

/** Hand-written SQL of a repository. */
export interface Statement {
  /** The prepared statement's name on each connection, when statements are prepared. */
  name: string | undefined;
  text: string;
}

export interface StatementOptions {
  /**
   * Prepare each statement once per connection (named statements), so PostgreSQL parses and
   * plans it once instead of on every query. Switch it off where a connection is not one server
   * session: the embedded PGlite (every connection shares its one session, so a name prepared on
   * one already exists on the next) and PgBouncer in transaction mode before 1.21 or without
   * `max_prepared_statements`.
   */
  prepared: boolean;
  /** Called with each statement before it is sent. */
  onQuery?: ((statement: SentStatement) => void) | undefined;
}

/** Sends the repositories' statements on the pool Prisma's adapter uses. */
export class StatementRunner {
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: StatementOptions,
  ) {}

  query<Row extends pg.QueryResultRow>(
    statement: Statement,
    values: unknown[],
  ): Promise<pg.QueryResult<Row>> {
    this.options.onQuery?.({ sql: statement.text, params: values });
    return this.pool.query<Row>(
      this.options.prepared && statement.name !== undefined
        ? { name: statement.name, text: statement.text, values }
        : { text: statement.text, values },
    );
  }

  async rows<Row extends pg.QueryResultRow>(
    statement: Statement,
    values: unknown[],
  ): Promise<Row[]> {
    return (await this.query<Row>(statement, values)).rows;
  }
}

/**
 * The request a write belongs to, for the triggers: its id, which the change feed records, and
 * its span (`currentTraceparent`), which the jobs the write enqueues carry. Transaction-local
 * settings, made inside the write's own statement (SQL for a WHERE clause or a select list).
 */
export const requestSettings = (requestId: string, traceparent: string) =>
  `(set_config('tasks.request_id', coalesce(${requestId}::text, ''), true) ||
    set_config('tasks.traceparent', coalesce(${traceparent}::text, ''), true))`;
