import { Prisma } from './generated/prisma/client.js';

/** A unique constraint refused the write (Prisma's P2002, whatever the driver adapter's detail). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
