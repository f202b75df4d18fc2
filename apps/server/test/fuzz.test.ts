/**
 * Property-based fuzzing of every REST operation (generated from the committed OpenAPI document)
 * and every tRPC procedure, against the real server and database: valid, boundary, hostile and
 * malformed paths, queries, headers and bodies, bodies in other media types (multipart, forms,
 * text, JSON's kin, no type at all) and either side of the body limit, and /trpc batches either
 * side of their maximum size. Whatever arrives, the server must answer without a 5xx, every REST
 * error must be catalogue problem+json, every tRPC error must carry a catalogue code, every error
 * must carry the request id, and every REST answer must be one the document describes. A body
 * that is not JSON, or too big, or a batch that is too long, must be refused before it is read,
 * with its own status.
 *
 * Deterministic by seed: the run prints it, and `FUZZ_SEED=<seed>` replays the same requests.
 * `FUZZ_REQUESTS` sets the number of REST requests (default 10 000; /trpc gets a tenth more, and
 * batches a quarter of that).
 */
import { readFileSync } from 'node:fs';
import { appRouter, errorCatalogue, type ErrorCode } from '@tasks/api';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { assertDocumented } from './contract.js';
import {
  restTargets,
  trpcBatchTarget,
  trpcTargets,
  type FuzzRequest,
  type FuzzTarget,
  type OpenApiDocument,
} from './fuzz-requests.js';
import { startTestServer, testEnv, type TestServer } from './harness.js';

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const restRequests = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const trpcRequests = Math.ceil(restRequests / 10);
const batchRequests = Math.ceil(trpcRequests / 4);
/**
 * Only so that a hung server cannot hang the run: not a claim about speed (the test counts the
 * requests it sent; timings are bench/'s business). Far above the run's usual length.
 */
const safetyNetMs = 600_000;

const document = JSON.parse(
  readFileSync(new URL('../../../packages/api/openapi.json', import.meta.url), 'utf8'),
) as OpenApiDocument;
const password = 'correct horse battery';
/** Rows the fuzzer's valid ids point at, put back now and then since DELETE removes them. */
const taskCount = 100;

const unlimited = String(1_000_000_000);
// Limits and load shedding answer 429 and 503 by design; the fuzzer looks for other answers.
// (A 429 would still pass its checks: RATE_LIMITED is catalogue problem+json.) A batch holds
// more password calls than the hashing queue does, and more sign-ins than the session cap, which
// would end the session the fuzzer authenticates with: both as large as the server allows.
const serverEnv = {
  RATE_LIMIT_MAX: unlimited,
  AUTH_RATE_LIMIT_MAX_PER_IP: unlimited,
  AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: unlimited,
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
  PASSWORD_HASH_QUEUE: '10000',
  MAX_SESSIONS_PER_USER: '10000',
};
/** The limits the server runs with, from the configuration it is built from. */
const { bodyLimitBytes, trpcMaxBatchSize } = loadConfig({ ...testEnv, ...serverEnv });
const procedureNames = new Set(Object.keys(appRouter._def.procedures));

let server: TestServer;
let restoreTasks: () => Promise<unknown>;
let targets: { rest: FuzzTarget[]; trpc: FuzzTarget[]; batch: FuzzTarget };

beforeAll(async () => {
  server = await startTestServer(serverEnv);
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
    bodyLimitBytes,
    maxBatchSize: trpcMaxBatchSize,
    ids: tasks.map((task) => task.id),
    properties: {
      email: [user.email],
      password: [password],
      refreshToken: [refreshToken],
      cursor: [nextCursor],
    },
  };
  targets = {
    rest: restTargets(document, context),
    trpc: trpcTargets(context),
    batch: trpcBatchTarget(context),
  };
});
afterAll(() => server.close());

/** Answers by target (an operation or a procedure), and by what the request probes. */
const statuses = new Map<string, Map<number, number>>();
const kinds = new Map<string, Map<number, number>>();
let sent = 0;

function record(tally: Map<string, Map<number, number>>, key: string, status: number): void {
  const counts = tally.get(key) ?? new Map<number, number>();
  counts.set(status, (counts.get(status) ?? 0) + 1);
  tally.set(key, counts);
}

function catalogueStatus(code: unknown): number | undefined {
  return typeof code === 'string' && Object.hasOwn(errorCatalogue, code)
    ? errorCatalogue[code as ErrorCode].status
    : undefined;
}

/** A Content-Type's media type, which is case-insensitive and ends where parameters begin. */
function mediaType(contentType: string | null | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase();
}

/** Headers the contract promises with some statuses (docs/api.md). */
const headerByStatus: Partial<Record<number, string>> = {
  401: 'www-authenticate',
  405: 'allow',
  429: 'retry-after',
};

/**
 * A REST failure: problem+json whose code is in the catalogue with this very status, carrying
 * the request id the response header names. Returns the code.
 */
function assertCatalogueProblem(response: Response, body: string): unknown {
  if (mediaType(response.headers.get('content-type')) !== 'application/problem+json') {
    throw new Error(`${response.status} is not problem+json: ${body}`);
  }
  const problem = JSON.parse(body) as { code?: unknown; status?: unknown; requestId?: unknown };
  const status = catalogueStatus(problem.code);
  if (status !== response.status || problem.status !== response.status) {
    throw new Error(`${response.status} does not match the catalogue entry of ${body}`);
  }
  const header = headerByStatus[response.status];
  if (header && !response.headers.has(header)) {
    throw new Error(`${response.status} without ${header}: ${body}`);
  }
  if (problem.requestId !== response.headers.get('x-request-id')) {
    throw new Error(`${response.status} without the request id of X-Request-Id: ${body}`);
  }
  return problem.code;
}

interface TrpcEnvelope {
  error?: { json?: { data?: { code?: unknown; httpStatus?: unknown; requestId?: unknown } } };
}

/**
 * Each tRPC error (one per call of a batch, successes beside them in a 207) carries a catalogue
 * code, its status and the request id, in JSON. Returns the codes.
 */
function assertCatalogueTrpcErrors(response: Response, body: string): unknown[] {
  const parsed = JSON.parse(body) as TrpcEnvelope | null | (TrpcEnvelope | null)[];
  const envelopes = Array.isArray(parsed) ? parsed : [parsed];
  const codes: unknown[] = [];
  for (const envelope of envelopes) {
    const error = envelope?.error;
    if (!error) continue;
    const data = error.json?.data;
    const status = catalogueStatus(data?.code);
    const matchesResponse = Array.isArray(parsed) || status === response.status;
    if (status === undefined || status !== data?.httpStatus || !matchesResponse) {
      throw new Error(`${response.status}: not a catalogue error: ${body}`);
    }
    if (data.requestId !== response.headers.get('x-request-id')) {
      throw new Error(`${response.status}: an error without the request id: ${body}`);
    }
    codes.push(data.code);
  }
  if (response.status >= 400 && codes.length === 0) {
    throw new Error(`${response.status} without an error: ${body}`);
  }
  const contentType = response.headers.get('content-type');
  if (codes.length > 0 && mediaType(contentType) !== 'application/json') {
    throw new Error(`${response.status}: errors sent as ${contentType}: ${body}`);
  }
  return codes;
}

/** The procedures a /trpc request calls, as tRPC reads its path: a batch splits at commas. */
function trpcCalls(url: URL): string[] | undefined {
  if (!url.pathname.startsWith('/trpc/')) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname.slice('/trpc/'.length));
  } catch {
    // Not percent-encoded UTF-8: no route can match it.
    return undefined;
  }
  return url.searchParams.get('batch') === '1' ? path.split(',') : [path];
}

/** What must refuse a request before its body is read, and with which code. */
type Refusal = 'batch too large' | 'not json' | 'body too large';

const refusalCodes: Record<Refusal, ErrorCode> = {
  'batch too large': 'PAYLOAD_TOO_LARGE',
  'not json': 'UNSUPPORTED_MEDIA_TYPE',
  'body too large': 'PAYLOAD_TOO_LARGE',
};

/**
 * From what was sent: a /trpc batch over the maximum is refused first, then a body that is not
 * JSON, then a JSON body over the limit. Fastify reads a body on any method but GET when it has
 * a type or a length.
 */
function expectedRefusal(request: FuzzRequest, calls: string[] | undefined): Refusal | undefined {
  if (calls && calls.length > trpcMaxBatchSize) return 'batch too large';
  if (request.method === 'GET') return undefined;
  const type = mediaType(request.headers['content-type']);
  const bytes = request.body === undefined ? 0 : Buffer.byteLength(request.body);
  const carriesBody = type !== undefined || bytes > 0;
  if (carriesBody && type !== 'application/json') return 'not json';
  if (bytes > bodyLimitBytes) return 'body too large';
  return undefined;
}

/**
 * The refusal the request has coming, or one that comes before the body is read: no route
 * matched (nothing reads a body then), or the rate limit. A batch too large has one entry per
 * call; a refused body may have one for the whole batch, as tRPC answers what it cannot parse.
 * Without a refusal due, neither 413 nor 415 may come, but for tRPC's own demand of a type.
 */
function assertRefusal(request: FuzzRequest, status: number, codes: unknown[], calls?: string[]) {
  const refusal = expectedRefusal(request, calls);
  const answer = `${status} ${codes.join(',')}`;
  if (refusal === undefined) {
    // tRPC wants a media type on anything but a GET, body or not (once it has read the path).
    const untypedTrpc =
      calls !== undefined && request.method !== 'GET' && !('content-type' in request.headers);
    if (status === 413 || (status === 415 && !untypedTrpc)) {
      throw new Error(`${answer} for a readable request`);
    }
    return;
  }
  const code = refusalCodes[refusal];
  const all = (expected: string) =>
    codes.length > 0 && codes.every((actual) => actual === expected);
  const entries =
    codes.length === (calls?.length ?? 1) || (refusal !== 'batch too large' && codes.length === 1);
  const refused = status === errorCatalogue[code].status && all(code) && entries;
  const earlier = all('RATE_LIMITED') || (refusal !== 'batch too large' && all('ROUTE_NOT_FOUND'));
  if (!refused && !earlier) throw new Error(`${answer} where ${code} was due (${refusal})`);
}

/**
 * /trpc answers outside tRPC's envelope (in problem+json) only where no route matches its path:
 * 404, or the refusal of the body, since Fastify refuses a malformed type and parses a JSON body
 * even then. Real procedures within the batch size always have a route, however long their names.
 */
function assertUnrouted(
  request: FuzzRequest,
  calls: string[] | undefined,
  code: unknown,
  text: string,
) {
  const type = request.method === 'GET' ? undefined : mediaType(request.headers['content-type']);
  const bodyRefused =
    type === 'application/json'
      ? code === 'MALFORMED_JSON' || code === 'PAYLOAD_TOO_LARGE'
      : type !== undefined && code === 'UNSUPPORTED_MEDIA_TYPE';
  if (code !== 'ROUTE_NOT_FOUND' && !bodyRefused) {
    throw new Error(`/trpc answered outside its envelope: ${text}`);
  }
  const routable =
    calls !== undefined &&
    calls.length <= trpcMaxBatchSize &&
    calls.every((name) => procedureNames.has(name));
  if (routable) {
    throw new Error(`${calls.length} calls of real procedures found no route: ${text}`);
  }
}

/**
 * A request that opened a change stream (REST events or a tRPC subscription): it never ends by
 * itself, so its first bytes are read and it is closed. Everything refused was refused before
 * the stream started, as problem+json or an envelope; a stream is always a 200.
 */
async function assertStreamOpened(target: FuzzTarget, response: Response) {
  record(statuses, target.name, response.status);
  const reader = response.body?.getReader();
  const first = await reader?.read();
  await reader?.cancel();
  if (response.status !== 200 || !response.headers.has('x-request-id') || first?.done) {
    throw new Error(`a stream answered ${response.status} without its first event`);
  }
}

async function send(target: FuzzTarget, request: FuzzRequest, rest: boolean) {
  // Bytes, to which fetch adds no Content-Type of its own: the headers are all that is sent.
  const body = request.body === undefined ? undefined : new TextEncoder().encode(request.body);
  const response = await fetch(`${server.baseUrl}${request.url}`, {
    method: request.method,
    headers: request.headers,
    body,
  });
  if (mediaType(response.headers.get('content-type')) === 'text/event-stream') {
    await assertStreamOpened(target, response);
    sent += 1;
    return;
  }
  const text = await response.text();
  record(statuses, target.name, response.status);
  if (request.kind !== undefined) record(kinds, request.kind, response.status);
  if (++sent % 50 === 0) await restoreTasks();
  if (response.status >= 500) throw new Error(`${response.status}: ${text}`);
  if (!response.headers.has('x-request-id')) throw new Error(`no X-Request-Id: ${text}`);
  const contentType = response.headers.get('content-type');
  if (rest) assertDocumented(request.method, request.url, response.status, contentType, text);
  const calls = rest ? undefined : trpcCalls(new URL(request.url, server.baseUrl));
  const isProblem = mediaType(contentType) === 'application/problem+json';
  let codes: unknown[] = [];
  if (rest || isProblem) {
    if (response.status >= 400) codes = [assertCatalogueProblem(response, text)];
    if (!rest) assertUnrouted(request, calls, codes[0], text);
  } else {
    codes = assertCatalogueTrpcErrors(response, text);
  }
  assertRefusal(request, response.status, codes, calls);
}

/**
 * Runs every target's property concurrently, each `runs` times with its own seed derived from the
 * run's; waits for all of them, then fails with the first counterexample. Nothing interrupts a
 * property before its `runs`, however long they take.
 */
async function fuzz(targets: { target: FuzzTarget; runs: number; rest: boolean }[]) {
  const results = await Promise.allSettled(
    targets.map(({ target, runs, rest }, index) =>
      fc.assert(
        fc.asyncProperty(target.requests, (request) => send(target, request, rest)),
        { seed: seed + index, numRuns: runs },
      ),
    ),
  );
  const [failure, ...others] = results.filter((result) => result.status === 'rejected');
  // Each target stops at its own counterexample: show them all, not only the first.
  for (const other of others) console.error(other.reason);
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
  const lines = (tally: Map<string, Map<number, number>>) =>
    [...tally].sort(([a], [b]) => a.localeCompare(b)).map(([key, counts]) => line(key, counts));
  for (const counts of statuses.values()) {
    for (const [status, count] of counts) all.set(status, (all.get(status) ?? 0) + count);
  }
  return [
    `fuzz seed ${seed} (replay: FUZZ_SEED=${seed}), ${sent} requests`,
    ...lines(statuses),
    line('all', all),
    'by body and batch:',
    ...lines(kinds),
  ].join('\n');
}

it(
  `answers ${restRequests} REST, ${trpcRequests} tRPC and ${batchRequests} batch fuzzed requests without a 5xx, errors from the catalogue`,
  async () => {
    console.log(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
    const prototypeBefore = Object.getOwnPropertyNames(Object.prototype);
    const share = (list: FuzzTarget[], total: number, rest: boolean) =>
      list.map((target) => ({ target, runs: Math.ceil(total / list.length), rest }));
    const planned = [
      ...share(targets.rest, restRequests, true),
      ...share(targets.trpc, trpcRequests, false),
      { target: targets.batch, runs: batchRequests, rest: false },
    ];
    try {
      await fuzz(planned);
    } finally {
      console.log(report());
    }
    // Every planned request was sent and checked, none skipped: one `send` per run.
    expect(sent).toBe(planned.reduce((sum, { runs }) => sum + runs, 0));
    expect(sent).toBeGreaterThanOrEqual(restRequests + trpcRequests + batchRequests);
    // The server runs in this process: a poisoned prototype would show here.
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  },
  safetyNetMs,
);
