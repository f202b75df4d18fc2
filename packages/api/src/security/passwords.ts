import { createHash } from 'node:crypto';
import bcrypt from 'bcrypt';

/**
 * bcrypt only reads the first 72 bytes, and passwords may be up to 128 characters (512 bytes of
 * UTF-8). Hashing with SHA-256 first makes every character count; base64 keeps NUL bytes out.
 */
function prehash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('base64');
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
  /** Spends the same time as a real verification; used when the account does not exist. */
  verifyAgainstDummy(password: string): Promise<void>;
}

/** bcrypt runs on libuv's thread pool, so hashing never blocks the event loop. */
export function createPasswordHasher(cost: number): PasswordHasher {
  let dummyHash: Promise<string> | undefined;
  return {
    hash: (password) => bcrypt.hash(prehash(password), cost),
    verify: (password, hash) => bcrypt.compare(prehash(password), hash),
    async verifyAgainstDummy(password) {
      dummyHash ??= bcrypt.hash('dummy password that never matches', cost);
      await bcrypt.compare(prehash(password), await dummyHash);
    },
  };
}
