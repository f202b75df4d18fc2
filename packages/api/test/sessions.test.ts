import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountRepository } from '@tasks/db';
import { AuthService } from '../src/services/auth-service.js';
import { PersonalAccessTokenService } from '../src/services/personal-access-token-service.js';
import { createAccessTokens } from '../src/security/access-tokens.js';
import { createPasswordHasher, type PasswordHasher } from '../src/security/passwords.js';
import { hashSecretToken } from '../src/security/secret-tokens.js';
import {
  createApiHarness,
  createManualClock,
  testAccessTokens,
  testPasswordHashing,
  type ApiHarness,
} from './harness.js';

const password = 'correct horse battery';
const manualClock = createManualClock();
let api: ApiHarness;

beforeAll(async () => {
  api = await createApiHarness({ clock: manualClock.clock });
});
afterAll(() => api.close());

async function signIn(email: string) {
  await api.caller().auth.register({ email, password });
  return api.caller().auth.login({ email, password });
}
const unauthenticated = { apiCode: 'UNAUTHENTICATED', status: 401 };
/** `auth.me` with this access token: the cheapest call that authenticates. */
const me = (accessToken: string) => api.caller(`Bearer ${accessToken}`).auth.me();

describe('login', () => {
  it('issues an access token with iss, aud, sub, sid, exp, iat and jti, and stores only a hash of the refresh token', async () => {
    const pair = await signIn('claims@example.com');
    const [, payload = ''] = pair.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toEqual({
      iss: 'tasks-api',
      aud: 'tasks-api',
      sub: expect.any(String),
      sid: expect.any(String),
      iat: expect.any(Number),
      exp: (claims.iat as number) + 900,
      jti: expect.any(String),
    });
    const stored = await api.db.refreshToken.findMany({
      where: { session: { userId: claims.sub as string } },
    });
    expect(stored).toHaveLength(1);
    expect(stored[0]?.tokenHash).toBe(hashSecretToken(pair.refreshToken));
    expect(JSON.stringify(stored)).not.toContain(pair.refreshToken);
  });
});

describe('refresh', () => {
  it('rotates: a new pair, and the old refresh token is spent', async () => {
    const first = await signIn('rotate@example.com');
    const second = await api.caller().auth.refresh({ refreshToken: first.refreshToken });
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    await expect(me(second.accessToken)).resolves.toMatchObject({
      email: 'rotate@example.com',
    });
    const third = await api.caller().auth.refresh({ refreshToken: second.refreshToken });
    expect(third.refreshToken).toEqual(expect.any(String));
  });

  it('treats a spent refresh token as theft and revokes the whole session', async () => {
    const stolen = await signIn('theft@example.com');
    const legit = await api.caller().auth.refresh({ refreshToken: stolen.refreshToken });
    await expect(me(legit.accessToken)).resolves.toBeTruthy();
    await expect(
      api.caller().auth.refresh({ refreshToken: stolen.refreshToken }),
    ).rejects.toMatchObject(unauthenticated);
    // The newer token and the session's access tokens stop working too.
    await expect(
      api.caller().auth.refresh({ refreshToken: legit.refreshToken }),
    ).rejects.toMatchObject(unauthenticated);
    await expect(me(legit.accessToken)).rejects.toMatchObject(unauthenticated);
  });

  it('lets only one of two concurrent refreshes with the same token win, and revokes the session', async () => {
    const pair = await signIn('race@example.com');
    const results = await Promise.allSettled([
      api.caller().auth.refresh({ refreshToken: pair.refreshToken }),
      api.caller().auth.refresh({ refreshToken: pair.refreshToken }),
    ]);
    // The rotation is conditional on the token being unspent, so exactly one can spend it; the
    // loser finds it spent (or loses the rotation) and is refused as theft. The winner's own
    // checks came first, so it is never refused.
    const won = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const lost = results.flatMap((result) =>
      result.status === 'rejected' ? [result.reason as unknown] : [],
    );
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject(unauthenticated);
    const [winner] = won;
    if (!winner) throw new Error('no refresh won');
    // Theft ends the session: the winner's new tokens stop working too.
    await expect(
      api.caller().auth.refresh({ refreshToken: winner.refreshToken }),
    ).rejects.toMatchObject(unauthenticated);
    await expect(me(winner.accessToken)).rejects.toMatchObject(unauthenticated);
  });

  it('rejects unknown tokens, access tokens, and tokens of an expired session', async () => {
    const pair = await signIn('expiry@example.com');
    await expect(api.caller().auth.refresh({ refreshToken: 'not-a-token' })).rejects.toMatchObject(
      unauthenticated,
    );
    await expect(
      api.caller().auth.refresh({ refreshToken: pair.accessToken.slice(0, 200) }),
    ).rejects.toMatchObject(unauthenticated);
    manualClock.advanceSeconds(30 * 86_400 + 1);
    await expect(
      api.caller().auth.refresh({ refreshToken: pair.refreshToken }),
    ).rejects.toMatchObject(unauthenticated);
  });
});

describe('logout', () => {
  it('revokes the session: its refresh token and its access token stop working at once', async () => {
    const pair = await signIn('logout@example.com');
    const other = await api.caller().auth.login({ email: 'logout@example.com', password });
    // Seen open (and so cached) before the logout.
    await expect(me(pair.accessToken)).resolves.toBeTruthy();
    await expect(
      api.caller().auth.logout({ refreshToken: pair.refreshToken }),
    ).resolves.toBeUndefined();
    await expect(me(pair.accessToken)).rejects.toMatchObject(unauthenticated);
    await expect(
      api.caller().auth.refresh({ refreshToken: pair.refreshToken }),
    ).rejects.toMatchObject(unauthenticated);
    await expect(
      api.caller().auth.logout({ refreshToken: pair.refreshToken }),
    ).rejects.toMatchObject(unauthenticated);
    // Another device's session is untouched.
    await expect(me(other.accessToken)).resolves.toBeTruthy();
  });
});

describe('one request', () => {
  it('is authenticated once, when its first call needs it, for every call it holds', async () => {
    const pair = await signIn('batch@example.com');
    const invalid = api.caller('Bearer not-a-token');
    // One caller is one request (the calls of a /trpc batch share its context).
    const request = api.caller(`Bearer ${pair.accessToken}`);
    const [first, second] = await Promise.all([request.auth.me(), request.tasks.list({})]);
    expect(first.email).toBe('batch@example.com');
    expect(second.items).toEqual([]);
    await api.caller().auth.logout({ refreshToken: pair.refreshToken });
    // Still the caller it was when it arrived; a new request with the token is refused.
    await expect(request.auth.me()).resolves.toEqual(first);
    await expect(me(pair.accessToken)).rejects.toMatchObject(unauthenticated);
    await expect(Promise.all([invalid.auth.me(), invalid.tasks.list({})])).rejects.toMatchObject(
      unauthenticated,
    );
  });
});

describe('changePassword', () => {
  it('needs the current password, keeps this session and revokes every other one', async () => {
    const here = await signIn('change@example.com');
    const elsewhere = await api.caller().auth.login({ email: 'change@example.com', password });
    const caller = api.caller(`Bearer ${here.accessToken}`);
    await expect(me(elsewhere.accessToken)).resolves.toBeTruthy();

    await expect(
      caller.auth.changePassword({
        currentPassword: 'wrong password',
        newPassword: 'a new passphrase',
      }),
    ).rejects.toMatchObject({
      apiCode: 'VALIDATION_FAILED',
      fieldErrors: [expect.objectContaining({ path: 'currentPassword' })],
    });

    await caller.auth.changePassword({
      currentPassword: password,
      newPassword: 'a new passphrase',
    });
    await expect(caller.auth.me()).resolves.toBeTruthy();
    await expect(me(elsewhere.accessToken)).rejects.toMatchObject(unauthenticated);
    await expect(
      api.caller().auth.refresh({ refreshToken: elsewhere.refreshToken }),
    ).rejects.toMatchObject(unauthenticated);
    await expect(
      api.caller().auth.login({ email: 'change@example.com', password }),
    ).rejects.toMatchObject({
      apiCode: 'INVALID_CREDENTIALS',
    });
    await expect(
      api.caller().auth.login({ email: 'change@example.com', password: 'a new passphrase' }),
    ).resolves.toBeTruthy();
  });
});

describe('the open-session cache', () => {
  it('lets another instance trust a session it saw open for sessionCacheMs, then asks again', async () => {
    const pair = await signIn('two-instances@example.com');
    const bearer = `Bearer ${pair.accessToken}`;
    const otherInstance = new AuthService({
      accounts: new AccountRepository(api.db),
      passwords: createPasswordHasher(4, testPasswordHashing),
      clock: manualClock.clock,
      accessTokens: createAccessTokens(testAccessTokens, manualClock.clock),
      refreshTokenTtlSeconds: 60,
      sessionCacheMs: 5_000,
      maxSessionsPerUser: 100,
      personalAccessTokens: new PersonalAccessTokenService(
        new AccountRepository(api.db),
        manualClock.clock,
        { maxPerUser: 50, cacheMs: 0, requireVerifiedEmail: false },
      ),
    });
    await expect(otherInstance.authenticate(bearer)).resolves.toBeTruthy();
    await expect(api.caller(bearer).auth.me()).resolves.toBeTruthy();

    await api.caller().auth.logout({ refreshToken: pair.refreshToken });
    await expect(api.caller(bearer).auth.me()).rejects.toMatchObject(unauthenticated);
    // The other instance did not see the logout: it trusts what it checked 0 s ago...
    await expect(otherInstance.authenticate(bearer)).resolves.toBeTruthy();
    manualClock.advanceSeconds(5);
    // ...until sessionCacheMs has passed, and then learns from the database.
    await expect(otherInstance.authenticate(bearer)).rejects.toMatchObject(unauthenticated);
  });

  it('never trusts a cached session for a token of another user', async () => {
    const victim = await signIn('cache-victim@example.com');
    const attacker = await signIn('cache-attacker@example.com');
    const tokens = createAccessTokens(testAccessTokens, manualClock.clock);
    const victimSubject = tokens.verify(victim.accessToken);
    const attackerSubject = tokens.verify(attacker.accessToken);
    if (!victimSubject || !attackerSubject) throw new Error('tokens did not verify');
    await me(victim.accessToken);
    // Only a token signed with the secret could carry this pairing; the cache must not accept it.
    const forged = tokens.issue({
      userId: attackerSubject.userId,
      sessionId: victimSubject.sessionId,
    });
    await expect(me(forged)).rejects.toMatchObject(unauthenticated);
  });
});

describe('login timing', () => {
  /** Counts bcrypt comparisons through the real hasher. */
  function countingHasher(): PasswordHasher & { comparisons: number } {
    const real = createPasswordHasher(4, testPasswordHashing);
    const counter = {
      comparisons: 0,
      hash: (plain: string) => real.hash(plain),
      verify: (plain: string, hash: string) => {
        counter.comparisons++;
        return real.verify(plain, hash);
      },
      verifyAgainstDummy: (plain: string) => {
        counter.comparisons++;
        return real.verifyAgainstDummy(plain);
      },
    };
    return counter;
  }

  it('spends exactly one bcrypt comparison on an unknown email, as on a wrong password', async () => {
    const passwords = countingHasher();
    const auth = new AuthService({
      accounts: new AccountRepository(api.db),
      passwords,
      clock: manualClock.clock,
      accessTokens: createAccessTokens(testAccessTokens, manualClock.clock),
      refreshTokenTtlSeconds: 60,
      sessionCacheMs: 0,
      maxSessionsPerUser: 100,
      personalAccessTokens: new PersonalAccessTokenService(
        new AccountRepository(api.db),
        manualClock.clock,
        { maxPerUser: 50, cacheMs: 0, requireVerifiedEmail: false },
      ),
    });
    await auth.register({ email: 'timing@example.com', password });
    for (const attempt of [
      { email: 'nobody-here@example.com', password },
      { email: 'timing@example.com', password: 'wrong password' },
    ]) {
      passwords.comparisons = 0;
      await expect(auth.login(attempt)).rejects.toMatchObject({ apiCode: 'INVALID_CREDENTIALS' });
      expect(passwords.comparisons).toBe(1);
    }
  });
});
