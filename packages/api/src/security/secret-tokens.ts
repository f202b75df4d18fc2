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
