// `pnpm db:studio`: Prisma Studio on http://localhost:5555 against DATABASE_URL, or the embedded
// dev database when it is unset (served by `pnpm dev` if that runs, else by this process).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { resolveDevDatabase } from '../dev-database.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const prismaCli = createRequire(`${repoRoot}package.json`).resolve('prisma/build/index.js');

const database = await resolveDevDatabase(process.env);
if (database.source === 'embedded') console.error(`Embedded PostgreSQL: ${database.url}`);

const studio = spawn(
  process.execPath,
  [prismaCli, 'studio', '--port', '5555', '--browser', 'none', '--url', database.url],
  { cwd: repoRoot, stdio: 'inherit' },
);
// Ctrl-C reaches Studio too; stay alive until it exits so the embedded database closes cleanly.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => studio.kill(signal));
}
const exitCode = await new Promise<number>((resolve) => {
  studio.on('error', (error) => {
    console.error(`Cannot start Prisma Studio: ${error.message}`);
    resolve(1);
  });
  studio.on('exit', (code, signal) => resolve(code ?? (signal ? 0 : 1)));
});
await database.stop();
process.exit(exitCode);
