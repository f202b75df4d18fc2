/**
 * `pnpm bench`: the API against a hand-written baseline (bench/baseline/server.ts), both on one
 * fresh, migrated and seeded database: on DATABASE_URL's server when it is set, else on an
 * embedded PGlite started here (what `pnpm dev` uses without DATABASE_URL). Every workload runs
 * against API then baseline, interleaved A B A B, and the table prints the median of the rounds
 * next to the ratio: the machine is shared and noisy, so only ratios measured in one run are
 * comparable. CPU time per request (from /proc) is the figure least disturbed by that noise.
 * Written to bench/results/latest.md, with every target of the performance issue as met or not.
 *
 * The API runs as production runs it: the esbuild bundle (`pnpm build`, done here first) under
 * `node --enable-source-maps`, NODE_ENV=production.
 *
 * Env: DATABASE_URL (server to create the database on), BENCH_DURATION (seconds per run, 5),
 * BENCH_ROUNDS (3), BENCH_CONNECTIONS (32), BENCH_ONLY (comma-separated workload ids),
 * BENCH_BIG_TASKS (tasks of W7's user, 1 000 000), BENCH_PROFILE=1 (each server writes a V8 CPU
 * profile to bench/results/profiles/<server>/), BENCH_TRACING=1 (the API traces every request
 * and exports over OTLP/HTTP to a receiver here that reads and drops the spans, as it would to a
 * collector beside it).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import autocannon from 'autocannon';
import { encodeCursor } from '../packages/api/src/services/task-service.js';
import { applyMigrations } from '../packages/db/src/index.js';
import { withClient } from '../packages/db/src/with-client.js';
import {
  buildProduction,
  createDatabase,
  databaseEnv,
  login,
  password,
  repoRoot,
  resultsPath,
  seedUser,
  startApi,
  startServer,
  writeResult,
  type SeededUser,
  type Server,
} from './harness.js';

const env = process.env;
const durationSeconds = Number(env.BENCH_DURATION ?? 5);
const rounds = Number(env.BENCH_ROUNDS ?? 3);
const connections = Number(env.BENCH_CONNECTIONS ?? 32);
const only = env.BENCH_ONLY?.split(',').map((id) => id.trim());
const profile = env.BENCH_PROFILE === '1';
const tracing = env.BENCH_TRACING === '1';
const jwtSecret = randomBytes(32).toString('base64url');
const taskCount = 10_000;
const bigTaskCount = Number(env.BENCH_BIG_TASKS ?? 1_000_000);
const pageSize = 50;
/** W7 reads this page of the big user's list. */
const deepPage = 2_000;

// ---------------------------------------------------------------------------------------------
// Database

/** The cursor that asks for page `page` of `email`'s default listing (newest first). */
async function cursorOfPage(url: string, email: string, page: number): Promise<string> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ id: string; createdAt: Date }>(
      `SELECT t.id, t."createdAt" FROM "Task" t JOIN "User" u ON u.id = t."ownerId"
       WHERE u.email = $1 ORDER BY t."createdAt" DESC, t.id DESC OFFSET $2 LIMIT 1`,
      [email, (page - 1) * pageSize - 1],
    );
    const last = rows[0];
    if (!last) throw new Error(`${email} has fewer than ${page} pages`);
    return encodeCursor('createdAt', 'desc', last);
  });
}

// ---------------------------------------------------------------------------------------------
// Servers

/** With BENCH_PROFILE=1, node writes the server's CPU profile when it exits. */
const profilerFlags = (server: string) =>
  profile ? ['--cpu-prof', `--cpu-prof-dir=${resultsPath('profiles', server)}`] : [];

// ---------------------------------------------------------------------------------------------
// Workloads: add one by appending to `defineWorkloads`.

interface Target {
  server: Server;
  /** Access token of the 10 000-task user. */
  token: string;
  /** Access token of W7's big user. */
  bigUserToken: string;
}

interface Workload {
  id: string;
  label: string;
  /** Defaults to BENCH_CONNECTIONS. */
  connections?: number;
  /** Served by the API only (tRPC): the row has no baseline figures. */
  apiOnly?: boolean;
  /**
   * Another load running at the same time, whose latency the row does not report (W8 measures
   * `/health` while logins run).
   */
  background?: (target: Target) => autocannon.Options;
  /** The autocannon options for one server (url, method, headers, body or requests). */
  options(target: Target): autocannon.Options;
}

const pick = <T>(items: T[]): T => {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('nothing to pick from');
  return item;
};

/** A tRPC GET of `tasks.get` for each id, batched into one request when there are several. */
function trpcTaskReads(ids: string[]): string {
  const inputs = ids.map((id) => ({ json: { id } }));
  if (inputs.length === 1) {
    return `/trpc/tasks.get?input=${encodeURIComponent(JSON.stringify(inputs[0]))}`;
  }
  const batch = Object.fromEntries(inputs.map((input, index) => [index, input]));
  return `/trpc/${ids.map(() => 'tasks.get').join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify(batch))}`;
}

const trpcBatchSize = 10;

function defineWorkloads(user: SeededUser, bigUser: SeededUser, deepCursor: string): Workload[] {
  const json = { 'content-type': 'application/json' };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const loginLoad: Workload['options'] = ({ server }) => ({
    url: `${server.baseUrl}/auth/login`,
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email: user.email, password }),
  });
  // bcrypt (cost 10) runs on libuv's 4 threads: more connections only queue.
  const loginConnections = 8;
  return [
    {
      id: 'W1',
      label: 'GET /tasks/{id}',
      options: ({ server, token }) => ({
        url: server.baseUrl,
        headers: bearer(token),
        requests: [
          { setupRequest: (request) => ({ ...request, path: `/tasks/${pick(user.taskIds)}` }) },
        ],
      }),
    },
    {
      id: 'W2',
      label: `GET /tasks?limit=${pageSize}`,
      options: ({ server, token }) => ({
        url: `${server.baseUrl}/tasks?limit=${pageSize}`,
        headers: bearer(token),
      }),
    },
    {
      id: 'W3',
      label: 'POST /tasks',
      options: ({ server, token }) => ({
        url: `${server.baseUrl}/tasks`,
        method: 'POST',
        headers: { ...json, ...bearer(token) },
        body: JSON.stringify({ title: 'Benchmark task', description: 'Created by pnpm bench' }),
      }),
    },
    {
      id: 'W4',
      label: 'PATCH /tasks/{id}',
      options: ({ server, token }) => ({
        url: server.baseUrl,
        method: 'PATCH',
        headers: { ...json, ...bearer(token) },
        requests: [
          {
            setupRequest: (request) => ({
              ...request,
              path: `/tasks/${pick(user.taskIds)}`,
              body: JSON.stringify({ status: pick(['open', 'in_progress', 'done']) }),
            }),
          },
        ],
      }),
    },
    { id: 'W5', label: 'POST /auth/login', connections: loginConnections, options: loginLoad },
    {
      id: 'W6',
      label: 'GET /trpc/tasks.get',
      apiOnly: true,
      options: ({ server, token }) => ({
        url: server.baseUrl,
        headers: bearer(token),
        requests: [
          {
            setupRequest: (request) => ({ ...request, path: trpcTaskReads([pick(user.taskIds)]) }),
          },
        ],
      }),
    },
    {
      id: 'W6b',
      label: `GET /trpc/tasks.get x${trpcBatchSize} batched`,
      apiOnly: true,
      options: ({ server, token }) => ({
        url: server.baseUrl,
        headers: bearer(token),
        requests: [
          {
            setupRequest: (request) => ({
              ...request,
              path: trpcTaskReads(Array.from({ length: trpcBatchSize }, () => pick(user.taskIds))),
            }),
          },
        ],
      }),
    },
    {
      id: 'W7',
      label: `GET /tasks page ${deepPage} of ${bigTaskCount.toLocaleString('en')}`,
      options: ({ server, bigUserToken }) => ({
        url: `${server.baseUrl}/tasks?limit=${pageSize}&cursor=${deepCursor}`,
        headers: bearer(bigUserToken),
      }),
    },
    {
      id: 'W8',
      label: 'GET /health while W5 runs',
      connections: 1,
      background: (target) => ({ ...loginLoad(target), connections: loginConnections }),
      options: ({ server }) => ({ url: `${server.baseUrl}/health`, overallRate: 50 }),
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Run {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  failures: number;
  /** Server CPU time per request answered, in microseconds. */
  cpuMicrosPerRequest: number;
}

async function measure(workload: Workload, target: Target, seconds: number): Promise<Run> {
  const cpuBefore = await target.server.cpuMicros();
  const background =
    workload.background && autocannon({ ...workload.background(target), duration: seconds + 1 });
  const result = await autocannon({
    ...workload.options(target),
    connections: workload.connections ?? connections,
    duration: seconds,
  });
  const backgroundResult = await background;
  const cpu = (await target.server.cpuMicros()) - cpuBefore;
  const answered = result.requests.total + (backgroundResult?.requests.total ?? 0);
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures:
      result.non2xx +
      result.errors +
      result.timeouts +
      (backgroundResult ? backgroundResult.non2xx + backgroundResult.errors : 0),
    cpuMicrosPerRequest: answered > 0 ? cpu / answered : NaN,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] ?? NaN)
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
};

function summarize(runs: Run[]): Run {
  return {
    requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
    failures: runs.reduce((sum, run) => sum + run.failures, 0),
    cpuMicrosPerRequest: median(runs.map((run) => run.cpuMicrosPerRequest)),
  };
}

interface Row {
  workload: Workload;
  api: Run;
  baseline: Run | undefined;
}

// ---------------------------------------------------------------------------------------------
// Report

function table(rows: Row[]): string {
  const ms = (value: number) => value.toFixed(1);
  const none = '-';
  return [
    '| workload | API req/s | baseline req/s | ratio | API p50 / p99 (ms) | baseline p50 / p99 (ms) | CPU us/request (API / baseline) | non-2xx + errors (API / baseline) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows
      .map(({ workload, api, baseline }) =>
        [
          `${workload.id} \`${workload.label}\``,
          api.requestsPerSecond.toFixed(0),
          baseline ? baseline.requestsPerSecond.toFixed(0) : none,
          baseline ? `${(api.requestsPerSecond / baseline.requestsPerSecond).toFixed(2)}x` : none,
          `${ms(api.p50)} / ${ms(api.p99)}`,
          baseline ? `${ms(baseline.p50)} / ${ms(baseline.p99)}` : none,
          `${api.cpuMicrosPerRequest.toFixed(0)} / ${baseline ? baseline.cpuMicrosPerRequest.toFixed(0) : none}`,
          `${api.failures} / ${baseline ? baseline.failures : none}`,
        ].join(' | '),
      )
      .map((line) => `| ${line} |`),
  ].join('\n');
}

/** Each target of the performance issue, as met or not, from this run's figures. */
function targets(rows: Row[]): string[] {
  const row = (id: string) => rows.find((candidate) => candidate.workload.id === id);
  const verdict = (met: boolean) => (met ? 'met' : '**not met**');
  const lines: string[] = [];
  for (const id of ['W1', 'W2', 'W3', 'W4']) {
    const found = row(id);
    if (!found?.baseline) continue;
    const ratio = found.api.requestsPerSecond / found.baseline.requestsPerSecond;
    const p99Ratio = found.api.p99 / found.baseline.p99;
    lines.push(
      `${id}: ${ratio.toFixed(2)}x the baseline's requests/s (target >= 0.6x: ${verdict(ratio >= 0.6)}); p99 ${p99Ratio.toFixed(1)}x the baseline's (target < 2x: ${verdict(p99Ratio < 2)})`,
    );
  }
  const single = row('W1');
  const batched = row('W6b');
  if (single && batched) {
    const tasksPerSecond = batched.api.requestsPerSecond * trpcBatchSize;
    lines.push(
      `W6: batched tRPC reads ${tasksPerSecond.toFixed(0)} tasks/s vs ${single.api.requestsPerSecond.toFixed(0)} with single REST calls (target: batched beats single: ${verdict(tasksPerSecond > single.api.requestsPerSecond)})`,
    );
  }
  const firstPage = row('W2');
  const deep = row('W7');
  if (firstPage && deep) {
    const slowdown = firstPage.api.requestsPerSecond / deep.api.requestsPerSecond;
    lines.push(
      `W7: page ${deepPage} costs ${slowdown.toFixed(2)}x the first page (target within 1.5x: ${verdict(slowdown <= 1.5)})`,
    );
  }
  const health = row('W8');
  if (health) {
    lines.push(
      `W8: /health p99 ${health.api.p99.toFixed(1)} ms while logins run (target < 20 ms: ${verdict(health.api.p99 < 20)})`,
    );
  }
  const failures = rows.reduce(
    (sum, { api, baseline }) => sum + api.failures + (baseline?.failures ?? 0),
    0,
  );
  lines.push(
    `Non-2xx responses and errors, all workloads: ${failures} (target 0: ${verdict(failures === 0)})`,
  );
  return lines.map((line) => `- ${line}`);
}

// ---------------------------------------------------------------------------------------------

/** Where the API exports its spans under BENCH_TRACING: read, answered, dropped. */
async function startSpanSink() {
  const sink = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.end());
  });
  sink.listen(0, '127.0.0.1');
  await once(sink, 'listening');
  const address = sink.address();
  if (address === null || typeof address === 'string') throw new Error('no sink address');
  return { endpoint: `http://127.0.0.1:${address.port}`, close: () => sink.close() };
}

async function main() {
  const started = Date.now();
  const database = await createDatabase();
  const servers: Server[] = [];
  const spanSink = tracing ? await startSpanSink() : undefined;
  try {
    await applyMigrations({ url: database.url });
    const user = await seedUser(database.url, 'bench@example.com', taskCount);
    const needsBigUser = !only || only.includes('W7');
    const bigUser = needsBigUser
      ? await seedUser(database.url, 'big@example.com', bigTaskCount)
      : user;
    const deepCursor = needsBigUser
      ? await cursorOfPage(database.url, bigUser.email, deepPage)
      : '';
    console.error(
      `seeded ${taskCount} + ${needsBigUser ? bigTaskCount : 0} tasks on ${database.description}`,
    );

    const shared = {
      ...databaseEnv(database),
      JWT_SECRET: jwtSecret,
      JWT_ISSUER: 'tasks-api',
      JWT_AUDIENCE: 'tasks-api',
    };
    buildProduction();
    const api = await startApi(
      'API',
      {
        ...shared,
        LOG_LEVEL: 'warn',
        BCRYPT_COST: '10',
        RATE_LIMIT_MAX: '1000000',
        AUTH_RATE_LIMIT_MAX_PER_IP: '1000000',
        AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '1000000',
        // W3 keeps creating tasks for a user who already has 10 000; W7's has 1 000 000.
        TASK_QUOTA_PER_USER: '10000000',
        // W5 signs the measured user in hundreds of times: the cap would end the session whose
        // token the later workloads use.
        MAX_SESSIONS_PER_USER: '10000',
        ...(spanSink && { OTEL_EXPORTER_OTLP_ENDPOINT: spanSink.endpoint }),
      },
      // As deployed: the module that starts tracing when an OTLP endpoint is set.
      [...profilerFlags('api'), '--import', './dist/tracing.js'],
    );
    servers.push(api);
    const baseline = await startServer('baseline', {
      cwd: repoRoot,
      args: [...profilerFlags('baseline'), '--import', 'tsx', 'bench/baseline/server.ts'],
      readyPath: '/health',
      env: { ...shared, NODE_ENV: 'production' },
    });
    servers.push(baseline);
    const targetOf = async (server: Server): Promise<Target> => ({
      server,
      token: await login(server, user.email),
      bigUserToken: await login(server, bigUser.email),
    });
    const apiTarget = await targetOf(api);
    const baselineTarget = await targetOf(baseline);

    const rows: Row[] = [];
    for (const workload of defineWorkloads(user, bigUser, deepCursor)) {
      if (only && !only.includes(workload.id)) continue;
      const sides = workload.apiOnly ? [apiTarget] : [apiTarget, baselineTarget];
      // Warm up (JIT, statement caches, pools) before anything counts.
      for (const target of sides) await measure(workload, target, 1);
      const runs = sides.map((): Run[] => []);
      for (let round = 0; round < rounds; round++) {
        for (const [index, target] of sides.entries()) {
          runs[index]?.push(await measure(workload, target, durationSeconds));
        }
      }
      const [apiRuns = [], baselineRuns] = runs;
      const row = {
        workload,
        api: summarize(apiRuns),
        baseline: baselineRuns && summarize(baselineRuns),
      };
      rows.push(row);
      console.error(table([row]).split('\n').at(-1));
    }

    const [apiRss, baselineRss] = await Promise.all([api.peakRssMiB(), baseline.peakRssMiB()]);
    const report = [
      `## Benchmark: API vs hand-written baseline (${new Date().toISOString()})`,
      '',
      `${database.description}, pool of ${database.poolSize}; API tracing ${tracing ? 'on, exporting every span to a local OTLP receiver' : 'off'}; one user with ${taskCount.toLocaleString('en')} tasks (W7: one with ${bigTaskCount.toLocaleString('en')}); ${connections} connections (W5: 8; W8: 50 /health requests/s beside W5), ${rounds} rounds of ${durationSeconds} s per server, interleaved A B A B; medians. Ratio = API / baseline requests per second.`,
      '',
      table(rows),
      '',
      `Peak RSS (VmHWM): API ${apiRss.toFixed(0)} MiB, baseline ${baselineRss.toFixed(0)} MiB. Total ${((Date.now() - started) / 1000).toFixed(0)} s on node ${process.version}.`,
      '',
      'Targets:',
      '',
      ...targets(rows),
    ].join('\n');
    console.log(report);
    await writeResult('latest.md', report);
  } finally {
    for (const server of servers) await server.stop();
    spanSink?.close();
    await database.drop();
  }
}

await main();
