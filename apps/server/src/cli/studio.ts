// `pnpm db:studio`: Prisma Studio on http://localhost:5555 (STUDIO_PORT) against the configured
// database: the one `pnpm dev` uses, read from the same environment and `.env` (served by
// `pnpm dev` if that runs, else by this process when it is the embedded one).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '../config.js';
import { openConfiguredDatabase } from '../database.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const prismaCli = createRequire(`${repoRoot}package.json`).resolve('prisma/build/index.js');

const config = loadConfigOrExit('tool');
const database = await openConfiguredDatabase(config);
if (database.source === 'embedded') console.error(`Embedded PostgreSQL: ${database.url}`);

/**
 * The embedded server multiplexes every connection onto one PGlite session. Studio's driver
 * (postgres.js, which reads its options from the URL) would otherwise prepare named statements
 * that collide across connections, and run two queries at once whose parse/bind round trips
 * interleave in that one session: one connection, unnamed statements.
 */
function redactPassword(url: string): string {
  const shown = new URL(url);
  if (shown.password) shown.password = '***';
  return shown.toString();
}

function studioUrl(url: string): string {
  if (!database.servedByPglite) return url;
  const withOptions = new URL(url);
  withOptions.searchParams.set('prepare', 'false');
  withOptions.searchParams.set('max', '1');
  return withOptions.toString();
}

const url = studioUrl(database.url);
// Said before Studio starts, so a person (and a test) can tell which database it shows.
console.error(`Prisma Studio on http://localhost:${config.studioPort} for ${redactPassword(url)}`);
const studio = spawn(
  process.execPath,
  [prismaCli, 'studio', '--port', String(config.studioPort), '--browser', 'none', '--url', url],
  { cwd: repoRoot, stdio: 'inherit' },
);
// Ctrl-C reaches Studio too; stay alive until it exits so the embedded database closes cleanly.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    studio.kill(signal);
  });
}
const exitCode = await new Promise<number>((resolve) => {
  studio.on('error', (error) => {
    console.error(`Cannot start Prisma Studio: ${error.message}`);
    resolve(1);
  });
  studio.on('exit', (code, signal) => {
    resolve(code ?? (signal ? 0 : 1));
  });
});
await database.stop();
process.exit(exitCode);
