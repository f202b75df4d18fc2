import type { AccountRepository, PersonalAccessTokenRecord } from '@tasks/db';
import type { Clock } from '../clock.js';
import { ApiError } from '../errors.js';
import type {
  CreatedPersonalAccessTokenOutput,
  CreatePersonalAccessTokenInput,
  PersonalAccessTokenOutput,
  TokenScope,
} from '../schemas/personal-access-token.js';
import { generatePersonalAccessToken, hashSecretToken } from '../security/secret-tokens.js';
import { VerifiedCache } from './verified-cache.js';

export interface PersonalAccessTokenConfig {
  /** Tokens one user may have; one more is QUOTA_EXCEEDED. */
  maxPerUser: number;
  /** See `AuthServiceDependencies.sessionCacheMs`: a deleted token works here no longer. */
  cacheMs: number;
  /** Tell whether the owner's address is verified (REQUIRE_VERIFIED_EMAIL). */
  requireVerifiedEmail: boolean;
}

/** Who a valid personal access token speaks for, and what it may do. */
export interface TokenCaller {
  userId: string;
  scopes: readonly TokenScope[];
  unverifiedEmail: boolean;
}

const dayMs = 24 * 60 * 60 * 1000;

/** Personal access tokens: made, listed and deleted by their owner, checked on every use. */
export class PersonalAccessTokenService {
  private readonly recentlyUsed: VerifiedCache<TokenCaller>;

  constructor(
    private readonly accounts: AccountRepository,
    private readonly clock: Clock,
    private readonly config: PersonalAccessTokenConfig,
  ) {
    this.recentlyUsed = new VerifiedCache(config.cacheMs, clock);
  }

  async create(
    userId: string,
    { name, scopes, expiresInDays }: CreatePersonalAccessTokenInput,
  ): Promise<CreatedPersonalAccessTokenOutput> {
    const { token, tokenHash } = generatePersonalAccessToken();
    const createdAt = this.clock.now();
    const expiresAt = new Date(createdAt.getTime() + expiresInDays * dayMs);
    const created = await this.accounts.createPersonalAccessToken(
      { userId, name, scopes, tokenHash, createdAt, expiresAt },
      this.config.maxPerUser,
    );
    if (created === 'limit') {
      throw new ApiError(
        'QUOTA_EXCEEDED',
        `A user has at most ${this.config.maxPerUser} personal access tokens; delete one first`,
      );
    }
    return { ...toTokenOutput(created), token };
  }

  async list(userId: string): Promise<{ items: PersonalAccessTokenOutput[] }> {
    const tokens = await this.accounts.listPersonalAccessTokens(userId);
    return { items: tokens.map(toTokenOutput) };
  }

  async delete(userId: string, id: string): Promise<void> {
    const tokenHash = await this.accounts.deletePersonalAccessToken(userId, id);
    if (tokenHash === null) {
      throw new ApiError('NOT_FOUND', 'You have no personal access token with this id');
    }
    this.recentlyUsed.forget(tokenHash);
  }

  /** The caller of a live token; null for one that is unknown, deleted or expired. */
  async authenticate(token: string): Promise<TokenCaller | null> {
    const tokenHash = hashSecretToken(token);
    const trusted = this.recentlyUsed.trusted(tokenHash);
    if (trusted) return trusted;
    const ticket = this.recentlyUsed.ticket();
    const found = await this.accounts.usePersonalAccessToken(tokenHash, this.clock.now());
    if (!found) return null;
    const caller: TokenCaller = {
      userId: found.userId,
      scopes: found.scopes as TokenScope[],
      unverifiedEmail: this.config.requireVerifiedEmail && found.emailVerifiedAt === null,
    };
    this.recentlyUsed.remember(tokenHash, caller, ticket, found.expiresAt);
    return caller;
  }

  /** The account's tokens were deleted (a password reset) or its address verified. */
  forgetUser(userId: string): void {
    this.recentlyUsed.forgetUser(userId);
  }
}

function toTokenOutput(token: PersonalAccessTokenRecord): PersonalAccessTokenOutput {
  return { ...token, scopes: token.scopes as TokenScope[] };
}
