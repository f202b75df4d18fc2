import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';

/** Sessions remembered at most; the least recently used goes first. */
const maxEntries = 10_000;

interface OpenSession {
  userId: string;
  /** Its account has yet to verify its address (only tracked under REQUIRE_VERIFIED_EMAIL). */
  unverifiedEmail: boolean;
  /** Epoch ms before which the session is trusted without asking the database. */
  trustedUntil: number;
}

/**
 * Sessions found open recently, so that a protected request can skip the session query: an
 * entry is trusted for `ttlMs`, never beyond the session's own expiry. lru-cache keeps it
 * bounded; the entry carries its own deadline, compared on the service's clock.
 */
export class OpenSessionCache {
  private readonly entries = new LRUCache<string, OpenSession>({ max: maxEntries });

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  /**
   * What was found of this session of this user when it was found open less than `ttlMs` ago;
   * null when it must be asked again.
   */
  trusted(sessionId: string, userId: string): { unverifiedEmail: boolean } | null {
    const entry = this.entries.get(sessionId);
    const trusted = entry?.userId === userId && this.clock.now().getTime() < entry.trustedUntil;
    return trusted ? { unverifiedEmail: entry.unverifiedEmail } : null;
  }

  /** Records a session just found open; never trusted beyond its own expiry. */
  remember(
    sessionId: string,
    found: { userId: string; unverifiedEmail: boolean; nowMs: number; expiresAtMs: number },
  ): void {
    if (this.ttlMs <= 0) return;
    this.entries.set(sessionId, {
      userId: found.userId,
      unverifiedEmail: found.unverifiedEmail,
      trustedUntil: Math.min(found.nowMs + this.ttlMs, found.expiresAtMs),
    });
  }

  forget(sessionId: string): void {
    this.entries.delete(sessionId);
  }

  /**
   * After a password change, every session of the user but the one that changed it; after a
   * reset (no `keptSessionId`), all of them.
   */
  forgetUserSessionsExcept(userId: string, keptSessionId: string | undefined): void {
    const others = [...this.entries.entries()].filter(
      ([sessionId, entry]) => entry.userId === userId && sessionId !== keptSessionId,
    );
    for (const [sessionId] of others) this.entries.delete(sessionId);
  }
}
