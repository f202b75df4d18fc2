/**
 * Property-based fuzzing of every REST operation (generated from the committed OpenAPI document)
 * and every tRPC procedure, against the real server and database: valid, boundary, hostile and
 * malformed paths, queries, headers and bodies. Whatever arrives, the server must answer without
 * a 5xx, every REST error must be catalogue problem+json, every tRPC error must carry a catalogue
 * code, and every REST answer must be one the document describes (the harness checks that).
 *
 * Deterministic by seed: the run prints it, and `FUZZ_SEED=<seed>` replays the same requests.
 * `FUZZ_REQUESTS` sets the number of REST requests (default 10 000; /trpc gets a tenth more).
 */
import { readFileSync } from 'node:fs';
import { errorCatalogue, type ErrorCode } from '@tasks/api';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  restTargets,
  trpcTargets,
  type FuzzRequest,
  type FuzzTarget,
  type OpenApiDocument,
} from './fuzz-requests.js';
import { startTestServer, type TestServer } from './harness.js';

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const restRequests = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const trpcRequests = Math.ceil(restRequests / 10);
/** Past this the run fails rather than silently sending fewer requests. */
const timeLimitMs = 150_000;

const document = JSON.parse(
  readFileSync(new URL('../../../packages/api/openapi.json', import.meta.url), 'utf8'),
) as OpenApiDocument;
const password = 'correct horse battery';
/** Rows the fuzzer's valid ids point at, put back now and then since DELETE removes them. */
const taskCount = 100;

let server: TestServer;
let restoreTasks: () => Promise<unknown>;
let targets: { rest: FuzzTarget[]; trpc: FuzzTarget[] };

beforeAll(async () => {
  const unlimited = String(1_000_000_000);
  // Limits and load shedding answer 429 and 503 by design; the fuzzer looks for other answers.
  // (A 429 would still pass its checks: RATE_LIMITED is catalogue problem+json.)
  server = await startTestServer({
    RATE_LIMIT_MAX: unlimited,
    AUTH_RATE_LIMIT_MAX_PER_IP: unlimited,
    AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: unlimited,
    LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
  });
  const user = await server.signUp();
  // A second session, whose refresh token the fuzzer may spend or revoke without logging out
  // the token it authenticates with.
  const login = await server.request('/auth/login', {
    method: 'POST',
    body: { email: user.email, password },
  });
  const { refreshToken } = (await login.json()) as { refreshToken: string };
  const tasks = Array.from({ length: taskCount }, (_, index) => ({
    id: crypto.randomUUID(),
    ownerId: user.id,
    title: `fuzz target ${index}`,
  }));
  restoreTasks = () => server.db.task.createMany({ data: tasks, skipDuplicates: true });
  await restoreTasks();
  const page = await server.request('/tasks?limit=1', { token: user.token });
  const { nextCursor } = (await page.json()) as { nextCursor: string };
  const context = {
    token: user.token,
    ids: tasks.map((task) => task.id),
    properties: {
      email: [user.email],
      password: [password],
      refreshToken: [refreshToken],
      cursor: [nextCursor],
    },
  };
  targets = { rest: restTargets(document, context), trpc: trpcTargets(context) };
});
afterAll(() => server.close());

const statuses = new Map<string, Map<number, number>>();
let sent = 0;

function record(target: string, status: number): void {
  const counts = statuses.get(target) ?? new Map<number, number>();
  counts.set(status, (counts.get(status) ?? 0) + 1);
  statuses.set(target, counts);
}

function catalogueStatus(code: unknown): number | undefined {
  return typeof code === 'string' && Object.hasOwn(errorCatalogue, code)
    ? errorCatalogue[code as ErrorCode].status
    : undefined;
}

/** Headers the contract promises with some statuses (API.md). */
const headerByStatus: Partial<Record<number, string>> = {
  401: 'www-authenticate',
  405: 'allow',
  429: 'retry-after',
};

/** A REST failure: problem+json whose code is in the catalogue with this very status. */
function assertCatalogueProblem(response: Response, body: string): void {
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('application/problem+json')) {
    throw new Error(`${response.status} is not problem+json (${contentType}): ${body}`);
  }
  const problem = JSON.parse(body) as { code?: unknown; status?: unknown };
  const status = catalogueStatus(problem.code);
  if (status !== response.status || problem.status !== response.status) {
    throw new Error(`${response.status} does not match the catalogue entry of ${body}`);
  }
  const header = headerByStatus[response.status];
  if (header && !response.headers.has(header)) {
    throw new Error(`${response.status} without ${header}: ${body}`);
  }
}

interface TrpcEnvelope {
  error?: { json?: { data?: { code?: unknown; httpStatus?: unknown } } };
}

/** Each tRPC error (one per call of a batch) carries a catalogue code and its status. */
function assertCatalogueTrpcErrors(response: Response, body: string): void {
  const parsed = JSON.parse(body) as TrpcEnvelope | TrpcEnvelope[];
  const envelopes = Array.isArray(parsed) ? parsed : [parsed];
  for (const { error } of envelopes) {
    if (!error) continue;
    const data = error.json?.data;
    const status = catalogueStatus(data?.code);
    const matchesResponse = Array.isArray(parsed) || status === response.status;
    if (status === undefined || status !== data?.httpStatus || !matchesResponse) {
      throw new Error(`${response.status}: not a catalogue error: ${body}`);
    }
  }
}

async function send(target: FuzzTarget, request: FuzzRequest, rest: boolean) {
  const init = { method: request.method, headers: request.headers, body: request.body };
  // REST goes through the harness, which checks the answer against the OpenAPI document.
  const response = rest
    ? await server.request(request.url, init)
    : await fetch(`${server.baseUrl}${request.url}`, init);
  const body = await response.text();
  record(target.name, response.status);
  if (++sent % 50 === 0) await restoreTasks();
  if (response.status >= 500) throw new Error(`${response.status}: ${body}`);
  if (!response.headers.has('x-request-id')) throw new Error(`no X-Request-Id: ${body}`);
  if (response.status < 400) return;
  // Answers outside tRPC's own envelope (a route Fastify does not match) are problem+json.
  const isProblem = response.headers.get('content-type')?.startsWith('application/problem+json');
  if (rest || isProblem) assertCatalogueProblem(response, body);
  else assertCatalogueTrpcErrors(response, body);
}

/**
 * Runs every target's property concurrently, each `runs` times with its own seed derived from the
 * run's; waits for all of them, then fails with the first counterexample.
 */
async function fuzz(targets: { target: FuzzTarget; runs: number; rest: boolean }[]) {
  const results = await Promise.allSettled(
    targets.map(({ target, runs, rest }, index) =>
      fc.assert(
        fc.asyncProperty(target.requests, (request) => send(target, request, rest)),
        {
          seed: seed + index,
          numRuns: runs,
          plugins: [fc.interruptAfterTimeLimit(timeLimitMs, { failOnInterrupt: true })],
        },
      ),
    ),
  );
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
}

function report(): string {
  const all = new Map<number, number>();
  const line = (name: string, counts: Map<number, number>) => {
    const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
    const distribution = [...counts]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status}×${count}`)
      .join(' ');
    return `  ${name.padEnd(34)} ${String(total).padStart(6)}  ${distribution}`;
  };
  const lines = [...statuses]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([target, counts]) => {
      for (const [status, count] of counts) all.set(status, (all.get(status) ?? 0) + count);
      return line(target, counts);
    });
  return [
    `fuzz seed ${seed} (replay: FUZZ_SEED=${seed}), ${sent} requests`,
    ...lines,
    line('all', all),
  ].join('\n');
}

it(
  `answers ${restRequests} REST and ${trpcRequests} tRPC fuzzed requests without a 5xx, errors from the catalogue`,
  async () => {
    console.log(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
    const prototypeBefore = Object.getOwnPropertyNames(Object.prototype);
    const share = (list: FuzzTarget[], total: number, rest: boolean) =>
      list.map((target) => ({ target, runs: Math.ceil(total / list.length), rest }));
    try {
      await fuzz([
        ...share(targets.rest, restRequests, true),
        ...share(targets.trpc, trpcRequests, false),
      ]);
    } finally {
      console.log(report());
    }
    expect(sent).toBeGreaterThanOrEqual(restRequests + trpcRequests);
    // The server runs in this process: a poisoned prototype would show here.
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  },
  timeLimitMs + 30_000,
);
