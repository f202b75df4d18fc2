/**
 * Concurrent clients for the reliability tests (faults, overload, shutdown, soak): each client is
 * a loop bounded in iterations and in time, and every outcome is tallied.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Tally {
  /** Requests started. */
  sent: number;
  /** HTTP answers by status. */
  statuses: Record<number, number>;
  /** Requests that got no HTTP answer (refused, reset, or none in time), by error message. */
  errors: Record<string, number>;
}

export function newTally(): Tally {
  return { sent: 0, statuses: {}, errors: {} };
}

/** Sends one request, counting it and its outcome; resolves to the response, or undefined. */
export async function tallied(
  tally: Tally,
  send: () => Promise<Response>,
): Promise<Response | undefined> {
  tally.sent += 1;
  try {
    const response = await send();
    tally.statuses[response.status] = (tally.statuses[response.status] ?? 0) + 1;
    return response;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const message = cause?.code ?? (error instanceof Error ? error.name : String(error));
    tally.errors[message] = (tally.errors[message] ?? 0) + 1;
    return undefined;
  }
}

/** Number of answers with a status outside `expected`. */
export function unexpectedStatuses(tally: Tally, expected: number[]): Record<number, number> {
  return Object.fromEntries(
    Object.entries(tally.statuses).filter(([status]) => !expected.includes(Number(status))),
  );
}

export interface ClientLoops {
  /** Resolves once every client stopped. */
  done: Promise<void>;
  /** Asks every client to stop after its current iteration. */
  stop(): void;
}

/**
 * Starts `clients` loops running `iteration(client, n)` until `stop()`, `maxIterations` per
 * client, `maxDurationMs`, or the iteration resolving to false (e.g. the server is gone).
 */
export function runClients(
  clients: number,
  { maxIterations, maxDurationMs }: { maxIterations: number; maxDurationMs: number },
  iteration: (client: number, n: number) => Promise<unknown>,
): ClientLoops {
  let stopped = false;
  const deadline = Date.now() + maxDurationMs;
  const loop = async (client: number) => {
    for (let n = 0; n < maxIterations && !stopped && Date.now() < deadline; n++) {
      if ((await iteration(client, n)) === false) return;
    }
  };
  return {
    done: Promise.all(Array.from({ length: clients }, (_, client) => loop(client))).then(() => {}),
    stop() {
      stopped = true;
    },
  };
}

/** Polls `probe` every 100 ms until it returns true; false if `withinMs` passed first. */
export async function eventually(
  probe: () => Promise<boolean>,
  withinMs: number,
): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(100);
  }
  return false;
}

/** Resident set size of a process (Linux), from /proc. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (!kib) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}

export const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
