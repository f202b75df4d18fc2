import type {
  PersonalAccessToken,
  Prisma,
  PrismaClient,
  RefreshToken,
  Session,
  User,
} from './generated/prisma/client.js';
import { currentTraceparent } from './trace-context.js';
import { isUniqueViolation } from './unique-violation.js';

/** An account as the API returns it: never its password hash. */
export type UserRecord = Pick<User, 'id' | 'email' | 'emailVerifiedAt' | 'createdAt'>;

/** What a mailed single-use token is for. */
export type AccountTokenPurpose = 'password_reset' | 'email_verification';

export interface NewAccountToken {
  userId: string;
  purpose: AccountTokenPurpose;
  /** SHA-256 (hex) of the token mailed: the token itself is never stored. */
  tokenHash: string;
  expiresAt: Date;
}

export interface PasswordReset {
  tokenHash: string;
  passwordHash: string;
  now: Date;
}

/** What a sign-in checks a password against. */
export type UserCredentials = Pick<User, 'id' | 'passwordHash'>;

/** A stored refresh token with what decides whether it may still be used: its session. */
export type RefreshTokenRecord = Pick<RefreshToken, 'id' | 'sessionId' | 'spentAt'> & {
  session: Pick<Session, 'userId' | 'expiresAt' | 'revokedAt'>;
};

export type CreateUserResult = { user: UserRecord } | { emailTaken: true };

export interface NewUser {
  /** Already normalised (lower-cased) by the caller: the unique index compares it as given. */
  email: string;
  passwordHash: string;
}

export interface NewSession {
  userId: string;
  expiresAt: Date;
  /** Hash of the session's first refresh token, stored with it. */
  refreshTokenHash: string;
}

export interface RefreshTokenRotation {
  /** The presented token, spent by the rotation. */
  tokenId: string;
  sessionId: string;
  /** Hash of the token that replaces it. */
  nextHash: string;
  now: Date;
  /** The session's new idle expiry. */
  expiresAt: Date;
}

export interface PasswordChange {
  userId: string;
  passwordHash: string;
  /** The session the change was made in: the only one left open (none when undefined). */
  keepSessionId: string | undefined;
  now: Date;
}

export interface NewPersonalAccessToken {
  userId: string;
  name: string;
  scopes: string[];
  /** SHA-256 (hex) of the token shown to its owner: the token itself is never stored. */
  tokenHash: string;
  createdAt: Date;
  expiresAt: Date;
}

/** A personal access token as its owner may see it: never its hash. */
export type PersonalAccessTokenRecord = Pick<
  PersonalAccessToken,
  'id' | 'name' | 'scopes' | 'expiresAt' | 'lastUsedAt' | 'createdAt'
>;

/** A live personal access token presented with a request, and what decides what it may do. */
export interface PersonalAccessTokenUse {
  id: string;
  userId: string;
  scopes: string[];
  expiresAt: Date;
  emailVerifiedAt: Date | null;
}

const personalAccessTokenSelect = {
  id: true,
  name: true,
  scopes: true,
  expiresAt: true,
  lastUsedAt: true,
  createdAt: true,
} as const satisfies Prisma.PersonalAccessTokenSelect;

const userRecordSelect = {
  id: true,
  email: true,
  emailVerifiedAt: true,
  createdAt: true,
} as const satisfies Prisma.UserSelect;

/** Every query of accounts, sessions and refresh tokens; the decisions stay with the caller. */
export class AccountRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Creates an account, or says the email already has one (the unique index decides). */
  async createUser({ email, passwordHash }: NewUser): Promise<CreateUserResult> {
    const create = this.prisma.user.create({
      data: { email, passwordHash },
      select: userRecordSelect,
    });
    const traceparent = currentTraceparent();
    try {
      // Traced, the insert runs beside the request's span as a setting of its transaction: the
      // job of the verification mail its trigger enqueues links to it (see `requestSettings`).
      const user =
        traceparent === null
          ? await create
          : (await this.prisma.$transaction([this.traceSetting(traceparent), create]))[1];
      return { user };
    } catch (error) {
      if (isUniqueViolation(error)) return { emailTaken: true };
      throw error;
    }
  }

  /** The request's span as a setting of the transaction, for the jobs its triggers enqueue. */
  private traceSetting(traceparent: string) {
    return this.prisma.$executeRaw`SELECT set_config('tasks.traceparent', ${traceparent}, true)`;
  }

  findCredentials(email: string): Promise<UserCredentials | null> {
    return this.prisma.user.findUnique({
      where: { email },
      select: { id: true, passwordHash: true },
    });
  }

  findUser(id: string): Promise<UserRecord | null> {
    return this.prisma.user.findUnique({ where: { id }, select: userRecordSelect });
  }

  /** The password hash of this account, or null when the account no longer exists. */
  async findPasswordHash(userId: string): Promise<string | null> {
    const user = await this.prisma.user.findUnique({
      where: { id: userId },
      select: { passwordHash: true },
    });
    return user?.passwordHash ?? null;
  }

  /** Opens a session with its first refresh token, in one statement; resolves its id. */
  async openSession({ userId, expiresAt, refreshTokenHash }: NewSession): Promise<string> {
    const session = await this.prisma.session.create({
      data: { userId, expiresAt, refreshTokens: { create: { tokenHash: refreshTokenHash } } },
      select: { id: true },
    });
    return session.id;
  }

  /** The expiry of this user's session when it is open at `now` (not revoked, not expired). */
  async isSessionOpen(sessionId: string, userId: string, now: Date): Promise<Date | null> {
    const session = await this.prisma.session.findFirst({
      where: { id: sessionId, userId, revokedAt: null, expiresAt: { gt: now } },
      select: { expiresAt: true },
    });
    return session?.expiresAt ?? null;
  }

  /**
   * The ids of this user's open sessions beyond the newest `max`, newest first (id breaks ties
   * of one millisecond, so the same sessions are chosen whatever the plan).
   */
  async openSessionsBeyond(userId: string, max: number, now: Date): Promise<string[]> {
    const surplus = await this.prisma.session.findMany({
      where: { userId, revokedAt: null, expiresAt: { gt: now } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      skip: max,
      select: { id: true },
    });
    return surplus.map(({ id }) => id);
  }

  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null> {
    return this.prisma.refreshToken.findUnique({
      where: { tokenHash },
      select: {
        id: true,
        sessionId: true,
        spentAt: true,
        session: { select: { userId: true, expiresAt: true, revokedAt: true } },
      },
    });
  }

  /**
   * Spends the token, stores its successor and extends the session, in one transaction. False
   * when the token was already spent: then nothing is written.
   */
  rotateRefreshToken({
    tokenId,
    sessionId,
    nextHash,
    now,
    expiresAt,
  }: RefreshTokenRotation): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      // Conditional on `spentAt: null`, so of two concurrent rotations only one can win.
      const { count } = await tx.refreshToken.updateMany({
        where: { id: tokenId, spentAt: null },
        data: { spentAt: now },
      });
      if (count === 0) return false;
      await tx.refreshToken.create({ data: { sessionId, tokenHash: nextHash } });
      await tx.session.update({ where: { id: sessionId }, data: { expiresAt } });
      return true;
    });
  }

  /** Ends the session (and with it every refresh token issued in it); a no-op if already ended. */
  async revokeSession(sessionId: string, now: Date): Promise<void> {
    await this.prisma.session.updateMany({
      where: { id: sessionId, revokedAt: null },
      data: { revokedAt: now },
    });
  }

  /** Sets the new hash and ends every other open session of the user, in one transaction. */
  async changePassword({
    userId,
    passwordHash,
    keepSessionId,
    now,
  }: PasswordChange): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.user.update({ where: { id: userId }, data: { passwordHash } }),
      this.prisma.session.updateMany({
        where: { userId, revokedAt: null, ...(keepSessionId && { id: { not: keepSessionId } }) },
        data: { revokedAt: now },
      }),
    ]);
  }

  /**
   * Deletes up to `limit` sessions that expired or were revoked before `cutoff` (with their
   * refresh tokens); resolves with how many. A token of a deleted session is unknown, which
   * refuses it as revocation did.
   */
  purgeEndedSessions(cutoff: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM "Session" WHERE id IN (
        SELECT id FROM "Session" WHERE "expiresAt" < ${cutoff}
        UNION ALL
        SELECT id FROM "Session" WHERE "revokedAt" < ${cutoff}
        LIMIT ${limit}
      )`;
  }

  findUserByEmail(email: string): Promise<UserRecord | null> {
    return this.prisma.user.findUnique({ where: { email }, select: userRecordSelect });
  }

  /**
   * Queues the password-reset mail of `email`'s account: the same statement whether or not the
   * account exists (the job finds out), so the answer cannot tell. Requests for one address
   * while its mail waits are one job. The request's trace rides along (see `traceparent`).
   */
  async queuePasswordResetMail(email: string): Promise<void> {
    await this.prisma.$executeRaw`
      SELECT graphile_worker.add_job('mail:password-reset',
        json_strip_nulls(json_build_object('email', ${email}::text, 'traceparent', ${currentTraceparent()}::text)),
        job_key := 'mail:password-reset:' || ${email}::text)`;
  }

  /** Queues the verification mail of an account (as registration does, by a trigger). */
  async queueVerificationMail(userId: string): Promise<void> {
    await this.prisma.$executeRaw`
      SELECT graphile_worker.add_job('mail:email-verification',
        json_strip_nulls(json_build_object('userId', ${userId}::text, 'traceparent', ${currentTraceparent()}::text)),
        job_key := 'mail:email-verification:' || ${userId}::text)`;
  }

  /** Stores a new token, and voids every unused one of the same account and purpose. */
  async issueAccountToken(token: NewAccountToken): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.accountToken.deleteMany({
        where: { userId: token.userId, purpose: token.purpose, usedAt: null },
      }),
      this.prisma.accountToken.create({ data: token }),
    ]);
  }

  /**
   * Spends a password-reset token and, in the same transaction, sets the new password and ends
   * every session of the account. Resolves with the account, or null for a token that is
   * unknown, spent or expired.
   */
  async resetPassword({ tokenHash, passwordHash, now }: PasswordReset): Promise<string | null> {
    return this.prisma.$transaction(async (transaction) => {
      const userId = await spendToken(transaction, tokenHash, 'password_reset', now);
      if (userId === null) return null;
      await transaction.user.update({ where: { id: userId }, data: { passwordHash } });
      await transaction.session.updateMany({
        where: { userId, revokedAt: null },
        data: { revokedAt: now },
      });
      // Whoever knew the old password may have made tokens with it.
      await transaction.personalAccessToken.deleteMany({ where: { userId } });
      return userId;
    });
  }

  /**
   * Stores a personal access token unless the user already has `maxPerUser` (expired ones
   * count until housekeeping deletes them): the user's row is locked, so concurrent creations
   * cannot overshoot.
   */
  async createPersonalAccessToken(
    token: NewPersonalAccessToken,
    maxPerUser: number,
  ): Promise<PersonalAccessTokenRecord | 'limit'> {
    return this.prisma.$transaction(async (transaction) => {
      await transaction.$executeRaw`SELECT FROM "User" WHERE id = ${token.userId}::uuid FOR UPDATE`;
      const owned = await transaction.personalAccessToken.count({
        where: { userId: token.userId },
      });
      if (owned >= maxPerUser) return 'limit' as const;
      return transaction.personalAccessToken.create({
        data: token,
        select: personalAccessTokenSelect,
      });
    });
  }

  /** The user's tokens, oldest first (at most the per-user cap of them). */
  listPersonalAccessTokens(userId: string): Promise<PersonalAccessTokenRecord[]> {
    return this.prisma.personalAccessToken.findMany({
      where: { userId },
      orderBy: { id: 'asc' },
      select: personalAccessTokenSelect,
    });
  }

  /** Deletes the user's token; resolves with its hash (to forget it), or null when none. */
  async deletePersonalAccessToken(userId: string, id: string): Promise<string | null> {
    const deleted = await this.prisma.$queryRaw<{ tokenHash: string }[]>`
      DELETE FROM "PersonalAccessToken" WHERE id = ${id}::uuid AND "userId" = ${userId}::uuid
      RETURNING "tokenHash"`;
    return deleted[0]?.tokenHash ?? null;
  }

  /**
   * The live token with this hash, in one round trip that also records its use: `lastUsedAt`
   * is written when it is older than a minute, not on every request.
   */
  async usePersonalAccessToken(
    tokenHash: string,
    now: Date,
  ): Promise<PersonalAccessTokenUse | null> {
    // `lastUsedAt` to the minute: writing it on every request would cost a write per request.
    const found = await this.prisma.$queryRaw<PersonalAccessTokenUse[]>`
      WITH token AS (
        SELECT id, "userId", scopes, "expiresAt", "lastUsedAt" FROM "PersonalAccessToken"
        WHERE "tokenHash" = ${tokenHash} AND "expiresAt" > ${now}
      ), touched AS (
        UPDATE "PersonalAccessToken" used SET "lastUsedAt" = ${now} FROM token
        WHERE used.id = token.id
          AND (token."lastUsedAt" IS NULL OR token."lastUsedAt" < ${now}::timestamptz - interval '1 minute')
      )
      SELECT token.id, token."userId", token.scopes, token."expiresAt", "User"."emailVerifiedAt"
      FROM token JOIN "User" ON "User".id = token."userId"`;
    return found[0] ?? null;
  }

  /** Deletes up to `limit` tokens that expired before `cutoff`; resolves with how many. */
  purgeExpiredPersonalAccessTokens(cutoff: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM "PersonalAccessToken" WHERE id IN (
        SELECT id FROM "PersonalAccessToken" WHERE "expiresAt" < ${cutoff} LIMIT ${limit}
      )`;
  }

  /** Spends a verification token and marks the address verified; null as for `resetPassword`. */
  async verifyEmail(tokenHash: string, now: Date): Promise<string | null> {
    return this.prisma.$transaction(async (transaction) => {
      const userId = await spendToken(transaction, tokenHash, 'email_verification', now);
      if (userId === null) return null;
      await transaction.user.update({ where: { id: userId }, data: { emailVerifiedAt: now } });
      return userId;
    });
  }
}

/** Marks a live token of `purpose` used, once: concurrent spenders get one winner. */
async function spendToken(
  transaction: Prisma.TransactionClient,
  tokenHash: string,
  purpose: AccountTokenPurpose,
  now: Date,
): Promise<string | null> {
  const spent = await transaction.accountToken.updateManyAndReturn({
    where: { tokenHash, purpose, usedAt: null, expiresAt: { gt: now } },
    data: { usedAt: now },
    select: { userId: true },
  });
  return spent[0]?.userId ?? null;
}
