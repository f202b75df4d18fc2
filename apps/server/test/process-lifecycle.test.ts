/** The server as an operator runs it: configured from a .env file, stopped with SIGTERM. */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer } from './spawn-server.js';

let database: TestDatabase;
let dir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'tasks-lifecycle-'));
});
afterAll(async () => {
  await database.drop();
  await rm(dir, { recursive: true, force: true });
});

const serverEnv = () => ({
  ...database.serverEnv,
  JWT_SECRET: 'lifecycle-secret-that-is-long-enough-0000',
  LOG_LEVEL: 'info',
  AUTH_RATE_LIMIT_MAX_PER_IP: '1000',
  AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '1000',
});

const post = (baseUrl: string, route: string, body: unknown) =>
  fetch(`${baseUrl}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('configuration from a .env file', () => {
  it('reads values from ENV_FILE, and the real environment wins over it', async () => {
    const envFile = path.join(dir, '.env');
    await writeFile(
      envFile,
      'JWT_SECRET=from-the-env-file-and-long-enough-000000\nPORT=1\nLOG_LEVEL=info\n',
    );
    const server = await spawnServer({
      ...serverEnv(),
      JWT_SECRET: undefined,
      LOG_LEVEL: undefined,
      ENV_FILE: envFile,
    });
    // PORT=1 in the file lost to the real PORT (the server answered); JWT_SECRET came from it.
    expect(server.output()).not.toContain('JWT_SECRET is not set');
    expect(server.output()).toContain('"level":30');
    expect(await server.stop()).toBe(0);
  });

  it('stops at boot with one message listing every bad value', async () => {
    await expect(
      spawnServer(
        { ...serverEnv(), PORT: undefined, BCRYPT_COST: '99', TRUST_PROXY: 'maybe' },
        { readyWithinMs: 20_000 },
      ),
    ).rejects.toThrow(/exited with 1:[\s\S]*BCRYPT_COST[\s\S]*TRUST_PROXY/);
  });
});

describe('graceful shutdown', () => {
  it('answers every request in flight at SIGTERM, logs one line per request, and exits 0', async () => {
    const server = await spawnServer({ ...serverEnv(), BCRYPT_COST: '10' });
    const credentials = { email: 'inflight@example.com', password: 'correct horse battery' };
    expect((await post(server.baseUrl, '/auth/register', credentials)).status).toBe(201);

    // Open (and let the server accept) 16 kept-alive connections first: SIGTERM stops accepting
    // new ones, and a connection still in the listen backlog was never the server's to answer.
    await Promise.all(
      Array.from({ length: 16 }, () => fetch(`${server.baseUrl}/health`).then((r) => r.text())),
    );
    // Logins take tens of milliseconds each (bcrypt on a pool of 4 threads): many are in flight.
    const inFlight = Array.from({ length: 16 }, () =>
      post(server.baseUrl, '/auth/login', credentials),
    );
    await new Promise((resolve) => setTimeout(resolve, 40));
    const exitCode = server.stop('SIGTERM');
    const statuses = await Promise.all(inFlight.map(async (response) => (await response).status));

    expect(statuses).toEqual(Array(16).fill(200));
    expect(await exitCode).toBe(0);
    const requestLines = server
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"request"') && line.includes('"route":"/auth/login"'));
    expect(requestLines).toHaveLength(16);
    expect(JSON.parse(requestLines[0] ?? '{}')).toMatchObject({
      reqId: expect.any(String),
      method: 'POST',
      route: '/auth/login',
      status: 200,
      durationMs: expect.any(Number),
    });
    expect(server.output()).not.toContain('correct horse battery');
  }, 60_000);
});

describe('a second signal', () => {
  it('exits with 1 while the first one still drains, without waiting for the drain', async () => {
    // Nothing but the second signal may end this process while the test runs: the drain waits
    // for a connection the test holds open, and the drain, the grace period and that connection's
    // keep-alive all outlast the test's timeout. So an exit the test sees came before the drain
    // ended; if the second signal waited for the drain, the test would time out.
    const server = await spawnServer({
      ...serverEnv(),
      SHUTDOWN_DRAIN_MS: '600000',
      SHUTDOWN_GRACE_MS: '600000',
      KEEP_ALIVE_TIMEOUT_MS: '600000',
    });
    const held = await idleConnection(server.baseUrl);
    const exited = server.stop('SIGTERM');
    const gone = exited.then(() => true);
    // Two signals sent back to back may arrive as one: the second goes once the first is handled
    // (or not at all if the first ended the process, which the checks below then catch).
    while (!server.output().includes('"msg":"shutting down"')) {
      if (await Promise.race([gone, sleep(20, false)])) break;
    }
    // Draining, not gone: a new connection is answered "not ready", and the held one is open.
    expect((await fetch(`${server.baseUrl}/ready`)).status).toBe(503);
    expect(held.endedByServer).toBe(false);

    void server.stop('SIGTERM');
    expect(await exited).toBe(1);
    expect(server.output()).toContain('second signal');
    // Exit code 1 is also the grace period's: it is not what ended the process.
    expect(server.output()).not.toContain('grace period over');
    held.socket.destroy();
  }, 30_000);
});

/**
 * A connection that made one request and now idles, kept alive: the drain waits for it. Built on
 * a raw socket so that the test, not a client's pool, decides how long it stays open.
 */
async function idleConnection(
  baseUrl: string,
): Promise<{ socket: Socket; readonly endedByServer: boolean }> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect(Number(port), hostname);
  let endedByServer = false;
  socket.once('end', () => {
    endedByServer = true;
  });
  // The process dies with this socket open: its reset is expected, not a failure of the test.
  socket.on('error', () => {});
  await once(socket, 'connect');
  let received = '';
  const answered = new Promise<void>((resolve) => {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (/^HTTP\/1\.1 200 [\s\S]*\r\n\r\n/.test(received)) resolve();
    });
  });
  socket.write(`GET /health HTTP/1.1\r\nhost: ${hostname}\r\n\r\n`);
  await answered;
  return {
    socket,
    get endedByServer() {
      return endedByServer;
    },
  };
}

describe('a database failure during a request', () => {
  it('answers 503 problem+json and logs the error under the request id', async () => {
    const doomed = await createTestDatabase();
    const server = await spawnServer({ ...serverEnv(), DATABASE_URL: doomed.url });
    try {
      const credentials = { email: 'doomed@example.com', password: 'correct horse battery' };
      expect((await post(server.baseUrl, '/auth/register', credentials)).status).toBe(201);
      await doomed.drop();

      const response = await post(server.baseUrl, '/auth/login', credentials);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      const requestId = response.headers.get('x-request-id') ?? '';
      // The request line is written once the response has gone out: give the log a moment.
      const logged = (text: string) => server.output().includes(text);
      for (let waited = 0; waited < 5_000 && !logged('"status":503'); waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const lines = server
        .output()
        .split('\n')
        .filter((line) => line.includes(requestId));
      // The failure itself (with its database cause) and the request line both carry the id.
      expect(lines.some((line) => line.includes('"level":50') && line.includes('"err"'))).toBe(
        true,
      );
      expect(
        lines.some((line) => line.includes('"msg":"request"') && line.includes('"status":503')),
      ).toBe(true);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
