/**
 * Sessions found open recently, so that a protected request can skip the session query: an
 * entry is trusted until `trustedUntil` (epoch ms). Bounded; the oldest entry goes first.
 */
export class OpenSessionCache {
  private readonly entries = new Map<string, { userId: string; trustedUntil: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** True when this session of this user was found open less than `ttlMs` ago. */
  isTrusted(sessionId: string, userId: string, nowMs: number): boolean {
    const entry = this.entries.get(sessionId);
    return entry?.userId === userId && nowMs < entry.trustedUntil;
  }

  /** Records a session just found open; never trusted beyond its own expiry. */
  remember(sessionId: string, userId: string, nowMs: number, expiresAtMs: number): void {
    this.entries.delete(sessionId);
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(sessionId, {
      userId,
      trustedUntil: Math.min(nowMs + this.ttlMs, expiresAtMs),
    });
  }

  forget(sessionId: string): void {
    this.entries.delete(sessionId);
  }

  /** After a password change: every session of the user but the one that changed it. */
  forgetUserSessionsExcept(userId: string, keptSessionId: string): void {
    for (const [sessionId, entry] of this.entries) {
      if (entry.userId === userId && sessionId !== keptSessionId) this.entries.delete(sessionId);
    }
  }
}
