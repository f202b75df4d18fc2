/**
 * `pnpm dev` as a person runs it (its runner, apps/server/src/cli/dev.ts): the web app reaches
 * the API wherever PORT puts it, a taken port is one line naming its setting, and when either
 * process dies the whole command stops.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnedTestEnv } from './harness.js';
import { childEnv, freePort } from './spawn-server.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

interface DevCommand {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startDev(env: Record<string, string>): DevCommand {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/cli/dev.ts'], {
    cwd: repoRoot,
    env: childEnv({
      ...spawnedTestEnv,
      ...database.serverEnv,
      DATABASE_URL: database.url,
      LOG_LEVEL: 'warn',
      ...env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { process: child, output: () => output, exited };
}

async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

async function statusOf(url: string): Promise<number> {
  return fetch(url).then(
    (response) => response.status,
    () => 0,
  );
}

/** Polls `check`; gives up early when `pnpm dev` exited while it should still run. */
async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  dev: DevCommand,
  { whileRunning = true } = {},
) {
  for (const deadline = Date.now() + 90_000; Date.now() < deadline;) {
    if (await check()) return;
    if (whileRunning && dev.process.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  // The output goes to the log, not into the error: it may hold stack traces of its own.
  console.error(dev.output());
  throw new Error(`${what} never happened (exit code ${String(dev.process.exitCode)})`);
}

describe('pnpm dev', () => {
  it.each(['PORT', 'WEB_PORT'])(
    'stops with one line naming %s when its port is taken',
    async (setting) => {
      const [apiPort, webPort] = [await freePort(), await freePort()];
      const taken = await occupy(setting === 'PORT' ? apiPort : webPort);
      try {
        const dev = startDev({ PORT: String(apiPort), WEB_PORT: String(webPort) });
        expect(await dev.exited).toBe(1);
        const lines = dev.output().trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`set ${setting} to a free port`);
      } finally {
        taken.close();
      }
    },
  );

  it(
    'serves the web app that reaches the API on another PORT, and stops when a process dies',
    { timeout: 120_000 },
    async () => {
      const [apiPort, webPort] = [await freePort(), await freePort()];
      const dev = startDev({ PORT: String(apiPort), WEB_PORT: String(webPort) });
      const web = `http://127.0.0.1:${webPort}`;
      try {
        // The API's readiness, asked through the web app's origin.
        await waitFor(async () => (await statusOf(`${web}/ready`)) === 200, 'ready', dev);
        expect(await (await fetch(`${web}/`)).text()).toContain('id="app"');
        const login = await fetch(`${web}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'nobody@example.com', password: 'wrong password' }),
        });
        expect(login.status).toBe(401);

        // Kill the web app's process: the API goes too, and the command fails.
        const webPid = execFileSync('pgrep', ['-P', String(dev.process.pid), '-f', 'vite'])
          .toString()
          .trim();
        process.kill(Number(webPid), 'SIGKILL');
        expect(await dev.exited).not.toBe(0);
        await waitFor(
          async () => (await statusOf(`http://127.0.0.1:${apiPort}/health`)) === 0,
          'the API stopping',
          dev,
          { whileRunning: false },
        );
      } finally {
        dev.process.kill('SIGKILL');
      }
    },
  );
});
