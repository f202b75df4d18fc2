import { spawn } from 'node:child_process';
import { once } from 'node:events';
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
  const infoPath = `${dataDir}.server.json`;

  const owner = await ensureEmbeddedPostgres({ dataDir, port: 0 });
  expect(owner.owned).toBe(true);
  expect(JSON.parse(await readFile(infoPath, 'utf8'))).toEqual({
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
  expect(await exists(infoPath)).toBe(false);
  expect(await exists(`${dataDir}.lock`)).toBe(false);

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

it('takes over the data directory of an owner killed with SIGKILL once its lock goes stale', async () => {
  const dataDir = path.join(tmp, 'killed');
  const staleMs = 2_000;
  const script = path.join(tmp, 'owner.mts');
  await writeFile(
    script,
    `import { ensureEmbeddedPostgres } from ${JSON.stringify(path.resolve(import.meta.dirname, 'embedded.ts'))};
const db = await ensureEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: 0, staleMs: ${staleMs} });
console.log(db.url);
setInterval(() => {}, 1000);`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: import.meta.dirname,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const childUrl = line.toString().trim();
  const guest = await ensureEmbeddedPostgres({ dataDir, port: 0, staleMs });
  expect(guest).toMatchObject({ url: childUrl, owned: false });

  child.kill('SIGKILL');
  await once(child, 'exit');
  // Its lock and address are left behind; neither is trusted once the database stops answering.
  expect(await exists(`${dataDir}.lock`)).toBe(true);
  const successor = await ensureEmbeddedPostgres({ dataDir, port: 0, staleMs });
  try {
    expect(successor.owned).toBe(true);
    expect(successor.url).not.toBe(childUrl);
    await withClient(successor.url, (client) => client.query('SELECT 1'));
  } finally {
    await successor.stop();
  }
});
