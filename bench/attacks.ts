/**
 * `pnpm bench:attacks`: what a hostile client costs the real server, measured rather than
 * asserted (the attack tests assert behaviour; this reports memory and latency).
 *  A. Unbounded bodies: the server's RSS, and `/health` latency, while three clients each stream
 *     a huge chunked body it should refuse long before the end (multipart to `/trpc`, then
 *     JSON to REST).
 *  B. bcrypt storm: other users' login latency while an attacker with a valid token sends
 *     batches of wrong `currentPassword` guesses to `auth.changePassword`: once, as reported
 *     (B1), and repeated without pause (B2).
 * Starts the real server in a child process (a fresh database on DATABASE_URL's server, dropped
 * at the end; else its embedded database) with the production bcrypt cost and the default
 * limits, which are part of what is measured: a fresh process per measurement, so no budget
 * spent by one is missing from the next. Prints markdown tables, also written to
 * bench/results/attacks.md. Numbers, not assertions: the machine is shared and noisy, and the
 * clients run on it too.
 *
 * Clients that stand for different people connect from different loopback addresses (the
 * server keys its budgets by the TCP peer), so the victims are not throttled for the attacker's
 * requests. Each login sample is another victim's (one login idle, one under attack): one
 * account signing in every few hundred milliseconds would measure its own budgets instead.
 *
 * Env: DATABASE_URL (server to create the database on), BCRYPT_COST (12),
 * ATTACKS_PHASE_TIMEOUT_MS (cap on each measurement, 60000).
 */
import { randomBytes } from 'node:crypto';
import { once, setMaxListeners } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, spawnServer, type SpawnedServer } from '../apps/server/test/spawn-server.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = path.join(repoRoot, 'bench', 'results');
const env = process.env;
const bcryptCost = env.BCRYPT_COST ?? '12';
const phaseTimeoutMs = Number(env.ATTACKS_PHASE_TIMEOUT_MS ?? 60_000);
const password = 'correct horse battery';
const mebibyte = 1024 * 1024;

/** The issue's goals. */
const goals = { rssGrowthMiB: 32, healthP99Ms: 50, loginP99Ratio: 2 };

/** Variables that would change a limit under measurement: the server gets its defaults. */
const limitVariables = [
  'BODY_LIMIT_BYTES',
  'RATE_LIMIT_MAX',
  'RATE_LIMIT_WINDOW_MS',
  'AUTH_RATE_LIMIT_MAX_PER_IP',
  'AUTH_RATE_LIMIT_MAX_PER_ACCOUNT',
  'AUTH_RATE_LIMIT_WINDOW_MS',
  'PASSWORD_HASH_CONCURRENCY',
  'PASSWORD_HASH_QUEUE',
  'TRPC_MAX_BATCH_SIZE',
  'MAX_CONNECTIONS',
  'HEADERS_TIMEOUT_MS',
  'REQUEST_TIMEOUT_MS',
  'LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS',
  'LOAD_SHED_MAX_HEAP_USED_MB',
  'REDIS_URL',
];

/** Who connects from where: one address per person (each victim has its own as well). */
const addresses = { prober: '127.0.0.1', uploader: '127.0.0.2', attacker: '127.0.0.3' };

// ---------------------------------------------------------------------------------------------
// Server and database

interface Database {
  description: string;
  /** The server's environment for this database (a fresh embedded port on each start). */
  serverEnv(): Promise<Record<string, string | undefined>>;
  drop(): Promise<void>;
}

async function admin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function createDatabase(): Promise<Database> {
  const adminUrl = env.DATABASE_URL;
  if (!adminUrl) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tasks-attacks-'));
    return {
      description: 'embedded PGlite (no DATABASE_URL)',
      serverEnv: async () => ({
        DATABASE_URL: undefined,
        EMBEDDED_DB_DIR: path.join(dataDir, 'pglite'),
        EMBEDDED_DB_PORT: String(await freePort()),
      }),
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `tasks_attacks_${randomBytes(4).toString('hex')}`;
  await admin(adminUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    description: `PostgreSQL at ${url.host}`,
    serverEnv: async () => ({ DATABASE_URL: url.toString() }),
    drop: () => admin(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

async function startServer(database: Database): Promise<SpawnedServer> {
  return spawnServer({
    ...Object.fromEntries(limitVariables.map((name) => [name, undefined])),
    ...(await database.serverEnv()),
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    BCRYPT_COST: bcryptCost,
  });
}

/** A server still busy with an attack may outlive its grace period: it is killed then. */
async function stopServer(server: SpawnedServer): Promise<void> {
  const kill = setTimeout(() => void server.stop('SIGKILL'), 20_000);
  await server.stop('SIGTERM');
  clearTimeout(kill);
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kilobytes = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (!kilobytes) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kilobytes) * 1024;
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const clockTicksPerSecond = 100;

/** CPU time (user + system, every thread) the process used so far, in seconds. */
async function cpuSeconds(pid: number): Promise<number> {
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

/** Share of one core the server and this process (all the clients) used while `work` ran. */
async function cpuDuring<T>(pid: number, work: () => Promise<T>) {
  const start = performance.now();
  const serverBefore = await cpuSeconds(pid);
  const clientsBefore = process.cpuUsage();
  const result = await work();
  const clients = process.cpuUsage(clientsBefore);
  const seconds = (performance.now() - start) / 1000;
  const usage: CpuUsage = {
    server: (await cpuSeconds(pid)) - serverBefore,
    clients: (clients.user + clients.system) / 1e6,
    seconds,
  };
  return { result, usage };
}

interface CpuUsage {
  server: number;
  clients: number;
  seconds: number;
}

/** The highest RSS seen every ~50 ms until `stop` aborts. */
async function peakRss(pid: number, stop: AbortSignal): Promise<number> {
  let peak = 0;
  while (!stop.aborted) {
    peak = Math.max(peak, await rssBytes(pid));
    await sleep(50);
  }
  return Math.max(peak, await rssBytes(pid));
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface Answer {
  status: number;
  body: string;
}

interface SendOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string;
  localAddress: string;
  agent?: http.Agent;
  signal?: AbortSignal;
}

/** One request over node:http, so that each client can choose its source address. */
function send(baseUrl: string, route: string, options: SendOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${baseUrl}${route}`, {
      method: options.method ?? 'GET',
      headers: options.headers,
      localAddress: options.localAddress,
      agent: options.agent ?? false,
      signal: options.signal,
    });
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() });
      });
    });
    request.end(options.body);
  });
}

const postJson = (baseUrl: string, route: string, body: unknown, options: SendOptions) =>
  send(baseUrl, route, {
    ...options,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify(body),
  });

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The value at `keys` inside parsed JSON, if every step is an object. */
function dig(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) current = isRecord(current) ? current[key] : undefined;
  return current;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics

interface Sample {
  ms: number;
  /** Gave up waiting (the phase ended or the request's own deadline passed). */
  timedOut: boolean;
}

async function timed(work: (signal: AbortSignal) => Promise<unknown>, timeoutMs: number) {
  const start = performance.now();
  try {
    await work(AbortSignal.timeout(timeoutMs));
    return { ms: performance.now() - start, timedOut: false };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'AbortError';
    if (!timedOut) throw error;
    return { ms: performance.now() - start, timedOut };
  }
}

function percentile(samples: Sample[], p: number): Sample | undefined {
  const sorted = [...samples].sort((a, b) => a.ms - b.ms);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const ms = (sample: Sample | undefined) =>
  sample ? `${sample.timedOut ? '≥ ' : ''}${sample.ms.toFixed(1)} ms` : 'n/a';
const mib = (bytes: number) => `${(bytes / mebibyte).toFixed(1)} MiB`;
const met = (ok: boolean) => (ok ? 'met' : '**missed**');

/** `value ×count` pairs, most frequent first. */
function tally(values: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return (
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([value, count]) => `${value} ×${count}`)
      .join(', ') || 'none'
  );
}

/** A probe still unanswered after this is counted as timed out (and at least this slow). */
const healthTimeoutMs = 10_000;

/**
 * Sequential `/health` requests, ~20 ms apart, until `stop` aborts. The request in flight then
 * is let finish: cutting it short would record a fast probe as a timeout.
 */
async function probeHealth(baseUrl: string, stop: AbortSignal): Promise<Sample[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples: Sample[] = [];
  try {
    while (!stop.aborted) {
      samples.push(
        await timed(
          (signal) => send(baseUrl, '/health', { localAddress: addresses.prober, agent, signal }),
          healthTimeoutMs,
        ),
      );
      await sleep(20);
    }
  } finally {
    agent.destroy();
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------
// A. Unbounded bodies

interface BodyAttack {
  label: string;
  route: string;
  contentType: string;
  /** The start of a plausible body; the rest is filler up to `bodyBytes`. */
  preamble: string;
  /** The same kind of request, small: run once first so first-use costs are not counted. */
  warmUp: string;
}

const bodyBytes = 300 * mebibyte;
const uploaders = 3;
/** Long enough for a few hundred `/health` samples even when every upload is refused at once. */
const minimumWindowMs = 5_000;

const bodyAttacks: BodyAttack[] = [
  {
    label: 'multipart/form-data to POST /trpc/auth.login',
    route: '/trpc/auth.login',
    contentType: 'multipart/form-data; boundary=X',
    preamble: '--X\r\nContent-Disposition: form-data; name="0"; filename="a"\r\n\r\n',
    warmUp: '--X\r\nContent-Disposition: form-data; name="0"\r\n\r\n{}\r\n--X--\r\n',
  },
  {
    label: 'application/json to POST /auth/login',
    route: '/auth/login',
    contentType: 'application/json',
    preamble: '{"email":"nobody@example.com","password":"',
    warmUp: '{"email":"nobody@example.com","password":"wrong password"}',
  },
];

interface UploadOutcome {
  /** The status code, or how the exchange ended without one. */
  answer: string;
  afterMs: number;
  /** Body bytes handed to the socket when it ended. */
  written: number;
}

/**
 * Streams `bodyBytes` of chunked body, one 1 MiB chunk at a time and only after the previous
 * one drained, so the client never holds more than that. It stops writing as soon as the
 * server answers or the connection ends; the connection is then dropped, since what the server
 * does with the unread rest is no longer this client's concern.
 */
function upload(baseUrl: string, attack: BodyAttack, deadline: AbortSignal) {
  return new Promise<UploadOutcome>((resolve) => {
    const start = performance.now();
    const ended = new AbortController();
    let written = 0;
    const request = http.request(`${baseUrl}${attack.route}`, {
      method: 'POST',
      agent: false,
      localAddress: addresses.uploader,
      headers: { 'content-type': attack.contentType, 'transfer-encoding': 'chunked' },
    });
    const settle = (answer: string) => {
      if (ended.signal.aborted) return;
      ended.abort();
      resolve({ answer, afterMs: performance.now() - start, written });
      request.destroy();
    };
    request.on('response', (response) => {
      settle(String(response.statusCode));
    });
    // After an answer these are the expected end of a refused upload; before one, the result.
    request.on('error', (error: NodeJS.ErrnoException) => {
      settle(`connection error ${error.code ?? error.message}`);
    });
    request.on('close', () => {
      settle('closed without an answer');
    });
    const onDeadline = () => {
      settle('timed out');
    };
    deadline.addEventListener('abort', onDeadline, { once: true });
    ended.signal.addEventListener('abort', () => {
      deadline.removeEventListener('abort', onDeadline);
    });

    const filler = Buffer.alloc(mebibyte, 'a');
    const write = async (chunk: Buffer) => {
      written += chunk.length;
      if (!request.write(chunk)) {
        await once(request, 'drain', { signal: ended.signal }).catch(() => undefined);
      }
    };
    void (async () => {
      await write(Buffer.from(attack.preamble));
      while (!ended.signal.aborted && written < bodyBytes) {
        await write(filler.subarray(0, Math.min(filler.length, bodyBytes - written)));
      }
      if (!ended.signal.aborted) request.end();
    })();
  });
}

interface BodyResult {
  attack: BodyAttack;
  rssBefore: number;
  rssPeak: number;
  idleHealth: Sample[];
  loadedHealth: Sample[];
  outcomes: UploadOutcome[];
}

async function measureBodies(database: Database, attack: BodyAttack): Promise<BodyResult> {
  const server = await startServer(database);
  const pid = server.pid;
  if (pid === undefined) throw new Error('the server process has no pid');
  try {
    // Only its side effect matters: whatever it answers, the code paths are loaded.
    await send(server.baseUrl, attack.route, {
      method: 'POST',
      headers: { 'content-type': attack.contentType },
      body: attack.warmUp,
      localAddress: addresses.uploader,
    }).catch(() => undefined);
    const idleHealth = await probeHealth(server.baseUrl, AbortSignal.timeout(2_000));
    const rssBefore = await rssBytes(pid);

    const stop = new AbortController();
    const peak = peakRss(pid, stop.signal);
    const health = probeHealth(server.baseUrl, stop.signal);
    const window = sleep(minimumWindowMs);
    const deadline = AbortSignal.timeout(phaseTimeoutMs);
    const outcomes = await Promise.all(
      Array.from({ length: uploaders }, () => upload(server.baseUrl, attack, deadline)),
    );
    await window;
    // Memory the server takes while dropping the refused connections counts too.
    await sleep(500);
    stop.abort();
    return {
      attack,
      rssBefore,
      rssPeak: await peak,
      idleHealth,
      loadedHealth: await health,
      outcomes,
    };
  } finally {
    await stopServer(server);
  }
}

// ---------------------------------------------------------------------------------------------
// B. bcrypt storm

const victimSamples = 40;
const victimWarmUp = 3;
const attackers = 12;
const guessesPerBatch = 25;

interface Victim {
  email: string;
  localAddress: string;
}

/** Victims' logins, and what each was answered. */
function createVictims(baseUrl: string) {
  const statuses: string[] = [];
  return {
    statuses,
    /** Rejects only when `signal` aborts it (a timeout); any other failure is a status. */
    async login({ email, localAddress }: Victim, signal?: AbortSignal): Promise<void> {
      try {
        const answer = await postJson(
          baseUrl,
          '/auth/login',
          { email, password },
          { localAddress, ...(signal && { signal }) },
        );
        statuses.push(String(answer.status));
      } catch (error) {
        if (error instanceof Error && error.name === 'AbortError') {
          statuses.push('timed out');
          throw error;
        }
        const code = (error as NodeJS.ErrnoException).code;
        statuses.push(`connection error ${code ?? String(error)}`);
      }
    },
  };
}

async function register(baseUrl: string, email: string, localAddress: string): Promise<void> {
  const registered = await postJson(
    baseUrl,
    '/auth/register',
    { email, password },
    { localAddress },
  );
  if (registered.status !== 201) {
    throw new Error(`registering ${email}: ${registered.status} ${registered.body}`);
  }
}

async function registerAndLogin(
  baseUrl: string,
  email: string,
  localAddress: string,
): Promise<string> {
  await register(baseUrl, email, localAddress);
  const loggedIn = await postJson(baseUrl, '/auth/login', { email, password }, { localAddress });
  const token = dig(parseJson(loggedIn.body), 'accessToken');
  if (loggedIn.status !== 200 || typeof token !== 'string') {
    throw new Error(`logging in ${email}: ${loggedIn.status} ${loggedIn.body}`);
  }
  return token;
}

/** The code of each call in a tRPC answer (its `data.code`, `OK` for a result). */
function callCodes(body: string): string[] {
  const parsed = parseJson(body);
  const entries: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
  return entries.map((entry) => {
    if (dig(entry, 'result') !== undefined) return 'OK';
    const code =
      dig(entry, 'error', 'json', 'data', 'code') ??
      dig(entry, 'error', 'data', 'code') ??
      dig(entry, 'code');
    return typeof code === 'string' ? code : 'unreadable';
  });
}

interface Storm {
  /** Batch requests answered, and those still unanswered when the storm stopped. */
  answered: number;
  unanswered: number;
  statuses: string[];
  calls: string[];
}

/**
 * `attackers` concurrent batches of wrong guesses, each sent again as soon as it is answered,
 * until `stop` aborts (which drops the batches in flight). The attacker ignores Retry-After:
 * refusals are only as cheap as the server makes them.
 */
/**
 * How the attacker sends: `burst` is the storm the issue reported (12 requests of 25 guesses,
 * once); `flood` repeats them without pause for the whole measurement, ignoring Retry-After.
 */
type StormKind = 'burst' | 'flood';

async function bcryptStorm(
  baseUrl: string,
  token: string,
  stop: AbortSignal,
  kind: StormKind,
): Promise<Storm> {
  const route = `/trpc/${Array.from({ length: guessesPerBatch }, () => 'auth.changePassword').join(',')}?batch=1`;
  const body = JSON.stringify(
    Object.fromEntries(
      Array.from({ length: guessesPerBatch }, (_, index) => [
        index,
        { json: { currentPassword: `wrong ${index}`, newPassword: `brand new password ${index}` } },
      ]),
    ),
  );
  // Every attacker's request in flight listens to it.
  setMaxListeners(attackers + 1, stop);
  const agent = new http.Agent({ keepAlive: true, maxSockets: attackers });
  const storm: Storm = { answered: 0, unanswered: 0, statuses: [], calls: [] };
  await Promise.all(
    Array.from({ length: attackers }, async () => {
      for (let sent = 0; !stop.aborted && (kind === 'flood' || sent < 1); sent++) {
        try {
          const answer = await send(baseUrl, route, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body,
            localAddress: addresses.attacker,
            agent,
            signal: stop,
          });
          storm.answered++;
          storm.statuses.push(String(answer.status));
          storm.calls.push(...callCodes(answer.body));
        } catch (error) {
          if (error instanceof Error && error.name === 'AbortError') {
            storm.unanswered++;
            continue;
          }
          storm.answered++;
          const code = (error as NodeJS.ErrnoException).code;
          storm.statuses.push(`connection error ${code ?? String(error)}`);
        }
      }
    }),
  );
  agent.destroy();
  return storm;
}

interface StormResult {
  kind: StormKind;
  idle: Sample[];
  loaded: Sample[];
  victimStatuses: { idle: string[]; loaded: string[] };
  cpu: { idle: CpuUsage; loaded: CpuUsage };
  storm: Storm;
}

async function measureStorm(database: Database, kind: StormKind): Promise<StormResult> {
  const server = await startServer(database);
  const { baseUrl, pid } = server;
  if (pid === undefined) throw new Error('the server process has no pid');
  try {
    const stamp = Date.now();
    const victims: Victim[] = Array.from({ length: victimSamples + victimWarmUp }, (_, index) => ({
      email: `victim-${stamp}-${index}@example.com`,
      localAddress: `127.0.1.${index + 1}`,
    }));
    for (const { email, localAddress } of victims) await register(baseUrl, email, localAddress);
    const token = await registerAndLogin(
      baseUrl,
      `attacker-${stamp}@example.com`,
      addresses.attacker,
    );

    const logins = createVictims(baseUrl);
    const measured = victims.slice(0, victimSamples);
    for (const victim of victims.slice(victimSamples)) await logins.login(victim);
    logins.statuses.length = 0;
    const { result: idle, usage: idleCpu } = await cpuDuring(pid, async () => {
      const samples: Sample[] = [];
      for (const victim of measured) {
        samples.push(await timed((signal) => logins.login(victim, signal), phaseTimeoutMs));
      }
      return samples;
    });
    const idleStatuses = logins.statuses.splice(0);

    const stop = new AbortController();
    const storm = bcryptStorm(baseUrl, token, stop.signal, kind);
    const until = AbortSignal.timeout(phaseTimeoutMs);
    const { result: loaded, usage: loadedCpu } = await cpuDuring(pid, async () => {
      const samples: Sample[] = [];
      for (const victim of measured) {
        if (until.aborted) break;
        samples.push(
          await timed(
            (signal) => logins.login(victim, AbortSignal.any([signal, until])),
            phaseTimeoutMs,
          ),
        );
      }
      return samples;
    });
    stop.abort();
    return {
      kind,
      idle,
      loaded,
      victimStatuses: { idle: idleStatuses, loaded: logins.statuses.splice(0) },
      cpu: { idle: idleCpu, loaded: loadedCpu },
      storm: await storm,
    };
  } finally {
    await stopServer(server);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const tableRow = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const tableHead = (cells: string[]) => [tableRow(cells), tableRow(cells.map(() => '---'))];

/** p50 / p99 / max (samples, timeouts). */
function latencies(samples: Sample[]): string {
  const timeouts = samples.filter((sample) => sample.timedOut).length;
  const points = [50, 99, 100].map((p) => ms(percentile(samples, p))).join(' / ');
  return `${points} (${samples.length}${timeouts ? `, ${timeouts} timed out` : ''})`;
}

const below = (sample: Sample | undefined, limit: number) =>
  sample !== undefined && !sample.timedOut && sample.ms < limit;

function bodyReport(results: BodyResult[]): string[] {
  const lines = [
    `### A. Unbounded bodies: ${uploaders} clients × ${bodyBytes / mebibyte} MiB chunked, /health every ~20 ms\n`,
    ...tableHead([
      'request',
      'RSS before',
      'RSS peak',
      'growth',
      '/health idle p50 / p99 / max (n)',
      '/health during p50 / p99 / max (n)',
      `growth < ${goals.rssGrowthMiB} MiB`,
      `/health p99 < ${goals.healthP99Ms} ms`,
    ]),
  ];
  for (const result of results) {
    const growth = result.rssPeak - result.rssBefore;
    lines.push(
      tableRow([
        result.attack.label,
        mib(result.rssBefore),
        mib(result.rssPeak),
        mib(growth),
        latencies(result.idleHealth),
        latencies(result.loadedHealth),
        met(growth < goals.rssGrowthMiB * mebibyte),
        met(below(percentile(result.loadedHealth, 99), goals.healthP99Ms)),
      ]),
    );
  }
  lines.push('', ...tableHead(['request', 'client', 'answer', 'after', 'body written by then']));
  for (const result of results) {
    result.outcomes.forEach((outcome, index) => {
      lines.push(
        tableRow([
          result.attack.label,
          index + 1,
          outcome.answer,
          `${outcome.afterMs.toFixed(0)} ms`,
          mib(outcome.written),
        ]),
      );
    });
  }
  return lines;
}

function stormReport({ kind, idle, loaded, victimStatuses, cpu, storm }: StormResult): string[] {
  const idleP99 = percentile(idle, 99);
  const loadedP99 = percentile(loaded, 99);
  const ratio = idleP99 && loadedP99 ? loadedP99.ms / idleP99.ms : NaN;
  const slowest = (samples: Sample[]) => {
    const max = percentile(samples, 100);
    return max ? `#${samples.indexOf(max) + 1}` : 'n/a';
  };
  const share = (seconds: number, of: number) => `${((seconds / of) * 100).toFixed(0)} %`;
  const row = (label: string, samples: Sample[], statuses: string[], usage: CpuUsage) =>
    tableRow([
      label,
      samples.length,
      tally(statuses),
      ...[50, 99, 100].map((p) => ms(percentile(samples, p))),
      slowest(samples),
      `${share(usage.server, usage.seconds)} / ${share(usage.clients, usage.seconds)}`,
    ]);
  const ratioText = Number.isNaN(ratio)
    ? 'n/a'
    : `${ratio.toFixed(2)}×${loadedP99?.timedOut ? ' (at least)' : ''}`;
  return [
    kind === 'burst'
      ? `### B1. bcrypt storm as reported: other users' sequential logins (each victim once idle, once under attack) from the moment ${attackers} concurrent batches of ${guessesPerBatch} wrong \`currentPassword\` guesses are sent\n`
      : `### B2. The same storm as a flood: the ${attackers} batches repeated without pause for the whole measurement, ignoring Retry-After\n`,
    ...tableHead([
      'victim POST /auth/login',
      'samples',
      'statuses',
      'p50',
      'p99',
      'max',
      'slowest sample',
      'CPU of a core: server / bench clients',
    ]),
    row('idle', idle, victimStatuses.idle, cpu.idle),
    row('during the storm', loaded, victimStatuses.loaded, cpu.loaded),
    '',
    `p99 during / idle: ${ratioText} (goal < ${goals.loginP99Ratio}×: ${met(ratio < goals.loginP99Ratio && !loadedP99?.timedOut)}).`,
    '',
    `Attacker: ${storm.answered} batch requests answered (${storm.calls.length} calls), ${storm.unanswered} still unanswered when the storm stopped. HTTP statuses: ${tally(storm.statuses)}. Per-call codes: ${tally(storm.calls)}.`,
  ];
}

async function main() {
  const database = await createDatabase();
  try {
    const bodies: BodyResult[] = [];
    for (const attack of bodyAttacks) bodies.push(await measureBodies(database, attack));
    const burst = await measureStorm(database, 'burst');
    const flood = await measureStorm(database, 'flood');
    const report = [
      `## Attack benchmark (bcrypt cost ${bcryptCost}, default limits, ${database.description}, ${new Date().toISOString()})\n`,
      ...bodyReport(bodies),
      '',
      ...stormReport(burst),
      '',
      ...stormReport(flood),
    ].join('\n');
    console.log(report);
    await mkdir(resultsDir, { recursive: true });
    await writeFile(path.join(resultsDir, 'attacks.md'), `${report}\n`);
  } finally {
    await database.drop();
  }
}

await main();
