/**
 * The server (or one of its CLIs) as its own process, for tests and benchmarks that need a real
 * process: zero-setup start, signals, several instances, the production bundle, the seed.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const serverDir = fileURLToPath(new URL('..', import.meta.url));

/** Where servers started by tests write mail when they have no SMTP server. */
export const testMailDir = path.join(tmpdir(), 'tasks-test-mail');

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

/** This process's environment with `env` applied; a variable set to `undefined` is removed. */
export function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [name, value] of Object.entries(merged)) {
    if (value === undefined) Reflect.deleteProperty(merged, name);
  }
  return merged;
}

export interface Exited {
  code: number | null;
  output: string;
}

/** Runs `node ...args` in apps/server to completion, collecting what it printed. */
export function runToExit(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: serverDir, env: childEnv(env) });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('exit', (code) => {
      resolve({ code, output });
    });
  });
}

export interface SpawnedServer {
  baseUrl: string;
  /** The node process itself (no wrapper), e.g. for reading its memory from /proc. */
  pid: number | undefined;
  /** Everything the process printed so far. */
  output(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a server with the given environment (see `childEnv`) on a free port and waits until
 * `readyPath` answers 200. By default it is this app's sources through tsx, as `pnpm dev` runs
 * them (tracing started first, as everywhere: it does nothing without an OTLP endpoint); `args`
 * and `cwd` start another one (the built bundle, the benchmark's baseline).
 */
export async function spawnServer(
  env: Record<string, string | undefined>,
  {
    readyWithinMs = 90_000,
    args = ['--import', 'tsx', '--import', './src/tracing.ts', 'src/server.ts'],
    cwd = serverDir,
    readyPath = '/ready',
  } = {},
): Promise<SpawnedServer> {
  const port = await freePort();
  const { child, output, stop } = spawnProcess(
    args,
    {
      HOST: '127.0.0.1',
      // Mail without SMTP_URL becomes files: never in the repository's .data/mail.
      MAIL_DIR: testMailDir,
      ...env,
      PORT: String(port),
    },
    cwd,
  );

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyWithinMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`server exited with ${child.exitCode}:\n${output()}`);
    const status = await fetch(`${baseUrl}${readyPath}`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server never became ready:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  return { baseUrl, pid: child.pid, output, stop };
}

export interface SpawnedProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything the process printed so far. */
  output: () => string;
  /** Sends the signal and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** `node ...args` in `cwd` (apps/server by default) with `env` applied (see `childEnv`). */
export function spawnProcess(
  args: string[],
  env: Record<string, string | undefined>,
  cwd = serverDir,
): SpawnedProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    child,
    output: () => output,
    stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}
