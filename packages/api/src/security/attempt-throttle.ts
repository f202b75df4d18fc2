import { createHash } from 'node:crypto';
import { ApiError } from '../errors.js';
import type { Budget, RateLimiter, RateLimitVerdict } from './rate-limiter.js';

export interface AttemptBudgets {
  /** Attempts of one action from one client address. */
  perAddress: Budget;
  /** Counted attempts of one action against one account. */
  perAccount: Budget;
}

/** One attempt at something that guesses or spends a secret. */
export interface Attempt {
  /** What is attempted (`auth.login`): each action has budgets of its own. */
  action: string;
  address: string;
  /** Whose secret it targets: an email, a user id, a refresh token. */
  account: string | undefined;
}

/** What an admitted attempt may still do with its charge once its outcome is known. */
export interface AdmittedAttempt {
  /** The attempt did not count against the account (it succeeded, or never compared). */
  refundAccount(): Promise<void>;
}

/** Keeps emails (personal data) and tokens (secrets) out of the store, at a bounded key length. */
const fingerprint = (value: string) => createHash('sha256').update(value).digest('base64url');

const rateLimited = ({ resetSeconds }: RateLimitVerdict) =>
  new ApiError('RATE_LIMITED', `Too many attempts; retry in ${resetSeconds} s`, {
    retryAfterSeconds: resetSeconds,
  });

/**
 * Budgets for the actions that guess or spend a secret (sign-in, sign-up, refresh, password
 * change), charged per call so a batch cannot hide attempts.
 *
 * - Per address: every admitted attempt of the action counts.
 * - Per account: counted attempts from all addresses. Once the account is over its budget, an
 *   address that has already made a counted attempt on it within the window is refused, even
 *   with the right secret; an address that has not still gets its attempt. A guesser is stopped
 *   after a few tries, and cannot lock the owner out by failing on purpose: the trade-off is
 *   that a guesser with many addresses gets one try per address per window once the account
 *   is over budget, each also bounded by that address's own budget.
 */
export class AttemptThrottle {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly budgets: AttemptBudgets,
  ) {}

  /** Charges the attempt, or throws RATE_LIMITED (with the seconds to wait) when it may not run. */
  async admit({ action, address, account }: Attempt): Promise<AdmittedAttempt> {
    const { perAddress, perAccount } = this.budgets;
    const byAddress = await this.limiter.consume(`${action}:ip:${address}`, perAddress);
    if (!byAddress.allowed) throw rateLimited(byAddress);
    if (account === undefined) return { refundAccount: async () => undefined };

    const accountKey = `${action}:account:${fingerprint(account)}`;
    const pairKey = `${accountKey}:ip:${address}`;
    const [byAccount, byPair] = await Promise.all([
      this.limiter.consume(accountKey, perAccount),
      this.limiter.consume(pairKey, perAccount),
    ]);
    const refundAccount = async () => {
      await Promise.all([
        this.limiter.refund(accountKey, perAccount),
        this.limiter.refund(pairKey, perAccount),
      ]);
    };
    if (!byAccount.allowed && byPair.spent > 1) {
      // Refused before comparing anything: not one of the account's counted attempts.
      await refundAccount();
      throw rateLimited(byAccount);
    }
    return { refundAccount };
  }
}
