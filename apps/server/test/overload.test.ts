/**
 * Overload: the server answers 503 with Retry-After instead of queueing work (and memory)
 * without bound, keeps answering /health, and serves again once the pressure is gone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  documentedRequester,
  signUpWith,
  startTestServer,
  spawnedTestEnv,
  type TestServer,
} from './harness.js';
import { probeSamples } from './process-probe.js';
import { eventually, mib, newTally, rssBytes, tallied, unexpectedStatuses } from './load.js';
import { spawnServer } from './spawn-server.js';
import { useProxiedTestDatabase } from './tcp-proxy.js';

describe('load shedding', () => {
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('answers everything but /health 503 with Retry-After while over a threshold, on both doors', async () => {
    // Any heap is over 1 MiB: from the first sample (a second after start) on, all is shed.
    const shedding = await startTestServer({ LOAD_SHED_MAX_HEAP_USED_MB: '1' });
    server = shedding;
    const request = documentedRequester(shedding.baseUrl);
    expect(await eventually(async () => (await request('/tasks')).status === 503, 10_000)).toBe(
      true,
    );

    const shed = await request('/tasks');
    expect(shed.headers.get('retry-after')).toBe('2');
    expect(await shed.json()).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      detail: 'The server is overloaded (heapUsedBytes)',
    });
    // Alive (a restart would not help), but not ready for more traffic.
    expect((await request('/health')).status).toBe(200);
    expect((await request('/ready')).status).toBe(503);
    await expect(shedding.trpc().tasks.list.query({})).rejects.toMatchObject({
      data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503 },
    });
    await server.close();
    server = undefined;
  });

  it('sheds while the event loop lags, and serves again once it has caught up', async () => {
    server = await startTestServer({ LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '10' });
    const request = documentedRequester(server.baseUrl);
    // The app runs in this process: blocking it for 2 s is a lag no sample can miss.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2_000);
    expect(await eventually(async () => (await request('/tasks')).status === 503, 5_000)).toBe(
      true,
    );
    // Unauthenticated, so 401 once served again.
    expect(await eventually(async () => (await request('/tasks')).status === 401, 15_000)).toBe(
      true,
    );
  });
});

describe('a flood while every database connection is stuck', () => {
  const poolSize = 2;
  const maxWaiting = 4;
  const waves = 10;
  const perWave = 200;
  const proxied = useProxiedTestDatabase();

  it('is answered 503 at once beyond DB_POOL_MAX_WAITING, with bounded memory, then served again', async () => {
    const { proxy, database } = proxied;
    const server = await spawnServer(
      {
        ...spawnedTestEnv,
        LOG_LEVEL: 'error',
        DATABASE_URL: proxy.url,
        DB_PREPARED_STATEMENTS: database.serverEnv.DB_PREPARED_STATEMENTS,
        DB_POOL_SIZE: String(poolSize),
        DB_POOL_MAX_WAITING: String(maxWaiting),
        DB_CONNECT_TIMEOUT_MS: '1000',
        DB_STATEMENT_TIMEOUT_MS: '500',
        DB_QUERY_TIMEOUT_MS: '1000',
        RATE_LIMIT_MAX: '1000000',
        PROBE_INTERVAL_MS: '250',
      },
      // The probe samples the V8 heap from inside: RSS alone cannot tell a leak from an
      // allocator that keeps the pages it freed (Node 24 steps RSS up where Node 20 does not).
      { args: ['--import', 'tsx', '--import', './test/process-probe.ts', 'src/server.ts'] },
    );
    try {
      const request = documentedRequester(server.baseUrl);
      const { token } = await signUpWith(request);
      const pid = server.pid ?? 0;

      proxy.stall();
      const tally = newTally();
      const flood = () =>
        Promise.all(
          Array.from({ length: perWave }, () =>
            tallied(tally, async () => {
              const response = await request('/tasks', {
                token,
                signal: AbortSignal.timeout(10_000),
              });
              expect(response.headers.get('retry-after')).toBe('2');
              return response;
            }),
          ),
        );
      // The first wave warms the server up; memory is compared from there on.
      await flood();
      const rssWarm = await rssBytes(pid);
      const heapFloors: number[] = [];
      for (let wave = 1; wave < waves; wave++) {
        const before = probeSamples(server.output()).length;
        await flood();
        await new Promise((resolve) => setTimeout(resolve, 300));
        const during = probeSamples(server.output()).slice(before);
        heapFloors.push(Math.min(...during.map(({ heapUsedBytes }) => heapUsedBytes)));
      }
      const rssEnd = await rssBytes(pid);
      await proxy.restore();
      expect(await eventually(async () => (await request('/tasks', { token })).ok, 10_000)).toBe(
        true,
      );

      // Every request was answered, and with 503 only: nothing hung, nothing crashed.
      expect(tally.errors).toEqual({});
      expect(unexpectedStatuses(tally, [503])).toEqual({});
      // At most poolSize + maxWaiting requests of a wave waited for the database; the rest were
      // refused on arrival (the log names the cause of each 503).
      const failures = server
        .output()
        .split('\n')
        .filter((line) => line.includes('"msg":"procedure failed"'));
      const shed = failures.filter((line) => line.includes('"type":"DatabaseBusyError"')).length;
      expect(failures).toHaveLength(waves * perWave);
      expect(shed).toBeGreaterThanOrEqual(waves * (perWave - poolSize - maxWaiting));
      // Memory does not grow with the number of requests: what is left of the heap after its
      // collections (its floor within a wave) stays where the early waves left it. RSS, which
      // steps up to a plateau as the allocator keeps freed pages, only gets a coarse bound.
      const half = Math.floor(heapFloors.length / 2);
      const earlyFloor = Math.min(...heapFloors.slice(0, half));
      const lateFloor = Math.min(...heapFloors.slice(half));
      expect(lateFloor - earlyFloor).toBeLessThan(32 * 1024 * 1024);
      expect(rssEnd - rssWarm).toBeLessThan(128 * 1024 * 1024);

      console.info(
        `overload: ${tally.sent} requests with the database stalled (pool ${poolSize}, ` +
          `${maxWaiting} may wait): ${shed} shed at once, ${failures.length - shed} timed out, ` +
          `all 503; RSS after the first wave ${mib(rssWarm)} MiB, after the last ${mib(rssEnd)} MiB; ` +
          `heap floor ${mib(earlyFloor)} MiB early, ${mib(lateFloor)} MiB late`,
      );
    } finally {
      await proxy.restore();
      expect(await server.stop()).toBe(0);
    }
  }, 60_000);
});
