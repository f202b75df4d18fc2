import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, createManualClock, type ApiHarness } from './harness.js';

const password = 'correct horse battery';
const manualClock = createManualClock();
let api: ApiHarness;

beforeAll(async () => {
  api = await createApiHarness({ clock: manualClock.clock });
});
afterAll(() => api.close());

describe('auth.register', () => {
  it('creates an account with a lower-cased email and never returns the hash', async () => {
    const user = await api.caller().auth.register({ email: 'Ann.Lee@Example.COM', password });
    expect(user).toEqual({
      id: expect.any(String),
      email: 'ann.lee@example.com',
      emailVerified: false,
      createdAt: expect.any(Date),
    });
    expect(Object.keys(user)).not.toContain('passwordHash');
    const stored = await api.db.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(stored.passwordHash).toMatch(/^\$2[aby]\$04\$/);
  });

  it('rejects the same email in another case with EMAIL_TAKEN (409)', async () => {
    await api.caller().auth.register({ email: 'bob@example.com', password });
    await expect(
      api.caller().auth.register({ email: 'BOB@example.com', password }),
    ).rejects.toMatchObject({
      apiCode: 'EMAIL_TAKEN',
      status: 409,
    });
    expect(await api.db.user.count({ where: { email: 'bob@example.com' } })).toBe(1);
  });

  it('lists every invalid field with VALIDATION_FAILED (422)', async () => {
    await expect(
      api.caller().auth.register({ email: 'not-an-email', password: 'short' }),
    ).rejects.toMatchObject({
      apiCode: 'VALIDATION_FAILED',
      status: 422,
      fieldErrors: [
        expect.objectContaining({ path: 'email', code: 'invalid_format' }),
        expect.objectContaining({ path: 'password', code: 'too_small' }),
      ],
    });
  });

  it('rejects a domain label ending with a hyphen, which the document says is no email', async () => {
    await expect(
      api.caller().auth.register({ email: 'ann@example-.com', password }),
    ).rejects.toMatchObject({
      apiCode: 'VALIDATION_FAILED',
      fieldErrors: [expect.objectContaining({ path: 'email' })],
    });
  });

  it('rejects passwords over 128 characters', async () => {
    await expect(
      api.caller().auth.register({ email: 'long@example.com', password: 'x'.repeat(129) }),
    ).rejects.toMatchObject({
      apiCode: 'VALIDATION_FAILED',
    });
  });
});

describe('auth.login', () => {
  beforeAll(async () => {
    await api.caller().auth.register({ email: 'carol@example.com', password });
  });

  it('returns a bearer access token for the right password, whatever the email case', async () => {
    const token = await api.caller().auth.login({ email: 'Carol@Example.com', password });
    expect(token).toEqual({
      accessToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 900,
      refreshToken: expect.any(String),
    });
    const me = await api.caller(`Bearer ${token.accessToken}`).auth.me();
    expect(me.email).toBe('carol@example.com');
  });

  it('gives unknown email and wrong password the same INVALID_CREDENTIALS answer', async () => {
    const wrongPassword = api
      .caller()
      .auth.login({ email: 'carol@example.com', password: 'wrong password!' });
    const unknownEmail = api.caller().auth.login({ email: 'nobody@example.com', password });
    const errors = await Promise.all([
      wrongPassword.catch((e: unknown) => e),
      unknownEmail.catch((e: unknown) => e),
    ]);
    for (const error of errors)
      expect(error).toMatchObject({ apiCode: 'INVALID_CREDENTIALS', status: 401 });
    expect((errors[0] as Error).message).toBe((errors[1] as Error).message);
  });

  it('makes every character of a long password count (bcrypt alone reads only 72 bytes)', async () => {
    const long = 'a'.repeat(100);
    await api.caller().auth.register({ email: 'long-password@example.com', password: long });
    await expect(
      api
        .caller()
        .auth.login({ email: 'long-password@example.com', password: `${'a'.repeat(99)}b` }),
    ).rejects.toMatchObject({ apiCode: 'INVALID_CREDENTIALS' });
  });
});

describe('bearer tokens', () => {
  it('rejects a missing, malformed or foreign token with UNAUTHENTICATED', async () => {
    for (const authorization of [
      undefined,
      '',
      'Bearer',
      'Bearer garbage',
      'Basic abc',
      'Bearer a.b.c',
    ]) {
      await expect(api.caller(authorization).auth.me()).rejects.toMatchObject({
        apiCode: 'UNAUTHENTICATED',
        status: 401,
      });
    }
  });

  it('rejects a token once it has expired', async () => {
    const { token } = await api.signUp();
    await expect(api.caller(`Bearer ${token}`).auth.me()).resolves.toBeTruthy();
    manualClock.advanceSeconds(901);
    await expect(api.caller(`Bearer ${token}`).auth.me()).rejects.toMatchObject({
      apiCode: 'UNAUTHENTICATED',
    });
  });

  it('rejects the token of an account that no longer exists', async () => {
    const { id, caller } = await api.signUp();
    await api.db.user.delete({ where: { id } });
    await expect(caller.auth.me()).rejects.toMatchObject({ apiCode: 'UNAUTHENTICATED' });
  });
});
