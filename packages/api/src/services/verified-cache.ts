import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';

/** Credentials remembered at most; the least recently used goes first. */
const maxEntries = 10_000;

interface LookupTicket {
  forgets: number;
  startedAt: number;
}

/**
 * Credentials found valid recently (open sessions, live personal access tokens), so that a
 * protected request can skip the query that checks them: an entry is trusted for `ttlMs`, never
 * beyond the credential's own expiry. lru-cache keeps it bounded; each entry carries its own
 * deadline, compared on the service's clock.
 *
 * A lookup that began before a revocation must not store what it found afterwards: it takes a
 * `ticket()` before asking the database, and `remember` ignores tickets older than the last
 * `forget`.
 */
export class VerifiedCache<Entry extends { userId: string }> {
  private readonly entries = new LRUCache<string, { entry: Entry; trustedUntil: number }>({
    max: maxEntries,
  });
  private forgets = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  /** What was found under `key` less than `ttlMs` ago; null when it must be asked again. */
  trusted(key: string): Entry | null {
    const found = this.entries.get(key);
    return found && this.clock.now().getTime() < found.trustedUntil ? found.entry : null;
  }

  /** Taken before asking the database: trust is counted from then. */
  ticket(): LookupTicket {
    return { forgets: this.forgets, startedAt: this.clock.now().getTime() };
  }

  /** Records a credential just found valid, unless something was forgotten since `ticket`. */
  remember(key: string, entry: Entry, ticket: LookupTicket, expiresAt: Date): void {
    if (this.ttlMs <= 0 || ticket.forgets !== this.forgets) return;
    const trustedUntil = Math.min(ticket.startedAt + this.ttlMs, expiresAt.getTime());
    this.entries.set(key, { entry, trustedUntil });
  }

  forget(key: string): void {
    this.forgets += 1;
    this.entries.delete(key);
  }

  /** Every entry of the user but `keptKey` (after a password change, the session that made it). */
  forgetUser(userId: string, keptKey?: string): void {
    this.forgets += 1;
    const others = [...this.entries.entries()].filter(
      ([key, { entry }]) => entry.userId === userId && key !== keptKey,
    );
    for (const [key] of others) this.entries.delete(key);
  }
}
