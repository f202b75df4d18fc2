import { Prisma, type PrismaClient } from '@tasks/db';
import { ApiError } from '../errors.js';
import type { AccessTokenOutput, CredentialsInput, UserOutput } from '../schemas/auth.js';
import type { AccessTokens } from '../security/access-tokens.js';
import type { PasswordHasher } from '../security/passwords.js';

const userSelect = { id: true, email: true, createdAt: true } satisfies Prisma.UserSelect;

export class AuthService {
  constructor(
    private readonly db: PrismaClient,
    private readonly passwords: PasswordHasher,
    private readonly tokens: AccessTokens,
  ) {}

  /** Creates an account; the email is already lower-cased by the input schema. */
  async register({ email, password }: CredentialsInput): Promise<UserOutput> {
    const passwordHash = await this.passwords.hash(password);
    try {
      return await this.db.user.create({ data: { email, passwordHash }, select: userSelect });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        throw new ApiError('EMAIL_TAKEN', 'An account with this email already exists', {
          errors: [{ path: 'email', code: 'taken', message: 'Email already registered' }],
        });
      }
      throw error;
    }
  }

  /**
   * Unknown email and wrong password give the same error and cost one bcrypt comparison each,
   * so neither the answer nor its timing tells which emails have accounts.
   */
  async login({ email, password }: CredentialsInput): Promise<AccessTokenOutput> {
    const user = await this.db.user.findUnique({
      where: { email },
      select: { id: true, passwordHash: true },
    });
    const valid = user
      ? await this.passwords.verify(password, user.passwordHash)
      : await this.passwords.verifyAgainstDummy(password).then(() => false);
    if (!user || !valid) throw new ApiError('INVALID_CREDENTIALS');
    return {
      accessToken: this.tokens.issue(user.id),
      tokenType: 'Bearer',
      expiresIn: this.tokens.ttlSeconds,
    };
  }

  async me(userId: string): Promise<UserOutput> {
    const user = await this.db.user.findUnique({ where: { id: userId }, select: userSelect });
    if (!user) throw new ApiError('UNAUTHENTICATED', 'The account no longer exists');
    return user;
  }

  /** Resolves a bearer token to its user id, or throws UNAUTHENTICATED. */
  authenticate(authorization: string | undefined): string {
    const match = authorization && /^Bearer ([^\s]+)$/i.exec(authorization);
    const userId = match ? this.tokens.verify(match[1] ?? '') : null;
    if (!userId) {
      throw new ApiError(
        'UNAUTHENTICATED',
        authorization ? 'The access token is invalid or expired' : 'A bearer token is required',
      );
    }
    return userId;
  }
}
