import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const serverDir = fileURLToPath(new URL('..', import.meta.url));

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

async function waitUntilReady(
  baseUrl: string,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`server exited with ${child.exitCode}:\n${output()}`);
    const status = await fetch(`${baseUrl}/ready`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`server never became ready:\n${output()}`);
}

/** The README's first command path: no DATABASE_URL, so the server brings its own PostgreSQL. */
async function startWithoutDatabaseUrl(dataDir: string) {
  const [port, dbPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    EMBEDDED_DB_DIR: dataDir,
    EMBEDDED_DB_PORT: String(dbPort),
    BCRYPT_COST: '4',
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  delete env.NODE_ENV;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: serverDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitUntilReady(baseUrl, child, () => output);
  const stop = async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    return exited;
  };
  return { baseUrl, stop, output: () => output };
}

const json = (body: unknown, token?: string) => ({
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    ...(token && { authorization: `Bearer ${token}` }),
  },
  body: JSON.stringify(body),
});

let dataDir: string | undefined;
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('zero-setup development server', () => {
  it(
    'starts its embedded PostgreSQL, migrates, serves REST, and keeps data across restarts',
    { timeout: 180_000 },
    async () => {
      dataDir = await mkdtemp(path.join(tmpdir(), 'tasks-dev-'));
      const first = await startWithoutDatabaseUrl(path.join(dataDir, 'pglite'));
      expect(first.output()).toContain('JWT_SECRET is not set');

      const credentials = { email: 'newcomer@example.com', password: 'correct horse battery' };
      expect((await fetch(`${first.baseUrl}/auth/register`, json(credentials))).status).toBe(201);
      const { accessToken } = (await (
        await fetch(`${first.baseUrl}/auth/login`, json(credentials))
      ).json()) as { accessToken: string };
      const created = await fetch(
        `${first.baseUrl}/tasks`,
        json({ title: 'First task' }, accessToken),
      );
      expect(created.status).toBe(201);
      const location = created.headers.get('location') ?? '';
      const read = await fetch(`${first.baseUrl}${location}`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(await read.json()).toMatchObject({ title: 'First task' });
      expect(await first.stop()).toBe(0);

      const second = await startWithoutDatabaseUrl(path.join(dataDir, 'pglite'));
      const again = await fetch(`${second.baseUrl}${location}`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(await again.json()).toMatchObject({ title: 'First task' });
      expect(await second.stop()).toBe(0);
    },
  );
});
