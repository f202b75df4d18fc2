import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Prisma } from '@tasks/db';
import { ApiError, errorCatalogue, toApiError } from './errors.js';
import { toProblem } from './problem.js';

describe('toApiError', () => {
  it('keeps an ApiError as it is', () => {
    const error = new ApiError('TASK_NOT_FOUND');
    expect(toApiError(error)).toBe(error);
  });

  it('turns an input ZodError into VALIDATION_FAILED with dotted field paths', () => {
    const parsed = z.object({ a: z.object({ b: z.string() }) }).safeParse({ a: { b: 1 } });
    const error = toApiError(new TRPCError({ code: 'BAD_REQUEST', cause: parsed.error }));
    expect(error).toMatchObject({
      apiCode: 'VALIDATION_FAILED',
      status: 422,
      message: '1 field is invalid',
    });
    expect(error.fieldErrors).toEqual([
      { path: 'a.b', code: 'invalid_type', message: expect.any(String) },
    ]);
  });

  it('hides unknown failures behind INTERNAL and keeps the cause for the log', () => {
    const bug = new Error('relation "Task" does not exist at character 15');
    const error = toApiError(bug);
    expect(error).toMatchObject({
      apiCode: 'INTERNAL',
      status: 500,
      message: 'Internal server error',
    });
    expect(error.cause).toBe(bug);
  });

  it('reports an unreachable database as SERVICE_UNAVAILABLE', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    expect(toApiError(new Error('query failed', { cause: refused }))).toMatchObject({
      apiCode: 'SERVICE_UNAVAILABLE',
      status: 503,
    });
  });

  it('gives tRPC the same HTTP status as the catalogue for every code tRPC has one for', () => {
    for (const [code, { status }] of Object.entries(errorCatalogue)) {
      // tRPC has no code for 410: the server answers a lone call with the catalogue's status.
      if (status === 410) continue;
      expect(getHTTPStatusCodeFromError(new ApiError(code as keyof typeof errorCatalogue))).toBe(
        status,
      );
    }
  });
});

describe('toProblem', () => {
  it('builds RFC 9457 problem details from the catalogue', () => {
    const error = new ApiError('VALIDATION_FAILED', '1 field is invalid', {
      errors: [{ path: 'title', code: 'too_small', message: 'Too small' }],
    });
    expect(toProblem(error, 'req-1')).toEqual({
      type: '/problems/validation-failed',
      title: 'Validation failed',
      status: 422,
      detail: '1 field is invalid',
      code: 'VALIDATION_FAILED',
      requestId: 'req-1',
      errors: [{ path: 'title', code: 'too_small', message: 'Too small' }],
    });
  });
});

describe('database errors not handled by a service', () => {
  const prismaError = (code: string, meta?: Record<string, unknown>) =>
    new Prisma.PrismaClientKnownRequestError('query failed: SELECT secret FROM "User"', {
      code,
      clientVersion: '7',
      meta,
    });

  it('maps a unique violation to 409 CONFLICT naming the fields', () => {
    const error = toApiError(
      prismaError('P2002', {
        driverAdapterError: { cause: { constraint: { fields: ['email'] } } },
      }),
    );
    expect(error).toMatchObject({ apiCode: 'CONFLICT', status: 409 });
    expect(error.fieldErrors).toEqual([
      { path: 'email', code: 'unique', message: 'Already taken' },
    ]);
    expect(error.message).not.toContain('SELECT');
  });

  it('maps a missing record to 404, a write conflict to 503 and anything else to 500', () => {
    expect(toApiError(prismaError('P2025'))).toMatchObject({ apiCode: 'NOT_FOUND', status: 404 });
    expect(toApiError(prismaError('P2034'))).toMatchObject({ apiCode: 'SERVICE_UNAVAILABLE' });
    expect(toApiError(prismaError('P2010'))).toMatchObject({ apiCode: 'INTERNAL', status: 500 });
  });

  it('maps a database that is gone or unreachable (driver adapter errors) to 503', () => {
    const adapterError = (cause: Record<string, unknown>) =>
      prismaError('P2010', { driverAdapterError: { name: 'DriverAdapterError', cause } });
    for (const cause of [
      { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5432 },
      { kind: 'DatabaseDoesNotExist', originalCode: '3D000' },
      { kind: 'postgres', originalCode: '57P01' },
      { kind: 'postgres', originalCode: '08006' },
    ]) {
      expect(toApiError(adapterError(cause))).toMatchObject({
        apiCode: 'SERVICE_UNAVAILABLE',
        status: 503,
      });
    }
    expect(toApiError(adapterError({ kind: 'postgres', originalCode: '42601' }))).toMatchObject({
      apiCode: 'INTERNAL',
    });
  });

  it('reaches the caller mapped when thrown inside a procedure', () => {
    const wrapped = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: prismaError('P2003') });
    expect(toApiError(wrapped)).toMatchObject({ apiCode: 'CONFLICT', status: 409 });
  });
});
