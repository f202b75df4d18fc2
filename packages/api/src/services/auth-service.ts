import type { AccountRepository, RefreshTokenRecord, UserRecord } from '@tasks/db';
import type { Clock } from '../clock.js';
import { ApiError } from '../errors.js';
import type {
  ChangePasswordInput,
  CredentialsInput,
  ResetPasswordInput,
  TokenPairOutput,
  UserOutput,
} from '../schemas/auth.js';
import type { TokenScope } from '../schemas/personal-access-token.js';
import type { AccessTokens, AccessTokenSubject } from '../security/access-tokens.js';
import type { PasswordHasher } from '../security/passwords.js';
import {
  generateSecretToken,
  hashSecretToken,
  personalAccessTokenPrefix,
} from '../security/secret-tokens.js';
import type { PersonalAccessTokenService } from './personal-access-token-service.js';
import { VerifiedCache } from './verified-cache.js';

export interface AuthServiceDependencies {
  /** Every account, session and refresh-token query. */
  accounts: AccountRepository;
  passwords: PasswordHasher;
  accessTokens: AccessTokens;
  /** Checks `Authorization: Bearer tasks_pat_…`. */
  personalAccessTokens: PersonalAccessTokenService;
  clock: Clock;
  refreshTokenTtlSeconds: number;
  /**
   * How long a session found open may be trusted without asking the database again (0: ask on
   * every request). This process forgets a session the moment it revokes it; a revocation by
   * another instance takes effect here within this time.
   */
  sessionCacheMs: number;
  /** Open sessions one user may have: a sign-in beyond it ends the oldest ones. */
  maxSessionsPerUser: number;
  /** Refuse accounts whose address is not verified (EMAIL_NOT_VERIFIED), but where allowed. */
  requireVerifiedEmail?: boolean;
}

/** Who a request speaks for. */
export interface AuthenticatedCaller {
  userId: string;
  /** The session of a signed-in caller; undefined for a personal access token. */
  sessionId: string | undefined;
  /** What a personal access token may do; undefined for a session, which may do anything. */
  tokenScopes: readonly TokenScope[] | undefined;
  /** The account must verify its address before most procedures (REQUIRE_VERIFIED_EMAIL). */
  unverifiedEmail: boolean;
}

interface OpenSession {
  userId: string;
  /** Its account has yet to verify its address (only tracked under REQUIRE_VERIFIED_EMAIL). */
  unverifiedEmail: boolean;
}

const invalidRefreshToken = () =>
  new ApiError('UNAUTHENTICATED', 'The refresh token is invalid, expired or revoked');

export class AuthService {
  private readonly accounts: AccountRepository;
  /** Keyed by session id. */
  private readonly openSessions: VerifiedCache<OpenSession>;

  constructor(private readonly deps: AuthServiceDependencies) {
    this.accounts = deps.accounts;
    this.openSessions = new VerifiedCache(deps.sessionCacheMs, deps.clock);
  }

  /** Creates an account; the email is already lower-cased by the input schema. */
  async register({ email, password }: CredentialsInput): Promise<UserOutput> {
    const passwordHash = await this.deps.passwords.hash(password);
    const created = await this.accounts.createUser({ email, passwordHash });
    if ('emailTaken' in created) {
      throw new ApiError('EMAIL_TAKEN', 'An account with this email already exists', {
        errors: [{ path: 'email', code: 'taken', message: 'Email already registered' }],
      });
    }
    return toUserOutput(created.user);
  }

  /**
   * Opens a session. Unknown email and wrong password give the same error and cost one bcrypt
   * comparison each, so neither the answer nor its timing tells which emails have accounts.
   */
  async login({ email, password }: CredentialsInput): Promise<TokenPairOutput> {
    const user = await this.accounts.findCredentials(email);
    const valid = user
      ? await this.deps.passwords.verify(password, user.passwordHash)
      : await this.deps.passwords.verifyAgainstDummy(password).then(() => false);
    if (!user || !valid) throw new ApiError('INVALID_CREDENTIALS');

    const { token, tokenHash } = generateSecretToken();
    const sessionId = await this.accounts.openSession({
      userId: user.id,
      expiresAt: this.refreshExpiry(),
      refreshTokenHash: tokenHash,
    });
    await this.endSessionsBeyondCap(user.id);
    return this.tokenPair({ userId: user.id, sessionId }, token);
  }

  /**
   * Sessions are rows a client can make by signing in: they are capped per user. Signing in
   * never fails for it (the owner must always get in); the oldest open sessions end instead,
   * as when a device is forgotten.
   */
  private async endSessionsBeyondCap(userId: string): Promise<void> {
    const surplus = await this.accounts.openSessionsBeyond(
      userId,
      this.deps.maxSessionsPerUser,
      this.deps.clock.now(),
    );
    for (const id of surplus) await this.revokeSession(id);
  }

  /**
   * Rotates a refresh token: the presented one is spent and a new pair is returned. A spent
   * token presented again means it was copied: the whole session is revoked, so the thief's
   * and the victim's newer tokens stop working alike.
   */
  async refresh(refreshToken: string): Promise<TokenPairOutput> {
    const presented = await this.findRefreshToken(refreshToken);
    const next = generateSecretToken();
    const now = this.deps.clock.now();
    // Of two concurrent refreshes with the same token only one wins; the other is theft.
    const rotated = await this.accounts.rotateRefreshToken({
      tokenId: presented.id,
      sessionId: presented.sessionId,
      nextHash: next.tokenHash,
      now,
      expiresAt: this.refreshExpiry(),
    });
    if (!rotated) await this.revokeStolenSession(presented.sessionId);
    return this.tokenPair(
      { userId: presented.session.userId, sessionId: presented.sessionId },
      next.token,
    );
  }

  /** Ends the session of this refresh token (and with it every token issued in it). */
  async logout(refreshToken: string): Promise<void> {
    const presented = await this.findRefreshToken(refreshToken);
    await this.revokeSession(presented.sessionId);
  }

  /**
   * Changes the password after checking the current one; every other session is revoked.
   * Personal access tokens stay: changing a password is routine, and scripts keep working.
   */
  async changePassword(
    { userId, sessionId }: { userId: string; sessionId: string | undefined },
    { currentPassword, newPassword }: ChangePasswordInput,
  ): Promise<void> {
    const currentHash = await this.accounts.findPasswordHash(userId);
    if (currentHash === null) {
      throw new ApiError('UNAUTHENTICATED', 'The account no longer exists');
    }
    if (!(await this.deps.passwords.verify(currentPassword, currentHash))) {
      throw new ApiError('VALIDATION_FAILED', 'The current password is wrong', {
        errors: [
          { path: 'currentPassword', code: 'incorrect', message: 'Current password is wrong' },
        ],
      });
    }
    const passwordHash = await this.deps.passwords.hash(newPassword);
    await this.accounts.changePassword({
      userId,
      passwordHash,
      keepSessionId: sessionId,
      now: this.deps.clock.now(),
    });
    this.openSessions.forgetUser(userId, sessionId);
  }

  async me(userId: string): Promise<UserOutput> {
    const user = await this.accounts.findUser(userId);
    if (!user) throw new ApiError('UNAUTHENTICATED', 'The account no longer exists');
    return toUserOutput(user);
  }

  /**
   * Queues the reset mail of the address's account, if there is one: the same work and answer
   * either way (the job finds out), so the answer does not tell which addresses have accounts.
   */
  async forgotPassword(email: string): Promise<{ message: string }> {
    await this.accounts.queuePasswordResetMail(email);
    return {
      message: 'If an account has this address, a link to reset its password is on its way',
    };
  }

  /**
   * Sets a new password with a mailed token; every session and personal access token of the
   * account ends (whoever knew the old password may have made them).
   */
  async resetPassword({ token, password }: ResetPasswordInput): Promise<void> {
    const passwordHash = await this.deps.passwords.hash(password);
    const userId = await this.accounts.resetPassword({
      tokenHash: hashSecretToken(token),
      passwordHash,
      now: this.deps.clock.now(),
    });
    if (userId === null) {
      throw new ApiError(
        'INVALID_RESET_TOKEN',
        'This reset link is unknown, used or expired; ask for a new one',
      );
    }
    this.forgetUserCredentials(userId);
  }

  async verifyEmail(token: string): Promise<void> {
    const userId = await this.accounts.verifyEmail(hashSecretToken(token), this.deps.clock.now());
    if (userId === null) {
      throw new ApiError(
        'INVALID_VERIFICATION_TOKEN',
        'This verification link is unknown, used or expired; ask for a new one',
      );
    }
    // Its credentials were remembered as unverified: asked again at their next request here.
    this.forgetUserCredentials(userId);
  }

  private forgetUserCredentials(userId: string): void {
    this.openSessions.forgetUser(userId);
    this.deps.personalAccessTokens.forgetUser(userId);
  }

  /** Mails a new verification link, unless the address is verified already. */
  async resendVerification(userId: string): Promise<{ message: string }> {
    const user = await this.me(userId);
    if (!user.emailVerified) await this.accounts.queueVerificationMail(userId);
    return {
      message: user.emailVerified
        ? 'This address is verified already'
        : 'A new verification link is on its way',
    };
  }

  /**
   * Resolves `Authorization: Bearer <token>` to its caller, or throws UNAUTHENTICATED. A session's
   * JWT: besides the signature, issuer, audience and expiry, the session must still be open, so
   * logout, password change and theft detection end access tokens at once on this instance, not
   * at expiry (and within `sessionCacheMs` on the others). A personal access token (by its
   * prefix): it must exist and be unexpired, checked the same way.
   */
  async authenticate(authorization: string | undefined): Promise<AuthenticatedCaller> {
    const bearer = authorization ? /^Bearer ([^\s]+)$/i.exec(authorization)?.[1] : undefined;
    const caller = bearer?.startsWith(personalAccessTokenPrefix)
      ? await this.personalAccessTokenCaller(bearer)
      : await this.sessionCaller(bearer);
    if (!caller) {
      throw new ApiError(
        'UNAUTHENTICATED',
        authorization ? 'The access token is invalid or expired' : 'A bearer token is required',
      );
    }
    return caller;
  }

  private async personalAccessTokenCaller(token: string): Promise<AuthenticatedCaller | null> {
    const found = await this.deps.personalAccessTokens.authenticate(token);
    return found && { ...found, sessionId: undefined, tokenScopes: found.scopes };
  }

  private async sessionCaller(jwt: string | undefined): Promise<AuthenticatedCaller | null> {
    const subject = jwt ? this.deps.accessTokens.verify(jwt) : null;
    if (!subject) return null;
    const session = await this.openSession(subject);
    return session && { ...session, sessionId: subject.sessionId, tokenScopes: undefined };
  }

  /**
   * The per-request session query was one of the two database round trips of every protected
   * request (see bench/); an open session is remembered for `sessionCacheMs`, with whether its
   * account still has to verify its address (asked only when REQUIRE_VERIFIED_EMAIL is set).
   */
  private async openSession({
    userId,
    sessionId,
  }: AccessTokenSubject): Promise<OpenSession | null> {
    const trusted = this.openSessions.trusted(sessionId);
    if (trusted?.userId === userId) return trusted;
    const ticket = this.openSessions.ticket();
    const expiresAt = await this.accounts.isSessionOpen(sessionId, userId, this.deps.clock.now());
    // One found closed stays out: its entry, if any, is no longer trusted anyway.
    if (!expiresAt) return null;
    const unverifiedEmail =
      this.deps.requireVerifiedEmail === true &&
      (await this.accounts.findUser(userId))?.emailVerifiedAt === null;
    const session = { userId, unverifiedEmail };
    this.openSessions.remember(sessionId, session, ticket, expiresAt);
    return session;
  }

  private async findRefreshToken(refreshToken: string): Promise<RefreshTokenRecord> {
    const found = await this.accounts.findRefreshToken(hashSecretToken(refreshToken));
    if (!found || found.session.revokedAt || found.session.expiresAt <= this.deps.clock.now()) {
      throw invalidRefreshToken();
    }
    if (found.spentAt) await this.revokeStolenSession(found.sessionId);
    return found;
  }

  private async revokeStolenSession(sessionId: string): Promise<never> {
    await this.revokeSession(sessionId);
    throw invalidRefreshToken();
  }

  private async revokeSession(sessionId: string): Promise<void> {
    await this.accounts.revokeSession(sessionId, this.deps.clock.now());
    this.openSessions.forget(sessionId);
  }

  private refreshExpiry(): Date {
    return new Date(this.deps.clock.now().getTime() + this.deps.refreshTokenTtlSeconds * 1000);
  }

  private tokenPair(subject: AccessTokenSubject, refreshToken: string): TokenPairOutput {
    return {
      accessToken: this.deps.accessTokens.issue(subject),
      tokenType: 'Bearer',
      expiresIn: this.deps.accessTokens.ttlSeconds,
      refreshToken,
    };
  }
}

function toUserOutput({ emailVerifiedAt, ...user }: UserRecord): UserOutput {
  return { ...user, emailVerified: emailVerifiedAt !== null };
}
