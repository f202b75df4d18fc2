import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountRepository, type UserRecord } from './account-repository.js';
import { createDatabase, type Database } from './client.js';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

// What the API's auth tests cannot see from outside: what each query leaves in the tables.

let database: TestDatabase;
let db: Database;
let accounts: AccountRepository;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({
    url: database.url,
    poolSize: database.poolSize,
    preparedStatements: database.preparedStatements,
  });
  accounts = new AccountRepository(db.prisma);
});
afterAll(async () => {
  await db.close();
  await database.drop();
});

const day = 86_400_000;
const now = new Date('2030-01-01T00:00:00.000Z');
const later = (ms: number) => new Date(now.getTime() + ms);
let tokenCount = 0;
/** A distinct 64-character hash, as the column holds. */
const nextHash = () => String(++tokenCount).padStart(64, '0');

async function createUser(email: string): Promise<UserRecord> {
  const created = await accounts.createUser({ email, passwordHash: 'hash' });
  if (!('user' in created)) throw new Error(`${email} is taken`);
  return created.user;
}

const openSession = (userId: string, expiresAt = later(day)) =>
  accounts.openSession({ userId, expiresAt, refreshTokenHash: nextHash() });

describe('AccountRepository', () => {
  it('creates a user without its hash, and reports a taken email instead of throwing', async () => {
    const user = await createUser('ann@example.com');
    expect(user).toEqual({
      id: expect.any(String),
      email: 'ann@example.com',
      emailVerifiedAt: null,
      createdAt: expect.any(Date),
    });
    await expect(
      accounts.createUser({ email: 'ann@example.com', passwordHash: 'other' }),
    ).resolves.toEqual({ emailTaken: true });
    await expect(accounts.findUser(user.id)).resolves.toEqual(user);
    await expect(accounts.findCredentials('ann@example.com')).resolves.toEqual({
      id: user.id,
      passwordHash: 'hash',
    });
    await expect(accounts.findCredentials('nobody@example.com')).resolves.toBeNull();
  });

  it('opens a session with its first refresh token, open until it expires or is revoked', async () => {
    const { id: userId } = await createUser('session@example.com');
    const refreshTokenHash = nextHash();
    const sessionId = await accounts.openSession({
      userId,
      expiresAt: later(day),
      refreshTokenHash,
    });
    await expect(accounts.findRefreshToken(refreshTokenHash)).resolves.toEqual({
      id: expect.any(String),
      sessionId,
      spentAt: null,
      session: { userId, expiresAt: later(day), revokedAt: null },
    });
    await expect(accounts.isSessionOpen(sessionId, userId, now)).resolves.toEqual(later(day));
    await expect(accounts.isSessionOpen(sessionId, userId, later(day))).resolves.toBeNull();
    const { id: otherUserId } = await createUser('session-other@example.com');
    await expect(accounts.isSessionOpen(sessionId, otherUserId, now)).resolves.toBeNull();

    await accounts.revokeSession(sessionId, now);
    await expect(accounts.isSessionOpen(sessionId, userId, now)).resolves.toBeNull();
    // Revoking again keeps the first revocation time.
    await accounts.revokeSession(sessionId, later(1));
    await expect(accounts.findRefreshToken(refreshTokenHash)).resolves.toMatchObject({
      session: { revokedAt: now },
    });
  });

  it('rotates a refresh token once: a second rotation of it writes nothing', async () => {
    const { id: userId } = await createUser('rotate@example.com');
    const firstHash = nextHash();
    const sessionId = await accounts.openSession({
      userId,
      expiresAt: later(day),
      refreshTokenHash: firstHash,
    });
    const first = await accounts.findRefreshToken(firstHash);
    if (!first) throw new Error('the first token was not stored');
    const [secondHash, losingHash] = [nextHash(), nextHash()];
    const rotation = { tokenId: first.id, sessionId, now };

    await expect(
      accounts.rotateRefreshToken({ ...rotation, nextHash: secondHash, expiresAt: later(2 * day) }),
    ).resolves.toBe(true);
    await expect(
      accounts.rotateRefreshToken({ ...rotation, nextHash: losingHash, expiresAt: later(3 * day) }),
    ).resolves.toBe(false);

    await expect(accounts.findRefreshToken(firstHash)).resolves.toMatchObject({ spentAt: now });
    await expect(accounts.findRefreshToken(secondHash)).resolves.toEqual({
      id: expect.any(String),
      sessionId,
      spentAt: null,
      session: { userId, expiresAt: later(2 * day), revokedAt: null },
    });
    await expect(accounts.findRefreshToken(losingHash)).resolves.toBeNull();
  });

  it('finds the open sessions beyond the newest ones, skipping revoked and expired sessions', async () => {
    const { id: userId } = await createUser('cap@example.com');
    const oldest = await openSession(userId);
    await openSession(userId, now); // expired at `now`
    const middle = await openSession(userId);
    const revoked = await openSession(userId);
    await accounts.revokeSession(revoked, now);
    const newest = await openSession(userId);
    const { id: otherUserId } = await createUser('cap-other@example.com');
    await openSession(otherUserId);

    // Sessions opened within one millisecond are ordered by id: the expected order follows the
    // stored columns rather than the order of creation above.
    const open = await db.prisma.session.findMany({
      where: { id: { in: [oldest, middle, newest] } },
      select: { id: true, createdAt: true },
    });
    const newestFirst = open
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
      .map(({ id }) => id);
    await expect(accounts.openSessionsBeyond(userId, 3, now)).resolves.toEqual([]);
    await expect(accounts.openSessionsBeyond(userId, 1, now)).resolves.toEqual(
      newestFirst.slice(1),
    );
    await expect(accounts.openSessionsBeyond(userId, 0, now)).resolves.toEqual(newestFirst);
  });

  it('changes the password and revokes every other open session of the user only', async () => {
    const { id: userId } = await createUser('change@example.com');
    const kept = await openSession(userId);
    const other = await openSession(userId);
    const { id: neighbourId } = await createUser('change-neighbour@example.com');
    const neighbours = await openSession(neighbourId);

    await accounts.changePassword({ userId, passwordHash: 'new hash', keepSessionId: kept, now });

    await expect(accounts.findPasswordHash(userId)).resolves.toBe('new hash');
    await expect(accounts.isSessionOpen(kept, userId, now)).resolves.not.toBeNull();
    await expect(accounts.isSessionOpen(other, userId, now)).resolves.toBeNull();
    await expect(accounts.isSessionOpen(neighbours, neighbourId, now)).resolves.not.toBeNull();
    await expect(accounts.findPasswordHash(neighbourId)).resolves.toBe('hash');
  });

  it('finds no password hash for an account that does not exist', async () => {
    await expect(
      accounts.findPasswordHash('00000000-0000-7000-8000-000000000000'),
    ).resolves.toBeNull();
  });
});
