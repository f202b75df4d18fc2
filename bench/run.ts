/**
 * `pnpm bench`: the API against a hand-written baseline (bench/baseline/server.ts), both on a
 * fresh, migrated and seeded database of their own on DATABASE_URL's server (default: the local
 * PostgreSQL). Every workload runs against API then baseline, interleaved A B A B, and the table
 * prints the median of the rounds next to the ratio: the machine is shared and noisy, so only
 * ratios measured in one run are comparable. Written to bench/results/latest.md.
 *
 * Env: DATABASE_URL (server to create the database on), BENCH_DURATION (seconds per run, 5),
 * BENCH_ROUNDS (3), BENCH_CONNECTIONS (32), BENCH_ONLY (comma-separated workload ids).
 */
import { randomBytes } from 'node:crypto';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { spawnServer } from '../apps/server/test/spawn-server.js';
import { createPasswordHasher } from '../packages/api/src/security/passwords.js';
import { applyMigrations } from '../packages/db/src/index.js';
import { withClient } from '../packages/db/src/with-client.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = path.join(repoRoot, 'bench', 'results');
const env = process.env;
const adminUrl = env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const durationSeconds = Number(env.BENCH_DURATION ?? 5);
const rounds = Number(env.BENCH_ROUNDS ?? 3);
const connections = Number(env.BENCH_CONNECTIONS ?? 32);
const only = env.BENCH_ONLY?.split(',').map((id) => id.trim());
const email = 'bench@example.com';
const password = 'correct horse battery';
const jwtSecret = randomBytes(32).toString('base64url');
const taskCount = 10_000;

// ---------------------------------------------------------------------------------------------
// Database

async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tasks_bench_${randomBytes(4).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withClient(adminUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
      ).then(() => undefined),
  };
}

interface Seeded {
  userId: string;
  taskIds: string[];
}

/** One user owning `count` tasks, one second apart, statuses in turn. */
async function seed(url: string, count: number): Promise<Seeded> {
  // Hashed exactly as registration hashes it, so both servers accept the same login.
  const passwordHash = await createPasswordHasher(10).hash(password);
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO "User" (id, email, "passwordHash", "updatedAt")
       VALUES (gen_random_uuid(), $1, $2, now()) RETURNING id`,
      [email, passwordHash],
    );
    const userId = rows[0]?.id;
    if (!userId) throw new Error('seeding the user returned no row');
    await client.query(
      `INSERT INTO "Task" (id, "ownerId", title, description, status, "createdAt", "updatedAt")
       SELECT gen_random_uuid(), $1, 'Task ' || i, CASE WHEN i % 2 = 0 THEN 'Details of ' || i END,
              (ARRAY['open', 'in_progress', 'done']::"TaskStatus"[])[1 + i % 3],
              now() - make_interval(secs => i), now() - make_interval(secs => i)
       FROM generate_series(1, $2::int) AS i`,
      [userId, count],
    );
    await client.query('ANALYZE');
    const ids = await client.query<{ id: string }>(
      'SELECT id FROM "Task" WHERE "ownerId" = $1 ORDER BY random() LIMIT 1000',
      [userId],
    );
    return { userId, taskIds: ids.rows.map((row) => row.id) };
  });
}

// ---------------------------------------------------------------------------------------------
// Servers

interface Server {
  name: string;
  baseUrl: string;
  /** Peak resident set size so far (VmHWM), in MiB. */
  peakRssMiB(): Promise<number>;
  stop(): Promise<void>;
}

/** A server process on a free port, ready; its output is printed when it stops. */
async function startServer(
  name: string,
  options: { cwd: string; args: string[]; env: Record<string, string>; readyPath: string },
): Promise<Server> {
  const { env: serverEnv, ...spawnOptions } = options;
  const server = await spawnServer(serverEnv, spawnOptions);
  return {
    name,
    baseUrl: server.baseUrl,
    async peakRssMiB() {
      const status = await readFile(`/proc/${String(server.pid)}/status`, 'utf8').catch(() => '');
      const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
      return kib ? Number(kib) / 1024 : NaN;
    },
    async stop() {
      await server.stop();
      const output = server.output().trim();
      if (output) console.error(`--- ${name} output ---\n${output}`);
    },
  };
}

async function login(server: Server): Promise<string> {
  const response = await fetch(`${server.baseUrl}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await response.json()) as { accessToken?: string };
  if (response.status !== 200 || !body.accessToken) {
    throw new Error(`${server.name}: login answered ${response.status}`);
  }
  return body.accessToken;
}

// ---------------------------------------------------------------------------------------------
// Workloads: add one by appending to `workloads`.

interface Target {
  server: Server;
  token: string;
}

interface Workload {
  id: string;
  label: string;
  /** Defaults to BENCH_CONNECTIONS. */
  connections?: number;
  /** The autocannon options for one server (url, method, headers, body or requests). */
  options(target: Target): autocannon.Options;
}

const pick = <T>(items: T[]): T => {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('nothing to pick from');
  return item;
};

function defineWorkloads(seeded: Seeded): Workload[] {
  const json = { 'content-type': 'application/json' };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  return [
    {
      id: 'W1',
      label: 'GET /tasks/{id}',
      options: ({ server, token }) => ({
        url: server.baseUrl,
        headers: bearer(token),
        requests: [
          { setupRequest: (request) => ({ ...request, path: `/tasks/${pick(seeded.taskIds)}` }) },
        ],
      }),
    },
    {
      id: 'W2',
      label: 'GET /tasks?limit=50',
      options: ({ server, token }) => ({
        url: `${server.baseUrl}/tasks?limit=50`,
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
              path: `/tasks/${pick(seeded.taskIds)}`,
              body: JSON.stringify({ status: pick(['open', 'in_progress', 'done']) }),
            }),
          },
        ],
      }),
    },
    {
      id: 'W5',
      label: 'POST /auth/login',
      // bcrypt (cost 10) runs on libuv's 4 threads: more connections only queue.
      connections: 8,
      options: ({ server }) => ({
        url: `${server.baseUrl}/auth/login`,
        method: 'POST',
        headers: json,
        body: JSON.stringify({ email, password }),
      }),
    },
  ];
}

interface Run {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  failures: number;
}

async function measure(workload: Workload, target: Target, seconds: number): Promise<Run> {
  const result = await autocannon({
    ...workload.options(target),
    connections: workload.connections ?? connections,
    duration: seconds,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] ?? NaN)
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
};

interface Row {
  workload: Workload;
  api: Run;
  baseline: Run;
}

function summarize(runs: Run[]): Run {
  return {
    requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
    failures: runs.reduce((sum, run) => sum + run.failures, 0),
  };
}

function table(rows: Row[]): string {
  const ms = (value: number) => value.toFixed(1);
  return [
    '| workload | API req/s | baseline req/s | ratio | API p50 / p99 (ms) | baseline p50 / p99 (ms) | non-2xx + errors (API / baseline) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows
      .map(({ workload, api, baseline }) =>
        [
          `${workload.id} \`${workload.label}\``,
          api.requestsPerSecond.toFixed(0),
          baseline.requestsPerSecond.toFixed(0),
          `${(api.requestsPerSecond / baseline.requestsPerSecond).toFixed(2)}x`,
          `${ms(api.p50)} / ${ms(api.p99)}`,
          `${ms(baseline.p50)} / ${ms(baseline.p99)}`,
          `${api.failures} / ${baseline.failures}`,
        ].join(' | '),
      )
      .map((line) => `| ${line} |`),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const database = await createDatabase();
  const servers: Server[] = [];
  try {
    await applyMigrations({ url: database.url });
    const seeded = await seed(database.url, taskCount);
    console.error(`seeded ${taskCount} tasks in ${database.url}`);

    const shared = {
      DATABASE_URL: database.url,
      JWT_SECRET: jwtSecret,
      JWT_ISSUER: 'tasks-api',
      JWT_AUDIENCE: 'tasks-api',
    };
    const api = await startServer('API', {
      cwd: path.join(repoRoot, 'apps', 'server'),
      args: ['--import', 'tsx', 'src/server.ts'],
      readyPath: '/ready',
      env: {
        ...shared,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        BCRYPT_COST: '10',
        RATE_LIMIT_MAX: '1000000',
        AUTH_RATE_LIMIT_MAX_PER_IP: '1000000',
        AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '1000000',
      },
    });
    servers.push(api);
    const baseline = await startServer('baseline', {
      cwd: repoRoot,
      args: ['--import', 'tsx', 'bench/baseline/server.ts'],
      readyPath: '/health',
      env: { ...shared, NODE_ENV: 'production' },
    });
    servers.push(baseline);
    const targets = [
      { server: api, token: await login(api) },
      { server: baseline, token: await login(baseline) },
    ] as const;

    const rows: Row[] = [];
    for (const workload of defineWorkloads(seeded)) {
      if (only && !only.includes(workload.id)) continue;
      // Warm up both (JIT, statement caches, pools) before anything counts.
      for (const target of targets) await measure(workload, target, 1);
      const apiRuns: Run[] = [];
      const baselineRuns: Run[] = [];
      for (let round = 0; round < rounds; round++) {
        apiRuns.push(await measure(workload, targets[0], durationSeconds));
        baselineRuns.push(await measure(workload, targets[1], durationSeconds));
      }
      const row = { workload, api: summarize(apiRuns), baseline: summarize(baselineRuns) };
      rows.push(row);
      console.error(table([row]).split('\n').at(-1));
    }

    const [apiRss, baselineRss] = await Promise.all([api.peakRssMiB(), baseline.peakRssMiB()]);
    const report = [
      `## Benchmark: API vs hand-written baseline (${new Date().toISOString()})`,
      '',
      `One user with ${taskCount} tasks; ${connections} connections (W5: 8), ${rounds} rounds of ${durationSeconds} s per server, interleaved A B A B; medians. Ratio = API / baseline requests per second.`,
      '',
      table(rows),
      '',
      `Peak RSS (VmHWM): API ${apiRss.toFixed(0)} MiB, baseline ${baselineRss.toFixed(0)} MiB. Total ${((Date.now() - started) / 1000).toFixed(0)} s on node ${process.version}.`,
    ].join('\n');
    console.log(report);
    await mkdir(resultsDir, { recursive: true });
    await writeFile(path.join(resultsDir, 'latest.md'), `${report}\n`);
  } finally {
    for (const server of servers) await server.stop();
    await database.drop();
  }
}

await main();
