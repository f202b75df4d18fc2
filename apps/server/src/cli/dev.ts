// `pnpm dev`: the API (reloading on code changes) and the web app (Vite, forwarding the API's
// paths to wherever the API listens) as one unit. Both ports are checked before anything starts,
// so a taken one is a single line naming its setting; when either process ends, the other is
// stopped and `pnpm dev` exits with that process's status.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnvironment, loadConfigOrExit } from '../config.js';

const serverDir = fileURLToPath(new URL('../../', import.meta.url));
const webDir = fileURLToPath(new URL('../../../web/', import.meta.url));
// Both resolved before anything starts: a missing one must not leave the other running.
const tsxCli = createRequire(`${serverDir}package.json`).resolve('tsx/cli');
// Vite's package exports no `bin/`: its launcher is found by path, as npm's bin link does.
const viteCli = path.join(webDir, 'node_modules/vite/bin/vite.js');

const config = loadConfigOrExit();

/** Null when `port` can be listened on, else why not (taken, or not ours to take). */
function portProblem(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'EADDRINUSE' ? 'is taken' : `cannot be used (${error.code})`);
    });
    probe.listen({ host, port, exclusive: true }, () => {
      probe.close(() => {
        resolve(null);
      });
    });
  });
}

const webHost = '127.0.0.1';
for (const [setting, host, port] of [
  ['PORT', config.host, config.port],
  ['WEB_PORT', webHost, config.webPort],
] as const) {
  const problem =
    port === 0 ? 'must be chosen (0 picks one at random)' : await portProblem(host, port);
  if (problem) {
    console.error(
      `pnpm dev: port ${port} on ${host} ${problem}: set ${setting} to a free port ` +
        `(for example ${setting}=${port + 1} pnpm dev)`,
    );
    process.exit(1);
  }
}

// A wildcard listen address is reached through loopback.
const apiHost = ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host;
const apiOrigin = `http://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${config.port}`;

// Inherited stdio keeps each a terminal's process: pino prints pretty lines, Vite its banner.
const children: ChildProcess[] = [
  // Tracing first, as in production (it does nothing without an OTLP endpoint).
  spawn(
    process.execPath,
    [tsxCli, 'watch', '--clear-screen=false', '--import', './src/tracing.ts', 'src/server.ts'],
    { cwd: serverDir, stdio: 'inherit' },
  ),
  spawn(process.execPath, [viteCli], {
    cwd: webDir,
    stdio: 'inherit',
    env: childEnvironment({ WEB_PORT: String(config.webPort), API_ORIGIN: apiOrigin }),
  }),
];

let exitCode: number | null = null;
for (const child of children) {
  child.once('exit', (code, signal) => {
    exitCode ??= code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1);
    for (const other of children) {
      if (other.exitCode === null && other.signalCode === null) other.kill('SIGTERM');
    }
    if (children.every((each) => each.exitCode !== null || each.signalCode !== null)) {
      process.exit(exitCode);
    }
  });
}

// Ctrl-C reaches every process of the terminal's group at once: only wait for them. A SIGTERM
// sent to this process alone (a supervisor, a test) is passed on.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {
  for (const child of children) child.kill('SIGTERM');
});
