import { createHash, randomBytes } from 'node:crypto';

/**
 * 256 random bits: opaque to clients, useless to anyone who reads the database (refresh tokens,
 * mailed reset and verification tokens).
 */
export function generateSecretToken(): { token: string; tokenHash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, tokenHash: hashSecretToken(token) };
}

/** A fast hash is enough: the token has full entropy, so there is nothing to brute-force. */
export function hashSecretToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Personal access tokens start with this, as GitHub's start with `ghp_`: secret scanners (and
 * people) can tell a leaked one by its look, and the API tells it from a session's JWT.
 */
export const personalAccessTokenPrefix = 'tasks_pat_';

export function generatePersonalAccessToken(): { token: string; tokenHash: string } {
  const { token } = generateSecretToken();
  const prefixed = personalAccessTokenPrefix + token;
  return { token: prefixed, tokenHash: hashSecretToken(prefixed) };
}
