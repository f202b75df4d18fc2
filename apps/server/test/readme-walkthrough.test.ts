/**
 * The README's curl walkthrough, extracted from README.md and run by bash as a reader pastes it,
 * against a spawned server on a fresh database: if the README and the API drift apart, this fails.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createTestDatabase, type TestDatabase } from '@tasks/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnedTestEnv } from './harness.js';
import { spawnServer, type SpawnedServer } from './spawn-server.js';

const readmePath = new URL('../../../README.md', import.meta.url);
const marker = '<!-- walkthrough: apps/server/test/readme-walkthrough.test.ts runs this block -->';
/** The block's first line, which the test points at its own server. */
const apiLine = 'API=http://127.0.0.1:3000';

let database: TestDatabase;
let server: SpawnedServer;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await spawnServer({
    ...spawnedTestEnv,
    ...database.serverEnv,
    DATABASE_URL: database.url,
  });
});
afterAll(async () => {
  await server.stop();
  await database.drop();
});

/** The first ```sh block after the marker. */
async function walkthrough(): Promise<string> {
  const readme = await readFile(readmePath, 'utf8');
  const afterMarker = readme.slice(readme.indexOf(marker));
  const block = /```sh\n([\s\S]*?)```/.exec(afterMarker)?.[1];
  if (!readme.includes(marker) || block === undefined) {
    throw new Error(`README.md has no sh block after "${marker}"`);
  }
  return block;
}

function runBash(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

it('runs top to bottom as pasted, every step answering what its comment says', async () => {
  const block = await walkthrough();
  expect(block.split('\n')[0]).toBe(apiLine);
  // `set -u` and `pipefail` catch a variable the README forgot to capture or a failed parse.
  const script = `set -uo pipefail\n${block.replace(apiLine, `API=${server.baseUrl}`)}`;
  const { code, stdout, stderr } = await runBash(script);
  expect(stderr).toBe('');
  expect(code).toBe(0);

  const statuses = [...stdout.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((match) => Number(match[1]));
  expect(statuses, stdout).toEqual([
    201, // register
    201, // the replayed create
    201, // the second task
    200, // conditional update at the version read
    412, // the same version again: the task changed meanwhile
    204, // delete
    200, // a read with the read-only personal access token
    403, // a write with it
    204, // logout
    401, // the signed-out session
  ]);
  // The two pages hold the two tasks, newest first: the replay created nothing, it answered
  // with the first create's task.
  const bodies = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const pages = bodies.filter((body) => 'items' in body) as {
    items: { id: string; title: string }[];
    nextCursor: string | null;
  }[];
  expect(pages.map((page) => page.items.map((task) => task.title))).toEqual([
    ['Book the room'],
    ['Write the report'],
  ]);
  const replay = bodies.find((body) => body.title === 'Write the report');
  expect(replay?.id).toBe(pages[1]?.items[0]?.id);
  expect(pages[1]?.nextCursor).toBeNull();
});
