/**
 * `pnpm bench:webhooks`: how fast committed changes reach a webhook receiver. Runs the production
 * bundle (built here first) with its workers in the API process, on a fresh database on
 * DATABASE_URL's server (or an embedded PGlite without it), and a receiver on 127.0.0.1 in this
 * process that answers 204 at once (WEBHOOK_ALLOW_PRIVATE_URLS=true).
 *
 *  1. Commit to delivery: BENCH_LATENCY_WRITES (200) sequential POST /tasks; a latency is from
 *     the POST's response arriving (the commit) to the receiver getting that task's delivery. The
 *     next write waits for the delivery.
 *  2. Throughput: BENCH_BURST (2000) POST /tasks from 16 concurrent clients, as fast as the API
 *     takes them; deliveries per second from the first write to the last delivery, and the
 *     backlog's drain (deliveries after the last write), for each WORKER_CONCURRENCY of
 *     BENCH_WORKER_CONCURRENCY (4,16).
 *
 * Numbers, not assertions: the API, its workers, PostgreSQL and the receiver share two cores.
 * Printed and written to bench/results/webhooks.md.
 *
 * Env: DATABASE_URL, BENCH_LATENCY_WRITES, BENCH_BURST, BENCH_WORKER_CONCURRENCY,
 * BENCH_SKIP_BUILD=1 (run apps/server/dist as it is).
 */
import {
  startWebhookReceiver,
  type WebhookReceiver,
} from '../apps/server/test/webhook-receiver.js';
import { applyMigrations } from '../packages/db/src/index.js';
import {
  buildProduction,
  createDatabase,
  databaseEnv,
  login,
  seedUser,
  startApi,
  writeResult,
  type Server,
} from './harness.js';

const env = process.env;
const latencyWrites = Number(env.BENCH_LATENCY_WRITES ?? 200);
const burst = Number(env.BENCH_BURST ?? 2000);
const workerConcurrencies = (env.BENCH_WORKER_CONCURRENCY ?? '4,16')
  .split(',')
  .map((value) => Number(value.trim()));
const burstClients = 16;

/** When the first delivery of task `taskId` arrived. */
async function arrivalOf(receiver: WebhookReceiver, taskId: string): Promise<number> {
  const [delivery] = await receiver.waitFor(
    1,
    (received) => received.json.taskId === taskId,
    30_000,
  );
  return delivery?.receivedAt ?? Number.NaN;
}

async function post(server: Server, token: string, path: string, body: object) {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { id: string };
  if (response.status !== 201) throw new Error(`${path} answered ${response.status}`);
  return answer;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const ms = (value: number) => value.toFixed(1);

async function run(): Promise<void> {
  if (env.BENCH_SKIP_BUILD !== '1') buildProduction();
  const database = await createDatabase();
  const lines: string[] = [
    '# Webhook delivery: commit to delivery, and throughput',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${database.description}, Node ${process.version},`,
    'production bundle with its workers in the API process (JOBS_IN_API=true), receiver on',
    '127.0.0.1 in the benchmark process answering 204; all on one 2-core machine.',
    '',
  ];
  try {
    await applyMigrations({ url: database.url });
    const user = await seedUser(database.url, 'webhooks@bench.example', 0);
    const receiver = await startWebhookReceiver(() => 204);
    for (const [index, concurrency] of workerConcurrencies.entries()) {
      const api = await startApi(`api-workers-${concurrency}`, {
        ...databaseEnv(database),
        JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_MAX: '1000000',
        WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
        WORKER_CONCURRENCY: String(concurrency),
        TASK_QUOTA_PER_USER: '1000000',
      });
      try {
        const token = await login(api, user.email);
        if (index === 0) {
          await post(api, token, '/webhooks', { url: receiver.url });
          const latencies: number[] = [];
          for (let write = 0; write < latencyWrites; write++) {
            const { id } = await post(api, token, '/tasks', { title: `Latency ${write}` });
            const committed = performance.now();
            latencies.push((await arrivalOf(receiver, id)) - committed);
          }
          latencies.sort((a, b) => a - b);
          lines.push(
            `## Commit to delivery (${latencyWrites} sequential writes, WORKER_CONCURRENCY=${concurrency})`,
            '',
            '| p50 ms | p95 ms | p99 ms | max ms |',
            '| -----: | -----: | -----: | -----: |',
            `| ${ms(quantile(latencies, 0.5))} | ${ms(quantile(latencies, 0.95))} | ${ms(quantile(latencies, 0.99))} | ${ms(latencies.at(-1) ?? NaN)} |`,
            '',
            `## Throughput (${burst} writes from ${burstClients} clients)`,
            '',
            '| WORKER_CONCURRENCY | writes/s | deliveries/s (first write to last delivery) | drain after the last write, s |',
            '| -----------------: | -------: | ------------------------------------------: | ----------------------------: |',
          );
        }
        const started = performance.now();
        let next = 0;
        const ids: string[] = [];
        await Promise.all(
          Array.from({ length: burstClients }, async () => {
            while (next < burst) {
              next++;
              ids.push((await post(api, token, '/tasks', { title: 'Burst' })).id);
            }
          }),
        );
        const written = performance.now();
        const burstIds = new Set(ids);
        const arrivals = await receiver.waitFor(
          ids.length,
          (received) => burstIds.has(String(received.json.taskId)),
          120_000,
        );
        const lastDelivery = Math.max(...arrivals.map((received) => received.receivedAt));
        const seconds = (lastDelivery - started) / 1000;
        lines.push(
          `| ${concurrency} | ${(ids.length / ((written - started) / 1000)).toFixed(0)} | ${(ids.length / seconds).toFixed(0)} | ${((lastDelivery - written) / 1000).toFixed(2)} |`,
        );
      } finally {
        await api.stop();
      }
    }
    await receiver.close();
  } finally {
    await database.drop();
  }
  const report = lines.join('\n');
  console.log(report);
  await writeResult('webhooks.md', report);
}

await run();
