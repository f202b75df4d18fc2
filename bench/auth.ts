/**
 * `pnpm bench:auth`: measures what the auth tests can only assert as behaviour.
 *  1. Login timing: unknown email vs wrong password (both should cost one bcrypt comparison).
 *  2. Event-loop freedom: `/health` latency while logins hash passwords on libuv's pool.
 *  3. Password-reset request timing: an address with an account vs one without (the request
 *     does the same work for both; only the job, later, finds out which it is).
 * Starts the real server in a child process (DATABASE_URL, or its embedded database) with the
 * production bcrypt cost, and prints a markdown table (also written to bench/results/auth.md). Numbers, not assertions: the machine is
 * shared and noisy.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnServer } from '../apps/server/test/spawn-server.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = path.join(repoRoot, 'bench', 'results');
const bcryptCost = process.env.BCRYPT_COST ?? '12';
const password = 'correct horse battery';

async function startServer() {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tasks-bench-'));
  const server = await spawnServer({
    LOG_LEVEL: 'warn',
    BCRYPT_COST: bcryptCost,
    EMBEDDED_DB_DIR: path.join(dataDir, 'pglite'),
    EMBEDDED_DB_PORT: String(await freePort()),
    // The benchmark logs in hundreds of times from one address on purpose.
    RATE_LIMIT_MAX: '1000000',
    AUTH_RATE_LIMIT_MAX_PER_IP: '1000000',
    AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '1000000',
  });
  return {
    baseUrl: server.baseUrl,
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

async function main() {
  const server = await startServer();
  const post = (route: string, body: unknown) =>
    fetch(`${server.baseUrl}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then((response) => response.arrayBuffer());
  try {
    const email = `bench-${Date.now()}@example.com`;
    await post('/auth/register', { email, password });

    // 1. Interleaved, so drift on the shared machine hits both sides alike.
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let round = 0; round < 45; round++) {
      const a = await timed(() =>
        post('/auth/login', { email: `nobody-${round}@example.com`, password }),
      );
      const b = await timed(() => post('/auth/login', { email, password: 'wrong password!' }));
      if (round >= 5) {
        unknown.push(a);
        wrong.push(b);
      }
    }

    // 3. The same for POST /auth/password/forgot, one address of each kind, each asked again
    // (the queue keeps one pending mail job per address either way).
    const forgotKnown: number[] = [];
    const forgotUnknown: number[] = [];
    for (let round = 0; round < 45; round++) {
      const a = await timed(() => post('/auth/password/forgot', { email: 'nobody@example.com' }));
      const b = await timed(() => post('/auth/password/forgot', { email }));
      if (round >= 5) {
        forgotUnknown.push(a);
        forgotKnown.push(b);
      }
    }

    // 2. /health probed every 10 ms for 5 s: alone, then while 8 clients log in continuously.
    const health = async () => {
      const samples: number[] = [];
      const until = performance.now() + 5_000;
      while (performance.now() < until) {
        samples.push(
          await timed(() => fetch(`${server.baseUrl}/health`).then((r) => r.arrayBuffer())),
        );
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return samples;
    };
    const idle = await health();
    let loading = true;
    let logins = 0;
    const loaders = Array.from({ length: 8 }, async () => {
      while (loading) {
        await post('/auth/login', { email, password });
        logins++;
      }
    });
    const loaded = await health();
    loading = false;
    await Promise.all(loaders);

    const difference = percentile(unknown, 50) - percentile(wrong, 50);
    const row = (label: string, samples: number[]) =>
      `| ${label} (${samples.length}) | ${[50, 90, 99].map((p) => ms(percentile(samples, p))).join(' | ')} |`;
    const lines = [
      `## Auth benchmark (bcrypt cost ${bcryptCost}, ${new Date().toISOString()})\n`,
      '| measurement (samples) | p50 | p90 | p99 |',
      '|---|---|---|---|',
      row('login, unknown email', unknown),
      row('login, wrong password', wrong),
      row('password-reset request, no such account', forgotUnknown),
      row('password-reset request, an account', forgotKnown),
      row('GET /health, idle', idle),
      row(`GET /health, during ${logins} logins by 8 clients`, loaded),
      `\nMedian login time, unknown email minus wrong password: ${ms(difference)} (${((difference / percentile(wrong, 50)) * 100).toFixed(1)} %).`,
      `Median password-reset request, no such account minus an account: ${ms(percentile(forgotUnknown, 50) - percentile(forgotKnown, 50))}.`,
    ];
    const report = lines.join('\n');
    console.log(report);
    await mkdir(resultsDir, { recursive: true });
    await writeFile(path.join(resultsDir, 'auth.md'), `${report}\n`);
  } finally {
    await server.stop();
  }
}

await main();
