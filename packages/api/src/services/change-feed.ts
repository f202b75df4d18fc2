import { setTimeout as sleep } from 'node:timers/promises';
import {
  changeListeners,
  type ChangePosition,
  type ChangeRecord,
  type ChangeRepository,
} from '@tasks/db';
import type { Clock } from '../clock.js';
import type { Logger } from '../context.js';
import { ApiError, toApiError, validationError } from '../errors.js';
import type { ChangeOutput, ChangePage, ListChangesInput } from '../schemas/change.js';

/**
 * How an instance learns that a user's changes may be readable: the writer publishes after its
 * commit, every instance's subscribers hear it. A wake-up, not a transport: readers read from
 * their cursor, so a lost signal delays a change (until the next heartbeat), never loses it.
 */
export interface ChangeSignal {
  publish(userId: string): void;
  /** `listener(undefined)`: anything may have changed (the signal was interrupted). */
  subscribe(listener: (userId: string | undefined) => void): () => void;
}

/** One process's signal, for a single instance and for tests. */
export function createLocalChangeSignal(): ChangeSignal {
  const listeners = changeListeners();
  return {
    publish: (userId) => {
      listeners.emit(userId);
    },
    subscribe: (listener) => listeners.add(listener),
  };
}

export interface ChangeFeedConfig {
  /** Changes older than this are deleted; a cursor older than this is CHANGES_EXPIRED. */
  retentionMs: number;
  /** A stream re-reads and re-checks its caller at least this often, changes or not. */
  heartbeatMs: number;
  maxStreamsPerUser: number;
  /** Streams this instance serves at once; beyond, SERVICE_UNAVAILABLE (try another instance). */
  maxStreams: number;
}

/** Changes a stream reads per query. */
const streamBatch = 100;
/** How soon to read again when an older transaction still running holds changes back. */
const heldBackRetryMs = 20;

interface Cursor {
  position: ChangePosition;
  /** When the change happened (or the cursor was made): what retention is measured against. */
  time: number;
}

const cursorPattern = /^(\d{1,19})\.(\d{1,19})\.(\d{1,15})$/;

function encodeCursor({ transactionId, id }: ChangePosition, time: Date): string {
  return Buffer.from(`${transactionId}.${id}.${time.getTime()}`).toString('base64url');
}

export interface FollowOptions {
  userId: string;
  /** Where to resume: a change's id or a `nextCursor`; absent, from now on. */
  since: string | undefined;
  /** The input field the cursor came from, for a validation error. */
  sinceField: string;
  /** False once the caller's token has expired or its session was revoked: the stream ends. */
  stillAuthorized: () => Promise<boolean>;
  /** Aborted when the client goes away. */
  signal: AbortSignal | undefined;
  log: Logger;
}

/**
 * The change feed of task writes: pages of changes after a cursor, and streams that follow them
 * live. Changes are recorded by the database in each write's transaction (see ChangeRepository).
 */
export class ChangeFeed {
  private readonly wakers = new Map<string, Set<() => void>>();
  /** Reads in flight, by user, position and size: see `read`. */
  private readonly reads = new Map<string, ReturnType<ChangeRepository['after']>>();
  private readonly streamsByUser = new Map<string, number>();
  private streams = 0;
  private readonly closing = new AbortController();

  constructor(
    private readonly changes: ChangeRepository,
    private readonly clock: Clock,
    private readonly config: ChangeFeedConfig,
    private readonly signal: ChangeSignal,
  ) {
    signal.subscribe((userId) => {
      this.wake(userId);
    });
  }

  /** Streams open on this instance. */
  get openStreams(): number {
    return this.streams;
  }

  /** After a write of `userId`'s tasks committed: wakes its readers here and on other instances. */
  changed(userId: string): void {
    this.wake(userId);
    this.signal.publish(userId);
  }

  async page(userId: string, { since, limit }: ListChangesInput): Promise<ChangePage> {
    if (since === undefined) {
      return {
        items: [],
        nextCursor: encodeCursor(await this.changes.horizon(), this.clock.now()),
      };
    }
    const { position } = this.decode(since, 'since');
    const { changes } = await this.changes.after(userId, position, limit);
    const items = changes.map(toChangeOutput);
    return { items, nextCursor: items.at(-1)?.id ?? since };
  }

  /**
   * `userId`'s changes after `since`, then each new one as it commits, until the client leaves,
   * the caller's authorization ends or the instance shuts down. The cursor and the stream limits
   * are checked at once, before anything is streamed. Pulled one at a time: a slow client holds
   * one change, not a backlog. A database outage pauses it; it resumes from where it was.
   */
  follow(options: FollowOptions): AsyncGenerator<ChangeOutput, void> {
    const from =
      options.since === undefined ? undefined : this.decode(options.since, options.sinceField);
    const release = this.admit(options.userId);
    const stop = options.signal
      ? AbortSignal.any([options.signal, this.closing.signal])
      : this.closing.signal;
    // A stream given up before its first read never runs its `finally`.
    stop.addEventListener('abort', release, { once: true });
    return this.stream(options, from?.position, stop, release);
  }

  private async *stream(
    { userId, stillAuthorized, log }: FollowOptions,
    from: ChangePosition | undefined,
    stop: AbortSignal,
    release: () => void,
  ): AsyncGenerator<ChangeOutput, void> {
    let position = from;
    const wake = { pending: false, resolve: (): void => {} };
    const onWake = () => {
      wake.pending = true;
      wake.resolve();
    };
    const wakers = this.wakers.get(userId) ?? new Set();
    this.wakers.set(userId, wakers.add(onWake));
    try {
      position ??= await this.changes.horizon();
      while (!stop.aborted) {
        wake.pending = false;
        let read: Awaited<ReturnType<ChangeRepository['after']>>;
        try {
          read = await this.read(userId, position, streamBatch);
        } catch (error) {
          if (toApiError(error).apiCode !== 'SERVICE_UNAVAILABLE') throw error;
          log.warn({ err: error }, 'change stream paused: the database is unavailable');
          await this.pause(stop, this.config.heartbeatMs, wake);
          continue;
        }
        for (const change of read.changes) {
          yield toChangeOutput(change);
          position = change.position;
        }
        if (read.changes.length === streamBatch) continue;
        const waitMs = read.heldBack ? heldBackRetryMs : this.config.heartbeatMs;
        // Both flip while this generator waits (a wake-up, a client leaving): read them afresh.
        const wokenMeanwhile = () => wake.pending;
        const stopped = () => stop.aborted;
        if (!wokenMeanwhile()) await this.pause(stop, waitMs, wake);
        if (!stopped() && !(await stillAuthorized())) {
          throw new ApiError(
            'UNAUTHENTICATED',
            'The access token expired or its session was revoked: reconnect with a fresh token',
          );
        }
      }
    } finally {
      wakers.delete(onWake);
      if (wakers.size === 0) this.wakers.delete(userId);
      release();
    }
  }

  /** Ends every stream of this instance (shutdown): clients resume elsewhere from their cursor. */
  close(): void {
    this.closing.abort();
  }

  /** Deletes changes past retention (with an hour's margin, for cursors made at the edge). */
  async prune(limit: number): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - this.config.retentionMs - 3_600_000);
    return this.changes.deleteOlderThan(cutoff, limit);
  }

  /**
   * One query for every stream of a user woken at the same position (tabs, devices): a write
   * wakes them all at once, and they would otherwise each ask for the same rows.
   */
  private read(
    userId: string,
    position: ChangePosition,
    limit: number,
  ): ReturnType<ChangeRepository['after']> {
    const key = `${userId}/${position.transactionId}/${position.id}/${limit}`;
    let read = this.reads.get(key);
    if (!read) {
      read = this.changes.after(userId, position, limit).finally(() => this.reads.delete(key));
      this.reads.set(key, read);
    }
    return read;
  }

  private wake(userId: string | undefined): void {
    const targets =
      userId === undefined ? [...this.wakers.values()] : [this.wakers.get(userId) ?? new Set()];
    for (const wakers of targets) for (const onWake of wakers) onWake();
  }

  private async pause(
    stop: AbortSignal,
    ms: number,
    wake: { pending: boolean; resolve: () => void },
  ): Promise<void> {
    const done = new AbortController();
    const woken = new Promise<void>((resolve) => {
      wake.resolve = resolve;
    });
    const timedOut = sleep(ms, undefined, { signal: AbortSignal.any([stop, done.signal]) });
    await Promise.race([woken, timedOut.catch(() => {})]);
    done.abort();
    wake.resolve = () => {};
  }

  private admit(userId: string): () => void {
    const ofUser = this.streamsByUser.get(userId) ?? 0;
    if (ofUser >= this.config.maxStreamsPerUser) {
      throw new ApiError(
        'TOO_MANY_STREAMS',
        `An account may have ${this.config.maxStreamsPerUser} change streams open at once`,
        { retryAfterSeconds: 5 },
      );
    }
    if (this.streams >= this.config.maxStreams) {
      throw new ApiError('SERVICE_UNAVAILABLE', 'This instance serves no more change streams');
    }
    this.streamsByUser.set(userId, ofUser + 1);
    this.streams += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.streams -= 1;
      const left = (this.streamsByUser.get(userId) ?? 1) - 1;
      if (left === 0) this.streamsByUser.delete(userId);
      else this.streamsByUser.set(userId, left);
    };
  }

  private decode(raw: string, field: string): Cursor {
    const match = cursorPattern.exec(Buffer.from(raw, 'base64url').toString('latin1'));
    if (!match) {
      throw validationError([
        { path: field, code: 'invalid_cursor', message: 'Not a change cursor of this API' },
      ]);
    }
    const [, transactionId = '0', id = '0', time = '0'] = match;
    const cursor = {
      position: { transactionId: BigInt(transactionId), id: BigInt(id) },
      time: Number(time),
    };
    if (cursor.time < this.clock.now().getTime() - this.config.retentionMs) {
      throw new ApiError(
        'CHANGES_EXPIRED',
        'This cursor is older than the changes kept; list the tasks again and follow from a new cursor',
      );
    }
    return cursor;
  }
}

export function toChangeOutput(change: ChangeRecord): ChangeOutput {
  return {
    id: encodeCursor(change.position, change.occurredAt),
    type: change.type,
    occurredAt: change.occurredAt,
    taskId: change.taskId,
    task: change.task,
  };
}
