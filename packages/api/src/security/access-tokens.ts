import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Clock } from '../clock.js';

export interface AccessTokenConfig {
  secret: string;
  ttlSeconds: number;
  issuer: string;
  audience: string;
}

/** Who an access token speaks for: the user and the session it was issued in. */
export interface AccessTokenSubject {
  userId: string;
  sessionId: string;
}

export interface AccessTokens {
  ttlSeconds: number;
  issue(subject: AccessTokenSubject): string;
  /** The subject of a valid token; `null` for anything else (expired, tampered, other key...). */
  verify(token: string): AccessTokenSubject | null;
}

const algorithm = 'HS256';

/** Any version and case: the ids reach a uuid column, which refuses anything else with an error. */
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** RFC 7519 5.1 and RFC 9068 2.1; media type names are case-insensitive (RFC 7515 4.1.9). */
const acceptedTypes = new Set(['jwt', 'at+jwt']);

function isAcceptedHeader(header: jwt.JwtHeader): boolean {
  // RFC 7515 4.1.11: a recipient that does not understand every listed extension must reject the
  // token, and this one understands none.
  if ('crit' in header) return false;
  // The header is whatever the sender wrote, whatever its declared type says.
  const typ: unknown = header.typ;
  return typ === undefined || (typeof typ === 'string' && acceptedTypes.has(typ.toLowerCase()));
}

export function createAccessTokens(config: AccessTokenConfig, clock: Clock): AccessTokens {
  // A KeyObject: given a string, jsonwebtoken first tries it as a PEM public key, slowly.
  const key: KeyObject = createSecretKey(Buffer.from(config.secret, 'utf8'));
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);
  return {
    ttlSeconds: config.ttlSeconds,
    issue: ({ userId, sessionId }) =>
      jwt.sign({ iat: nowSeconds(), sid: sessionId }, key, {
        algorithm,
        expiresIn: config.ttlSeconds,
        issuer: config.issuer,
        audience: config.audience,
        subject: userId,
        jwtid: randomUUID(),
      }),
    verify(token) {
      try {
        const { header, payload } = jwt.verify(token, key, {
          algorithms: [algorithm],
          issuer: config.issuer,
          audience: config.audience,
          clockTimestamp: nowSeconds(),
          complete: true,
        });
        if (!isAcceptedHeader(header) || typeof payload !== 'object') return null;
        const { sub, sid, exp } = payload as { sub?: unknown; sid?: unknown; exp?: unknown };
        // jsonwebtoken checks `exp` only when present: a token without one would never expire.
        if (typeof exp !== 'number') return null;
        if (typeof sub !== 'string' || !uuidPattern.test(sub)) return null;
        if (typeof sid !== 'string' || !uuidPattern.test(sid)) return null;
        // The session cache and its evictions key on the ids as the database spells them.
        return { userId: sub.toLowerCase(), sessionId: sid.toLowerCase() };
      } catch {
        return null;
      }
    },
  };
}
