import type { AppRouter } from '@tasks/api';
import { createDatabaseClient, type PrismaClient } from '@tasks/db';
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import type { Clock } from '@tasks/api';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import type { FastifyInstance } from 'fastify';
import superjson from 'superjson';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { assertDocumented } from './contract.js';
import { testMailDir } from './spawn-server.js';

interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

export interface SignedUpUser {
  id: string;
  email: string;
  /** Access token. */
  token: string;
  refreshToken: string;
}

export interface TestServer {
  app: FastifyInstance;
  baseUrl: string;
  /** Direct access to the server's database, for arranging and checking state. */
  db: PrismaClient;
  /** The isolated database, to start another instance on (`TestServerOptions.database`). */
  database: TestDatabase;
  /** Real HTTP against the listening server; JSON bodies are serialised for you. */
  request(
    path: string,
    init?: Omit<RequestInit, 'body'> & { body?: unknown; token?: string },
  ): Promise<Response>;
  /** A real tRPC client over HTTP (superjson, batching), optionally with a bearer token. */
  trpc(token?: string): ReturnType<typeof createTRPCClient<AppRouter>>;
  /** Registers and logs in a fresh user over REST. */
  signUp(): Promise<SignedUpUser>;
  close(): Promise<void>;
}

export const testEnv = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  BCRYPT_COST: '4',
  JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
  BODY_LIMIT_BYTES: '65536',
  // Only the tests of jobs run workers (they turn this on): the others need none.
  JOBS_IN_API: 'false',
  MAIL_DIR: testMailDir,
};

/**
 * The same for a spawned server, which would otherwise inherit REDIS_URL and share its rate-limit
 * counters with every other test file's servers.
 */
export const spawnedTestEnv = { ...testEnv, REDIS_URL: undefined };

let userCounter = 0;

export type DocumentedRequest = TestServer['request'];

/**
 * Real HTTP to `baseUrl` (an in-process app or a spawned server); every response must be one the
 * OpenAPI document describes.
 */
export function documentedRequester(baseUrl: string): DocumentedRequest {
  return async (path, { body, token, headers, ...init } = {}) => {
    const requestHeaders = new Headers(headers);
    if (body !== undefined && !requestHeaders.has('content-type')) {
      requestHeaders.set('content-type', 'application/json');
    }
    if (token) requestHeaders.set('authorization', `Bearer ${token}`);
    const response = await fetch(`${baseUrl}${path}`, {
      ...init,
      headers: requestHeaders,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    // Every response the tests see must be one the OpenAPI document describes.
    const text = await response.clone().text();
    assertDocumented(
      init.method ?? 'GET',
      path,
      response.status,
      response.headers.get('content-type'),
      text,
    );
    return response;
  };
}

/** A real tRPC client over HTTP (superjson, batching), optionally with a bearer token. */
export function trpcClient(baseUrl: string, token?: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${baseUrl}/trpc`,
        transformer: superjson,
        headers: () => (token ? { authorization: `Bearer ${token}` } : {}),
      }),
    ],
  });
}

/** Registers and logs in a fresh user over REST. */
export async function signUpWith(request: DocumentedRequest): Promise<SignedUpUser> {
  const credentials = {
    email: `rest-user${++userCounter}-${Date.now()}@example.com`,
    password: 'correct horse battery',
  };
  const registered = await request('/auth/register', { method: 'POST', body: credentials });
  const { id } = (await registered.json()) as { id: string };
  const login = await request('/auth/login', { method: 'POST', body: credentials });
  const { accessToken, refreshToken } = (await login.json()) as TokenPair;
  return { id, email: credentials.email, token: accessToken, refreshToken };
}

export interface TestServerOptions {
  /** Another server's database, to run a second instance on (it stays the first's to drop). */
  database?: TestDatabase;
  /** Where the app reads the time (tokens, sessions, the change feed's retention). */
  clock?: Clock;
  /**
   * The URL the app connects to, given its database's: e.g. through a fault-injecting proxy.
   * The test's own `db` client always connects directly.
   */
  appDatabaseUrl?: (url: string) => string | Promise<string>;
}

/**
 * The real Fastify app on a random port, over its own isolated PostgreSQL database; `env`
 * overrides the test environment (e.g. small rate limits).
 */
export async function startTestServer(
  env: Record<string, string> = {},
  { appDatabaseUrl = (url) => url, database: shared, clock }: TestServerOptions = {},
): Promise<TestServer> {
  const database = shared ?? (await createTestDatabase());
  const config = loadConfig({
    ...testEnv,
    ...database.serverEnv,
    ...env,
    DATABASE_URL: database.url,
  });
  const app = await buildApp(
    { ...config, databaseUrl: await appDatabaseUrl(database.url) },
    { ...(clock && { clock }) },
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const db = createDatabaseClient({ url: database.url, poolSize: database.poolSize });
  const address = app.server.address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const request = documentedRequester(baseUrl);

  return {
    app,
    baseUrl,
    db,
    database,
    request,
    trpc: (token) => trpcClient(baseUrl, token),
    signUp: () => signUpWith(request),
    async close() {
      await db.$disconnect();
      await app.close();
      if (!shared) await database.drop();
    },
  };
}
