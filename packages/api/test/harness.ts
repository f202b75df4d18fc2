import { createDatabase, type DatabaseClientOptions, type PrismaClient } from '@tasks/db';
import { createTestDatabase } from '@tasks/db/testing';
import {
  createCaller,
  createContext,
  createServices,
  type Clock,
  type Logger,
  type Services,
} from '../src/index.js';

const silentLogger: Logger = { error() {}, warn() {}, info() {} };

/** A clock tests can move: token expiry without sleeping. */
export function createManualClock(start = new Date('2026-03-01T12:00:00Z')) {
  let now = start.getTime();
  const clock: Clock = { now: () => new Date(now) };
  return { clock, advanceSeconds: (seconds: number) => (now += seconds * 1000) };
}

export const testAccessTokens = {
  secret: 'test-secret-that-is-long-enough-0123456789',
  issuer: 'tasks-api',
  audience: 'tasks-api',
  ttlSeconds: 900,
};

/** Room for every test's parallel logins; the bounds themselves are tested on the server. */
export const testPasswordHashing = { concurrency: 4, maxQueued: 1_000 };

export interface ApiHarness {
  db: PrismaClient;
  services: Services;
  /**
   * A caller as an anonymous client, or with `Authorization: <authorization>`; one caller is one
   * request (`batched`: one holding several calls, as a /trpc batch).
   */
  caller(authorization?: string, options?: { batched?: boolean }): ReturnType<typeof createCaller>;
  /** Registers and logs in a fresh user; returns its id and a ready caller. */
  signUp(
    email?: string,
  ): Promise<{ id: string; email: string; token: string; caller: ReturnType<typeof createCaller> }>;
  close(): Promise<void>;
}

let userCounter = 0;

export interface ApiHarnessOptions {
  clock?: Clock;
  /** Receives every SQL statement sent (see `DatabaseClientOptions.onQuery`). */
  onQuery?: DatabaseClientOptions['onQuery'];
}

/** Procedures over a real, isolated PostgreSQL database, called in-process through createCaller. */
export async function createApiHarness({
  clock,
  onQuery,
}: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const database = await createTestDatabase();
  const connection = createDatabase({
    url: database.url,
    poolSize: database.poolSize,
    preparedStatements: database.preparedStatements,
    onQuery,
  });
  const { prisma: db, tasks, accounts, changes, webhooks } = connection;
  const services = createServices({
    tasks,
    accounts,
    changes,
    webhooks,
    clock: clock ?? { now: () => new Date() },
    config: {
      bcryptCost: 4,
      accessTokens: testAccessTokens,
      refreshTokenTtlSeconds: 30 * 86_400,
      // Far longer than any test: revocations must end access at once by evicting, not by age.
      sessionCacheMs: 60 * 60_000,
      passwordHashing: testPasswordHashing,
      // Tests here sign in many times from one address; the budgets are tested on the server.
      attempts: {
        perAddress: { max: 1_000_000, windowMs: 60_000 },
        perAccount: { max: 1_000_000, windowMs: 60_000 },
      },
      taskQuotaPerUser: 10_000,
      maxSessionsPerUser: 100,
      maxTokensPerUser: 50,
      changeFeed: {
        retentionMs: 7 * 86_400_000,
        heartbeatMs: 100,
        maxStreamsPerUser: 5,
        maxStreams: 100,
      },
      webhooks: {
        allowPrivateUrls: true,
        maxPerUser: 10,
        retryDelaysMs: [100, 200],
        timeoutMs: 2_000,
        responseExcerptBytes: 1024,
        deliveryRetentionMs: 30 * 86_400_000,
      },
    },
  });
  const caller = (authorization?: string, { batched = false } = {}) =>
    createCaller(
      createContext(services, {
        requestId: 'test-request',
        authorization,
        clientAddress: '127.0.0.1',
        log: silentLogger,
        batched,
      }),
    );
  return {
    db,
    services,
    caller,
    async signUp(email = `user${++userCounter}-${Date.now()}@example.com`) {
      const password = 'correct horse battery';
      const user = await caller().auth.register({ email, password });
      const { accessToken } = await caller().auth.login({ email, password });
      return {
        id: user.id,
        email: user.email,
        token: accessToken,
        caller: caller(`Bearer ${accessToken}`),
      };
    },
    async close() {
      await connection.close();
      await database.drop();
    },
  };
}
