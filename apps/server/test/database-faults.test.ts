/**
 * The database connection cut, stalled and restored (through a TCP proxy) while requests flow:
 * requests fail fast with 503, /ready follows, the app recovers by itself, no 201 is lost.
 */
import { createDatabaseClient } from '@tasks/db';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type SignedUpUser, type TestServer } from './harness.js';
import { eventually, newTally, runClients, tallied, unexpectedStatuses } from './load.js';
import { startTcpProxy, useProxiedTestDatabase, type TcpProxy } from './tcp-proxy.js';

const queryTimeoutMs = 1_000;
const connectTimeoutMs = 1_000;
/**
 * Far beyond what the configured bounds allow a request (a wait for a connection, a connection,
 * and a query that never answers): a request still unanswered by then hangs.
 */
const hangLimitMs = 10_000;

describe('database faults while requests flow', () => {
  let proxy: TcpProxy;
  let server: TestServer;
  let user: SignedUpUser;

  beforeAll(async () => {
    server = await startTestServer(
      {
        DB_POOL_SIZE: '4',
        DB_STATEMENT_TIMEOUT_MS: '500',
        DB_QUERY_TIMEOUT_MS: String(queryTimeoutMs),
        DB_CONNECT_TIMEOUT_MS: String(connectTimeoutMs),
        RATE_LIMIT_MAX: '1000000',
      },
      {
        appDatabaseUrl: async (url) => {
          proxy = await startTcpProxy(url);
          return proxy.url;
        },
      },
    );
    user = await server.signUp();
  }, 60_000);
  afterAll(async () => {
    await server.close();
    await proxy.close();
  });

  it('answers 503 fast during a cut and a stall, turns unready and back, and loses no 201', async () => {
    let phase = 'healthy';
    const byPhase: Record<string, Record<number, number>> = {};
    const tally = newTally();
    const acknowledged: string[] = [];
    const problems = new Set<string>();
    let slowest503Ms = 0;

    const answered = async (response: Response | undefined, started: number) => {
      if (!response) return;
      const counts = (byPhase[phase] ??= {});
      counts[response.status] = (counts[response.status] ?? 0) + 1;
      if (response.status === 201)
        acknowledged.push(((await response.json()) as { id: string }).id);
      if (response.status === 503) {
        slowest503Ms = Math.max(slowest503Ms, performance.now() - started);
        const problem = (await response.json()) as { code: string };
        // The harness already checked the body and content type against the OpenAPI document.
        problems.add(`${problem.code}, retry after ${response.headers.get('retry-after')} s`);
      }
    };
    const signal = () => AbortSignal.timeout(hangLimitMs);
    const clients = runClients(
      8,
      { maxIterations: 5_000, maxDurationMs: 60_000 },
      async (client, n) => {
        const started = performance.now();
        const response = await tallied(tally, () =>
          client % 2 === 0
            ? server.request('/tasks', {
                method: 'POST',
                token: user.token,
                body: { title: `task ${client}-${n}` },
                signal: signal(),
              })
            : server.request('/tasks?limit=5', { token: user.token, signal: signal() }),
        );
        await answered(response, started);
      },
    );
    const ready = (status: number) => () =>
      fetch(`${server.baseUrl}/ready`, { signal: signal() }).then((r) => r.status === status);

    const faults: string[] = [];
    const inject = async (fault: 'cut' | 'stall') => {
      await sleep(1_000);
      phase = fault;
      faults.push(fault);
      if (fault === 'cut') await proxy.cut();
      else proxy.stall();
      expect(await eventually(ready(503), hangLimitMs)).toBe(true);
      // Long enough for requests stuck on the stall to reach their timeouts.
      await sleep(queryTimeoutMs + connectTimeoutMs);
      phase = `after ${fault}`;
      await proxy.restore();
      expect(await eventually(ready(200), hangLimitMs)).toBe(true);
    };
    await inject('cut');
    await inject('stall');
    await inject('cut');
    await sleep(1_000);
    clients.stop();
    await clients.done;

    // Nothing hung, nothing crashed: every request was answered, with a documented status.
    expect(tally.errors).toEqual({});
    expect(unexpectedStatuses(tally, [200, 201, 503])).toEqual({});
    expect([...problems]).toEqual(['SERVICE_UNAVAILABLE, retry after 2 s']);
    // Each fault was felt, and the app recovered after each without a restart.
    for (const fault of ['cut', 'stall']) expect(byPhase[fault]?.[503]).toBeGreaterThan(0);
    for (const fault of ['after cut', 'after stall']) {
      expect(byPhase[fault]?.[201]).toBeGreaterThan(0);
      expect(byPhase[fault]?.[200]).toBeGreaterThan(0);
    }
    const found = await server.db.task.count({ where: { id: { in: acknowledged } } });
    expect(found).toBe(acknowledged.length);
    const stored = await server.db.task.count();

    console.info(
      `database faults: ${tally.sent} requests, ${faults.length} faults (${faults.join(', ')}), ` +
        `statuses ${JSON.stringify(tally.statuses)}, by phase ${JSON.stringify(byPhase)}, ` +
        `slowest 503 ${Math.round(slowest503Ms)} ms; ` +
        `writes acknowledged ${acknowledged.length}, found ${found} ` +
        `(${stored - found} more stored whose 201 was lost to a fault)`,
    );
  }, 60_000);
});

describe('a query that times out inside a transaction', () => {
  const proxied = useProxiedTestDatabase();

  it('discards its connection instead of handing it, still in the transaction, to the next query', async () => {
    const { database, proxy } = proxied;
    const db = createDatabaseClient({
      url: proxy.url,
      poolSize: 1,
      queryTimeoutMs: 500,
    });
    const direct = createDatabaseClient({ url: database.url, poolSize: 1 });
    try {
      await expect(
        db.$transaction(async (tx) => {
          await tx.user.count();
          proxy.stall();
          return tx.user.count();
        }),
      ).rejects.toThrow();
      await proxy.restore();

      // The next write commits on its own: another connection sees it at once.
      await db.user.create({ data: { email: 'after-timeout@example.com', passwordHash: 'x' } });
      expect(await direct.user.findMany({ select: { email: true } })).toEqual([
        { email: 'after-timeout@example.com' },
      ]);
      expect(proxy.accepted).toBe(2);
    } finally {
      await db.$disconnect();
      await direct.$disconnect();
    }
  });
});
