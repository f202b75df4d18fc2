import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Clock } from '../context.js';

export interface AccessTokenConfig {
  secret: string;
  ttlSeconds: number;
  issuer: string;
  audience: string;
}

export interface AccessTokens {
  ttlSeconds: number;
  issue(userId: string): string;
  /** Returns the user id of a valid token, `null` for anything else (expired, tampered...). */
  verify(token: string): string | null;
}

const algorithm = 'HS256';

export function createAccessTokens(config: AccessTokenConfig, clock: Clock): AccessTokens {
  // A KeyObject: given a string, jsonwebtoken first tries it as a PEM public key (~0.7 ms a call).
  const key: KeyObject = createSecretKey(Buffer.from(config.secret, 'utf8'));
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);
  return {
    ttlSeconds: config.ttlSeconds,
    issue: (userId) =>
      jwt.sign({ iat: nowSeconds() }, key, {
        algorithm,
        expiresIn: config.ttlSeconds,
        issuer: config.issuer,
        audience: config.audience,
        subject: userId,
        jwtid: randomUUID(),
      }),
    verify(token) {
      try {
        const payload = jwt.verify(token, key, {
          algorithms: [algorithm],
          issuer: config.issuer,
          audience: config.audience,
          clockTimestamp: nowSeconds(),
        });
        return typeof payload === 'object' && typeof payload.sub === 'string' ? payload.sub : null;
      } catch {
        return null;
      }
    },
  };
}
