import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits: opaque to clients, useless to anyone who reads the database. */
export function generateRefreshToken(): { token: string; tokenHash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, tokenHash: hashRefreshToken(token) };
}

/** A fast hash is enough: the token has full entropy, so there is nothing to brute-force. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
