/**
 * SIGTERM while 50 clients write: every request the server accepted is answered, no
 * acknowledged write is lost, no write happens without its answer, and the process exits 0
 * within its grace period.
 */
import { createDatabaseClient } from '@tasks/db';
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { documentedRequester, signUpWith, spawnedTestEnv } from './harness.js';
import { newTally, runClients, tallied, unexpectedStatuses } from './load.js';
import { spawnServer } from './spawn-server.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

const writers = 50;
const graceMs = 10_000;
/**
 * How a request the server never accepted fails, as `tallied` names it: the connection refused
 * (no longer listening), or reset or closed before an answer came.
 */
const notAccepted = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

it('answers every accepted write, loses none, and exits 0 within the grace period', async () => {
  const server = await spawnServer({
    ...spawnedTestEnv,
    LOG_LEVEL: 'info',
    ...database.serverEnv,
    RATE_LIMIT_MAX: '1000000',
    SHUTDOWN_DRAIN_MS: '1000',
    SHUTDOWN_GRACE_MS: String(graceMs),
  });
  const request = documentedRequester(server.baseUrl);
  const { token } = await signUpWith(request);

  const tally = newTally();
  /** Title -> id of every task acknowledged with 201; the title is also the request id. */
  const acknowledged = new Map<string, string>();
  const answeredIds = new Set<string>();
  let answeredWhileDraining = 0;
  const clients = runClients(
    writers,
    { maxIterations: 10_000, maxDurationMs: 60_000 },
    async (client, n) => {
      const title = `w${client}-${n}`;
      const response = await tallied(tally, () =>
        request('/tasks', {
          method: 'POST',
          token,
          headers: { 'x-request-id': title },
          body: { title },
          signal: AbortSignal.timeout(graceMs),
        }),
      );
      // No answer: the server has stopped taking connections; this client is done.
      if (!response) return false;
      answeredIds.add(response.headers.get('x-request-id') ?? '');
      if (response.headers.get('connection') === 'close') answeredWhileDraining += 1;
      if (response.status === 201) {
        acknowledged.set(title, ((await response.json()) as { id: string }).id);
      }
    },
  );

  // Let every writer get going, then stop the server under their load.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const sentBeforeSignal = tally.sent;
  const failedBeforeSignal = { ...tally.errors };
  const signalled = Date.now();
  const exitCode = await server.stop('SIGTERM');
  const exitedAfterMs = Date.now() - signalled;
  await clients.done;

  expect(exitCode).toBe(0);
  expect(server.output()).not.toContain('grace period over');
  // Answers were all 201s; requests without one were never accepted (refused or closed unread).
  expect(unexpectedStatuses(tally, [201])).toEqual({});
  // Until SIGTERM every request got its answer. After it, a request without one either met a
  // server that had stopped listening or a connection closed under it; that none of those was
  // acted on is what the log and database checks below hold. Anything else counted here (a
  // request left hanging until its timeout, an answer the document does not describe, which
  // the requester throws on) is a failure.
  expect(failedBeforeSignal).toEqual({});
  expect(Object.keys(tally.errors).filter((kind) => !notAccepted.has(kind))).toEqual([]);
  expect(answeredWhileDraining).toBeGreaterThan(0);
  // Every request the server logged as answered reached its client.
  const logged = server
    .output()
    .split('\n')
    .filter((line) => line.includes('"msg":"request"') && line.includes('"route":"/tasks"'))
    .map((line) => (JSON.parse(line) as { reqId: string }).reqId);
  expect(logged.filter((id) => !answeredIds.has(id))).toEqual([]);
  // The database holds exactly the acknowledged writes: none lost, none unanswered.
  const db = createDatabaseClient({ url: database.url, poolSize: 1 });
  try {
    const stored = await db.task.findMany({ select: { id: true, title: true } });
    expect(new Map(stored.map(({ title, id }) => [title, id]))).toEqual(acknowledged);
  } finally {
    await db.$disconnect();
  }

  console.info(
    `shutdown under load: ${writers} writers, ${tally.sent} requests (${sentBeforeSignal} before ` +
      `SIGTERM), ${acknowledged.size} acknowledged (${answeredWhileDraining} while draining), ` +
      `${acknowledged.size} found in the database, not accepted ${JSON.stringify(tally.errors)}; ` +
      `exit ${exitCode} ${exitedAfterMs} ms after SIGTERM (grace ${graceMs} ms)`,
  );
}, 90_000);
