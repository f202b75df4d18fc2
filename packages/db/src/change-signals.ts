import pg from 'pg';
import type { ChangePosition, ChangeRepository } from './change-repository.js';

/**
 * A wake-up between instances that some user's changes may be readable (the API's ChangeSignal).
 * `undefined`: anything may have changed, because signals may have been missed meanwhile.
 */
export interface ChangeSignalSource {
  publish(userId: string): void;
  subscribe(listener: (userId: string | undefined) => void): () => void;
  close(): Promise<void>;
}

/** The subscribers of one signal; every implementation (and the API's local one) shares it. */
export function changeListeners() {
  const listeners = new Set<(userId: string | undefined) => void>();
  return {
    add(listener: (userId: string | undefined) => void) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    emit(userId: string | undefined) {
      for (const listener of listeners) listener(userId);
    },
  };
}

const channel = 'task_changes';

/**
 * LISTEN/NOTIFY on the database every instance already shares. NOTIFY is sent after the write
 * committed, in its own statement: PostgreSQL serializes the commits of notifying transactions
 * on a database-wide lock, which a write's own transaction then never waits for. The users
 * published within `coalesceMs` share one statement, each named once: a burst of writes costs
 * one round trip, not one per write. The listening connection reconnects after a failure and
 * reports `undefined` (signals may have been lost).
 */
export function createPostgresChangeSignal({
  url,
  pool,
  onError,
  reconnectMs = 1_000,
  coalesceMs = 5,
}: {
  url: string;
  coalesceMs?: number;
  /** Where NOTIFY is sent from: the application's pool. */
  pool: pg.Pool;
  onError: (error: unknown) => void;
  reconnectMs?: number;
}): ChangeSignalSource {
  const listeners = changeListeners();
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const listen = async () => {
    const connection = new pg.Client({ connectionString: url });
    connection.on('notification', (message) => {
      listeners.emit(message.payload);
    });
    connection.on('error', (error) => {
      onError(error);
      reconnect(connection);
    });
    connection.on('end', () => {
      reconnect(connection);
    });
    try {
      await connection.connect();
      await connection.query(`LISTEN ${channel}`);
      client = connection;
      // Whatever was published while no connection listened is read now.
      listeners.emit(undefined);
    } catch (error) {
      onError(error);
      reconnect(connection);
    }
  };
  const reconnect = (broken: pg.Client) => {
    if (closed || retry || (client && client !== broken)) return;
    client = undefined;
    broken.end().catch(() => {});
    retry = setTimeout(() => {
      retry = undefined;
      void listen();
    }, reconnectMs);
    retry.unref();
  };
  void listen();

  let pending = new Set<string>();
  let flush: NodeJS.Timeout | undefined;
  const notify = () => {
    const userIds = [...pending];
    pending = new Set();
    flush = undefined;
    pool
      .query('SELECT pg_notify($1, user_id) FROM unnest($2::text[]) AS user_id', [channel, userIds])
      .catch(onError);
  };
  return {
    publish(userId) {
      pending.add(userId);
      flush ??= setTimeout(notify, coalesceMs);
    },
    subscribe: (listener) => listeners.add(listener),
    async close() {
      closed = true;
      clearTimeout(retry);
      clearTimeout(flush);
      await client?.end().catch(() => {});
    },
  };
}

/**
 * Where LISTEN is not available (the embedded PGlite serves every connection from one session):
 * every `intervalMs`, one query for whose changes came since the last look.
 */
export function createPollingChangeSignal({
  changes,
  intervalMs,
  onError,
}: {
  changes: ChangeRepository;
  intervalMs: number;
  onError: (error: unknown) => void;
}): ChangeSignalSource {
  const listeners = changeListeners();
  let position: ChangePosition | undefined;
  let polling = false;
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      if (!position) {
        position = await changes.horizon();
        return;
      }
      const seen = await changes.usersChangedAfter(position, 1_000);
      position = seen.position;
      for (const userId of seen.userIds) listeners.emit(userId);
    } catch (error) {
      onError(error);
    } finally {
      polling = false;
    }
  };
  const timer = setInterval(() => void poll(), intervalMs);
  timer.unref();
  void poll();
  return {
    // The writer's own instance wakes its readers directly; the others find it by polling.
    publish() {},
    subscribe: (listener) => listeners.add(listener),
    close() {
      clearInterval(timer);
      return Promise.resolve();
    },
  };
}
