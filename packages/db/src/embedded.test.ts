import { spawnSync } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureEmbeddedPostgres } from './embedded.js';
import { withClient } from './with-client.js';

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'tasks-embedded-test-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

it('shares one data directory between callers and keeps its data across restarts', async () => {
  const dataDir = path.join(tmp, 'pglite');
  const lockPath = `${dataDir}.lock.json`;

  const owner = await ensureEmbeddedPostgres({ dataDir, port: 0 });
  expect(owner.owned).toBe(true);
  expect(JSON.parse(await readFile(lockPath, 'utf8'))).toEqual({
    pid: process.pid,
    url: owner.url,
  });
  await withClient(owner.url, (client) =>
    client.query(`CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')`),
  );

  const guest = await ensureEmbeddedPostgres({ dataDir, port: 0 });
  expect(guest).toMatchObject({ url: owner.url, owned: false });
  await guest.stop();
  await owner.stop();
  expect(await exists(lockPath)).toBe(false);

  // A lock left by a process that died is taken over.
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
  await writeFile(lockPath, JSON.stringify({ pid: deadPid, url: owner.url }));
  const restarted = await ensureEmbeddedPostgres({ dataDir, port: 0 });
  try {
    expect(restarted.owned).toBe(true);
    const { rows } = await withClient(restarted.url, (client) =>
      client.query('SELECT * FROM kept'),
    );
    expect(rows).toEqual([{ note: 'still here' }]);
  } finally {
    await restarted.stop();
  }
});
