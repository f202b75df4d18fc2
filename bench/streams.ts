/**
 * `pnpm bench:streams`: what the change feed's `GET /tasks/events` streams cost one instance, and
 * how soon a committed change reaches them. Runs the production bundle (built here first) on a
 * fresh database on DATABASE_URL's server, which it requires (LISTEN/NOTIFY, and the readers'
 * queries on real connections: not the embedded PGlite).
 *
 *  1. Idle subscribers: BENCH_STREAMS (1000,5000) streams, each step adding to the ones already
 *     open, spread evenly over 10 users; a stream counts once its 200 and first `retry:` line
 *     arrived. Reported: the server's VmRSS and VmHWM (/proc/<pid>/status) before the first
 *     stream and with each step's open, memory per stream (RSS delta / streams), the server's
 *     CPU while they idle (the largest step over a whole heartbeat interval, in which every
 *     stream re-reads the feed once), and GET /health latency meanwhile (the event loop).
 *  2. Commit to delivery: BENCH_LATENCY_STREAMS (1000) streams of ONE user, then BENCH_WRITES (50)
 *     sequential PATCH /tasks/{id} with that user's token. A latency is from the PATCH's response
 *     arriving (the commit) to one stream receiving that change's event (negative: the event came
 *     first); the next write waits until every stream has the last one (or 10 s). Every stream
 *     must get every change exactly once. Also the servers' CPU and the database's statements
 *     per write (from pg_stat_database, approximate). For each CHANGE_SIGNAL of BENCH_SIGNALS
 *     (notify,poll): on one instance, and across two (streams on A, writes to B; BENCH_CROSS=0
 *     skips these).
 *
 * Numbers, not assertions: the server, PostgreSQL and this client share the machine. One client
 * process holds every socket (node:http, an Agent without a socket cap, frames found by "\n\n"
 * and a title marker, no parsing of the JSON); its own event-loop delay and CPU are reported, to
 * show it is not the bottleneck. It needs open files above the largest step plus a few hundred
 * (node raises its soft limit to the hard one by itself; it stops early when `ulimit -Hn` is
 * lower). Streams keep the production heartbeat (STREAM_HEARTBEAT_MS, 15 s) and pool
 * (DB_POOL_SIZE 10, DB_POOL_MAX_WAITING 1000). Printed and written to bench/results/streams.md.
 * About 2 minutes on two cores, most of it the 4 x 50 writes, each waiting for its 1 000
 * deliveries. The servers inherit this environment under the settings set here (e.g.
 * SESSION_CACHE_MS, CHANGE_POLL_MS).
 *
 * Env: DATABASE_URL (required), BENCH_STREAMS (1000,5000), BENCH_LATENCY_STREAMS (1000, at most
 * 1000: MAX_STREAMS_PER_USER's ceiling), BENCH_WRITES (50), BENCH_SIGNALS (notify,poll),
 * BENCH_CROSS (1), BENCH_HOLD_MS (how long each idle step is watched, 5000), BENCH_SKIP_BUILD=1
 * (run apps/server/dist as it is).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyMigrations } from '../packages/db/src/index.js';
import { withClient } from '../packages/db/src/with-client.js';
import {
  buildProduction,
  createDatabase,
  databaseEnv,
  login,
  seedUser,
  startApi,
  writeResult,
  type BenchDatabase,
  type Server,
} from './harness.js';

const env = process.env;
const numbers = (value: string) => value.split(',').map((item) => Number(item.trim()));
const idleSteps = numbers(env.BENCH_STREAMS ?? '1000,5000').sort((a, b) => a - b);
const largestStep = idleSteps.at(-1) ?? 0;
const latencyStreams = Number(env.BENCH_LATENCY_STREAMS ?? 1000);
const writes = Number(env.BENCH_WRITES ?? 50);
const signals = (env.BENCH_SIGNALS ?? 'notify,poll').split(',').map((item) => item.trim());
const crossInstance = env.BENCH_CROSS !== '0';
const holdMs = Number(env.BENCH_HOLD_MS ?? 5000);
/** STREAM_HEARTBEAT_MS, left at its default: each stream's comment and re-read come this often. */
const heartbeatMs = 15_000;
/** MAX_STREAMS_PER_USER's ceiling (config.ts): one user cannot hold more on one instance. */
const perUserCeiling = 1000;
const users = Math.max(10, Math.ceil(largestStep / perUserCeiling));
/** Streams being opened at once: a burst of thousands would only measure the accept queue. */
const openConcurrency = 50;
/** How long a write's event may take to reach every stream before the next write goes. */
const deliveryTimeoutMs = 10_000;

// ---------------------------------------------------------------------------------------------
// File descriptors: every stream is a socket here and another in the server.

/**
 * Node raises its soft limit of open files to the hard one when it starts: only the hard limit
 * (`ulimit -Hn`, raised as root) can be too low.
 */
function checkOpenFiles(needed: number): void {
  const line = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  const limit = line?.[1] === 'unlimited' ? Infinity : Number(line?.[1]);
  if (limit < needed) {
    throw new Error(
      `this process may open ${limit} files and needs ${needed}: raise \`ulimit -Hn\` (as root) or lower BENCH_STREAMS`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Streams

interface Stream {
  /** Its place among the streams of one measurement. */
  index: number;
  request: http.ClientRequest;
  heartbeats: number;
  /** Frames that were neither `retry:`, a comment nor a change of the current measurement. */
  otherFrames: string[];
  /** The server ended it (an `error` event, shutdown, a dropped slow client) before we did. */
  endedByServer: boolean;
  closing: boolean;
}

/** What receives each change frame (`id:`, `event:`, `data:` lines), with when it arrived. */
type FrameSink = (stream: Stream, frame: string, atMs: number) => void;

const streamAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/**
 * Opens one stream; resolves once its 200 and first `retry:` line arrived ('200'), or with the
 * status or error that came instead.
 */
function openStream(
  baseUrl: string,
  token: string,
  index: number,
  sink: FrameSink,
): Promise<{ outcome: string; stream: Stream }> {
  return new Promise((resolve) => {
    const request = http.get(`${baseUrl}/tasks/events`, {
      agent: streamAgent,
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    });
    const stream: Stream = {
      index,
      request,
      heartbeats: 0,
      otherFrames: [],
      endedByServer: false,
      closing: false,
    };
    let settled = false;
    const settle = (outcome: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (outcome !== '200') request.destroy();
      resolve({ outcome, stream });
    };
    const timer = setTimeout(() => {
      settle('no retry: within 30 s');
    }, 30_000);
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (!stream.closing) stream.endedByServer = true;
      settle(error.code ?? error.message);
    });
    request.on('response', (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        settle(String(response.statusCode));
        return;
      }
      response.setEncoding('latin1');
      let buffer = '';
      response.on('data', (chunk: string) => {
        const at = performance.now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (frame.startsWith('retry:')) {
            if (settled) stream.endedByServer = true;
            settle('200');
          } else if (frame.startsWith(':')) stream.heartbeats += 1;
          else sink(stream, frame, at);
        }
      });
      response.on('close', () => {
        if (!stream.closing) stream.endedByServer = true;
        settle('closed before retry:');
      });
    });
  });
}

interface Opened {
  streams: Stream[];
  /** Outcome (status, error code) -> how many. */
  outcomes: Map<string, number>;
  seconds: number;
}

/** `count` streams, `openConcurrency` at a time; stream i uses tokens[(first + i) % tokens]. */
async function openStreams(
  baseUrl: string,
  tokens: string[],
  count: number,
  sink: FrameSink,
  first = 0,
): Promise<Opened> {
  const started = performance.now();
  const streams: Stream[] = [];
  const outcomes = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const token = tokens[(first + index) % tokens.length] ?? '';
      const { outcome, stream } = await openStream(baseUrl, token, index, sink);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (outcome === '200') streams.push(stream);
    }
  };
  await Promise.all(Array.from({ length: openConcurrency }, worker));
  return { streams, outcomes, seconds: (performance.now() - started) / 1000 };
}

async function closeStreams(streams: Stream[]): Promise<void> {
  for (const stream of streams) {
    stream.closing = true;
    stream.request.destroy();
  }
  // The server releases each stream (and its per-user slot) when it sees the socket close.
  await sleep(500);
}

const describeOutcomes = (outcomes: Map<string, number>) =>
  [...outcomes].map(([outcome, count]) => `${outcome} ×${count}`).join(', ');

// ---------------------------------------------------------------------------------------------
// Measuring

function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/**
 * Transactions the database has counted so far (every statement outside one is its own). Each
 * backend reports its counts at most once a second, so a difference is approximate.
 */
function transactionsSoFar(url: string): Promise<number> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ count: string }>(
      `SELECT (xact_commit + xact_rollback)::text AS count FROM pg_stat_database
       WHERE datname = current_database()`,
    );
    return Number(rows[0]?.count ?? NaN);
  });
}

/** A plain GET over a kept-alive socket; resolves with the round trip in ms. */
function timedGet(url: string, agent: http.Agent): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        response.resume();
        response.on('end', () => {
          resolve(performance.now() - started);
        });
      })
      .on('error', reject);
  });
}

interface Responsiveness {
  /** GET /health round trips, sorted, in ms. */
  health: number[];
  /** Server CPU over the window, in % of one core. */
  serverCpu: number;
  /** This client's event-loop delay p99 (ms) and CPU (% of one core) over the window. */
  clientLoopP99: number;
  clientCpu: number;
}

/** The histogram records whole timer intervals: the delay is what exceeds this. */
const loopResolutionMs = 10;
const clientLoop = monitorEventLoopDelay({ resolution: loopResolutionMs });
clientLoop.enable();

/** Sequential GET /health, 10 ms apart, for `ms`, with both processes' CPU meanwhile. */
async function watch(server: Server, ms: number): Promise<Responsiveness> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const cpuBefore = await server.cpuMicros();
  const clientCpuBefore = process.cpuUsage();
  clientLoop.reset();
  const started = performance.now();
  const health: number[] = [];
  while (performance.now() - started < ms) {
    health.push(await timedGet(`${server.baseUrl}/health`, agent));
    await sleep(10);
  }
  const elapsedMicros = (performance.now() - started) * 1000;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  agent.destroy();
  return {
    health: health.sort((a, b) => a - b),
    serverCpu: (((await server.cpuMicros()) - cpuBefore) / elapsedMicros) * 100,
    clientLoopP99: Math.max(0, clientLoop.percentile(99) / 1e6 - loopResolutionMs),
    clientCpu: ((clientCpu.user + clientCpu.system) / elapsedMicros) * 100,
  };
}

interface IdleStep {
  streams: number;
  opened: Opened;
  rssMiB: number;
  peakMiB: number;
  watched: Responsiveness;
  heartbeats: number;
  endedByServer: number;
  otherFrames: number;
}

interface IdleResult {
  before: { rssMiB: number; peakMiB: number; watched: Responsiveness };
  steps: IdleStep[];
}

async function measureIdle(server: Server, tokens: string[]): Promise<IdleResult> {
  const sink: FrameSink = (stream, frame) => {
    stream.otherFrames.push(frame);
  };
  // Warm up (JIT, statements, the session cache) so the baseline is not a cold process.
  const warm = await openStreams(server.baseUrl, tokens, 20, sink);
  await closeStreams(warm.streams);
  const beforeWatch = await watch(server, Math.min(holdMs, 3_000));
  const before = {
    rssMiB: await server.rssMiB(),
    peakMiB: await server.peakRssMiB(),
    watched: beforeWatch,
  };
  console.error(`idle: before any stream, VmRSS ${before.rssMiB.toFixed(1)} MiB`);
  const open: Stream[] = [];
  const steps: IdleStep[] = [];
  try {
    for (const target of idleSteps) {
      const opened = await openStreams(
        server.baseUrl,
        tokens,
        target - open.length,
        sink,
        open.length,
      );
      open.push(...opened.streams);
      // Each new stream reads the feed once after its `retry:`: let those finish.
      await sleep(1_000);
      const heartbeatsBefore = open.reduce((sum, stream) => sum + stream.heartbeats, 0);
      // The largest step is watched for a whole heartbeat interval: every stream re-reads once.
      const watched = await watch(server, target === largestStep ? heartbeatMs : holdMs);
      const step: IdleStep = {
        streams: open.length,
        opened,
        rssMiB: await server.rssMiB(),
        peakMiB: await server.peakRssMiB(),
        watched,
        heartbeats: open.reduce((sum, stream) => sum + stream.heartbeats, 0) - heartbeatsBefore,
        endedByServer: open.filter((stream) => stream.endedByServer).length,
        otherFrames: open.reduce((sum, stream) => sum + stream.otherFrames.length, 0),
      };
      steps.push(step);
      console.error(
        `idle: ${step.streams} open (${describeOutcomes(opened.outcomes)} in ${opened.seconds.toFixed(1)} s), VmRSS ${step.rssMiB.toFixed(1)} MiB, /health p99 ${percentile(watched.health, 99).toFixed(1)} ms`,
      );
    }
  } finally {
    await closeStreams(open);
  }
  return { before, steps };
}

interface DeliveryResult {
  label: string;
  opened: Opened;
  /** Every (stream, write) pair's latency in ms, sorted. */
  latencies: Float64Array;
  /** Per write: from its commit to the last stream having it (ms), sorted. */
  toAll: number[];
  /** PATCH round trips (ms), sorted. */
  writeMs: number[];
  writeFailures: number;
  exactlyOnce: number;
  missing: number;
  duplicates: number;
  strays: number;
  endedByServer: number;
  serverCpuMicrosPerWrite: number;
  /** Database transactions (statements) per write, all instances together; approximate. */
  transactionsPerWrite: number;
  /** This client's event-loop delay p99 (ms) and CPU (% of one core) while writing. */
  clientLoopP99: number;
  clientCpu: number;
}

let measurement = 0;

/** One PATCH of `taskId`'s title; resolves when its response head arrived, with its status. */
function patchTitle(
  server: Server,
  token: string,
  taskId: string,
  title: string,
  agent: http.Agent,
): Promise<{ status: number; at: number }> {
  const body = JSON.stringify({ title });
  return new Promise((resolve, reject) => {
    const request = http.request(`${server.baseUrl}/tasks/${taskId}`, {
      method: 'PATCH',
      agent,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
    });
    request.on('response', (response) => {
      const at = performance.now();
      response.resume();
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, at });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Streams of one user on `streamsOn`, sequential writes through `writesTo`. */
async function measureDelivery(
  databaseUrl: string,
  label: string,
  streamsOn: Server,
  writesTo: Server,
  token: string,
  taskId: string,
): Promise<DeliveryResult> {
  const id = ++measurement;
  const marker = new RegExp(`"title":"sb${id}-(\\d+)"`);
  const n = latencyStreams;
  const counts = new Uint16Array(n * writes);
  const arrivals = new Float64Array(n * writes);
  const received = new Uint32Array(writes);
  let strays = 0;
  let waiting: { write: number; resolve: () => void } | undefined;
  /** How many streams opened: what "every stream" means. */
  let listening = n;
  const sink: FrameSink = (stream, frame, at) => {
    const write = Number(marker.exec(frame)?.[1] ?? NaN);
    if (!(write >= 0 && write < writes)) {
      strays += 1;
      stream.otherFrames.push(frame);
      return;
    }
    const slot = stream.index * writes + write;
    const seen = counts[slot] ?? 0;
    counts[slot] = seen + 1;
    if (seen === 0) {
      arrivals[slot] = at;
      received[write] = (received[write] ?? 0) + 1;
      if (waiting?.write === write && received[write] === listening) waiting.resolve();
    }
  };
  const opened = await openStreams(streamsOn.baseUrl, [token], n, sink);
  const { streams } = opened;
  listening = streams.length;
  // Each stream reads the feed once after its `retry:`: let those finish before writing.
  await sleep(1_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const committed = new Float64Array(writes);
  const writeMs: number[] = [];
  let writeFailures = 0;
  const used = { serverCpuMicros: NaN, transactions: NaN, clientLoopP99: NaN, clientCpu: NaN };
  const involved = [...new Set([streamsOn, writesTo])];
  const cpuOf = async () => {
    let micros = 0;
    for (const server of involved) micros += await server.cpuMicros();
    return micros;
  };
  const transactionsBefore = await transactionsSoFar(databaseUrl);
  const cpuBefore = await cpuOf();
  const clientCpuBefore = process.cpuUsage();
  const writingSince = performance.now();
  clientLoop.reset();
  try {
    for (let write = 0; write < writes; write++) {
      const allReceived = new Promise<void>((resolve) => {
        waiting = { write, resolve };
        if (received[write] === streams.length) resolve();
      });
      const started = performance.now();
      const { status, at } = await patchTitle(writesTo, token, taskId, `sb${id}-${write}`, agent);
      committed[write] = at;
      writeMs.push(at - started);
      if (status !== 200) {
        writeFailures += 1;
        continue;
      }
      await Promise.race([allReceived, sleep(deliveryTimeoutMs, undefined, { ref: false })]);
    }
    // Late or repeated deliveries of the last writes.
    await sleep(500);
    used.serverCpuMicros = (await cpuOf()) - cpuBefore;
    // Past the backends' once-a-second report of their counts.
    await sleep(1_000);
    used.transactions = (await transactionsSoFar(databaseUrl)) - transactionsBefore - 1;
    used.clientLoopP99 = Math.max(0, clientLoop.percentile(99) / 1e6 - loopResolutionMs);
    const clientCpuUsed = process.cpuUsage(clientCpuBefore);
    used.clientCpu =
      ((clientCpuUsed.user + clientCpuUsed.system) / ((performance.now() - writingSince) * 1000)) *
      100;
  } finally {
    await closeStreams(streams);
    agent.destroy();
  }
  const latencies: number[] = [];
  const toAll: number[] = [];
  let exactlyOnce = 0;
  let missing = 0;
  let duplicates = 0;
  for (let write = 0; write < writes; write++) {
    let last = -Infinity;
    for (const stream of streams) {
      const slot = stream.index * writes + write;
      const count = counts[slot] ?? 0;
      if (count === 0) {
        missing += 1;
        continue;
      }
      if (count === 1) exactlyOnce += 1;
      else duplicates += count - 1;
      const latency = (arrivals[slot] ?? NaN) - (committed[write] ?? NaN);
      latencies.push(latency);
      last = Math.max(last, latency);
    }
    if (received[write] === streams.length && streams.length > 0) toAll.push(last);
  }
  const result: DeliveryResult = {
    label,
    opened,
    latencies: Float64Array.from(latencies).sort(),
    toAll: toAll.sort((a, b) => a - b),
    writeMs: writeMs.sort((a, b) => a - b),
    writeFailures,
    exactlyOnce,
    missing,
    duplicates,
    strays,
    endedByServer: streams.filter((stream) => stream.endedByServer).length,
    serverCpuMicrosPerWrite: used.serverCpuMicros / writes,
    transactionsPerWrite: used.transactions / writes,
    clientLoopP99: used.clientLoopP99,
    clientCpu: used.clientCpu,
  };
  console.error(
    `delivery ${label}: p50 ${percentile(result.latencies, 50).toFixed(1)} ms, p99 ${percentile(result.latencies, 99).toFixed(1)} ms, ${exactlyOnce}/${streams.length * writes} exactly once`,
  );
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');
const mib = (value: number) => value.toFixed(1);

function idleTable({ before, steps }: IdleResult): string[] {
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const health = (watched: Responsiveness) =>
    `${ms(percentile(watched.health, 50))} / ${ms(percentile(watched.health, 99))} / ${ms(watched.health.at(-1) ?? NaN)}`;
  return [
    '| open streams | opened this step (200 + `retry:`) | open time (s) | VmRSS (MiB) | VmHWM (MiB) | RSS per stream (KiB) | `/health` p50 / p99 / max (ms) | server CPU (% of a core, probes included) | client loop p99 (ms) / CPU (%) | heartbeats seen | ended by server |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    row([
      '0',
      '-',
      '-',
      mib(before.rssMiB),
      mib(before.peakMiB),
      '-',
      health(before.watched),
      before.watched.serverCpu.toFixed(0),
      `${ms(before.watched.clientLoopP99)} / ${before.watched.clientCpu.toFixed(0)}`,
      '-',
      '-',
    ]),
    ...steps.map((step) =>
      row([
        String(step.streams),
        describeOutcomes(step.opened.outcomes),
        step.opened.seconds.toFixed(1),
        mib(step.rssMiB),
        mib(step.peakMiB),
        (((step.rssMiB - before.rssMiB) * 1024) / step.streams).toFixed(1),
        health(step.watched),
        step.watched.serverCpu.toFixed(0),
        `${ms(step.watched.clientLoopP99)} / ${step.watched.clientCpu.toFixed(0)}`,
        String(step.heartbeats),
        String(step.endedByServer),
      ]),
    ),
  ];
}

function deliveryTable(results: DeliveryResult[]): string[] {
  return [
    '| signal, where | streams (one user) | deliveries exactly once / expected | missing / duplicates / stray | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | min (ms) | commit to all streams p50 / max (ms) | PATCH p50 (ms) | server CPU per write (ms) | DB statements per write (≈) | client loop p99 (ms) / CPU (%) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map((result) => {
      const { latencies, opened } = result;
      const expected = opened.streams.length * (writes - result.writeFailures);
      const cells = [
        result.label,
        opened.streams.length === latencyStreams
          ? String(latencyStreams)
          : `${opened.streams.length} of ${latencyStreams} (${describeOutcomes(opened.outcomes)})`,
        `${result.exactlyOnce} / ${expected}`,
        `${result.missing} / ${result.duplicates} / ${result.strays}`,
        ms(percentile(latencies, 50)),
        ms(percentile(latencies, 90)),
        ms(percentile(latencies, 99)),
        ms(latencies.at(-1) ?? NaN),
        ms(latencies[0] ?? NaN),
        `${ms(percentile(result.toAll, 50))} / ${ms(result.toAll.at(-1) ?? NaN)}`,
        ms(percentile(result.writeMs, 50)),
        (result.serverCpuMicrosPerWrite / 1000).toFixed(1),
        result.transactionsPerWrite.toFixed(0),
        `${ms(result.clientLoopP99)} / ${result.clientCpu.toFixed(0)}`,
      ];
      return `| ${cells.join(' | ')} |`;
    }),
  ];
}

function notes(idle: IdleResult, deliveries: DeliveryResult[]): string[] {
  const lines: string[] = [];
  for (const step of idle.steps) {
    if (step.otherFrames > 0) {
      lines.push(`- ${step.streams} idle streams: ${step.otherFrames} unexpected frames.`);
    }
  }
  for (const result of deliveries) {
    const problems: string[] = [];
    if (result.writeFailures > 0) problems.push(`${result.writeFailures} writes failed`);
    if (result.endedByServer > 0) {
      problems.push(`${result.endedByServer} streams ended by the server`);
    }
    if (result.toAll.length < writes) {
      problems.push(`${writes - result.toAll.length} writes never reached every stream`);
    }
    const stray = result.opened.streams.find((stream) => stream.otherFrames.length > 0)
      ?.otherFrames[0];
    if (stray) problems.push(`e.g. this stray frame: \`${stray.slice(0, 300)}\``);
    if (problems.length > 0) lines.push(`- ${result.label}: ${problems.join('; ')}.`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------

async function main(database: BenchDatabase) {
  const started = Date.now();
  const servers: Server[] = [];
  try {
    await applyMigrations({ url: database.url });
    const seeded = [];
    for (let user = 0; user < users; user++) {
      seeded.push(await seedUser(database.url, `streams${user}@example.com`, 10));
    }
    if (!env.BENCH_SKIP_BUILD) buildProduction();
    const jwtSecret = randomBytes(32).toString('base64url');
    const start = (name: string, signal: string) => {
      const server = startApi(name, {
        ...databaseEnv(database),
        JWT_SECRET: jwtSecret,
        LOG_LEVEL: 'warn',
        BCRYPT_COST: '10',
        RATE_LIMIT_MAX: '1000000',
        AUTH_RATE_LIMIT_MAX_PER_IP: '1000000',
        AUTH_RATE_LIMIT_MAX_PER_ACCOUNT: '1000000',
        CHANGE_SIGNAL: signal,
        MAX_STREAMS_PER_USER: String(perUserCeiling),
        MAX_STREAMS: String(Math.max(largestStep, latencyStreams) + 100),
        MAX_CONNECTIONS: String(Math.max(largestStep, latencyStreams) + 500),
      });
      return server.then((running) => {
        servers.push(running);
        return running;
      });
    };
    const stop = async (server: Server) => {
      servers.splice(servers.indexOf(server), 1);
      await server.stop();
    };

    let idle: IdleResult | undefined;
    const deliveries: DeliveryResult[] = [];
    for (const signal of signals) {
      const [a, b] = await Promise.all([
        start(`A (${signal})`, signal),
        crossInstance ? start(`B (${signal})`, signal) : undefined,
      ]);
      const tokens = await Promise.all(seeded.map((user) => login(a, user.email)));
      const token = tokens[0] ?? '';
      const taskId = seeded[0]?.taskIds[0] ?? '';
      idle ??= await measureIdle(a, tokens);
      deliveries.push(
        await measureDelivery(database.url, `${signal}, one instance`, a, a, token, taskId),
      );
      if (b) {
        deliveries.push(
          await measureDelivery(
            database.url,
            `${signal}, streams on A, writes to B`,
            a,
            b,
            token,
            taskId,
          ),
        );
      }
      for (const server of [a, b]) if (server) await stop(server);
    }
    if (!idle) throw new Error('BENCH_SIGNALS is empty');

    const report = [
      `## Change streams: idle subscribers and commit-to-delivery latency (${new Date().toISOString()})`,
      '',
      `Production bundle on ${database.description} (pool of ${database.poolSize}), node ${process.version}; one client process (node:http, no socket cap). Total ${((Date.now() - started) / 1000).toFixed(0)} s.`,
      '',
      `### Idle subscribers on one instance (CHANGE_SIGNAL=${signals[0] ?? ''})`,
      '',
      `Streams spread evenly over ${users} users, opened ${openConcurrency} at a time, each step adding to the streams already open; watched for ${(holdMs / 1000).toFixed(0)} s (the largest step for a whole heartbeat interval, ${heartbeatMs / 1000} s, STREAM_HEARTBEAT_MS's default: each stream then sends a comment and re-reads the feed once) with a GET /health every 10 ms. RSS per stream = (VmRSS with them open - VmRSS before) / open streams.`,
      '',
      ...idleTable(idle),
      '',
      `### Commit to delivery, ${latencyStreams} streams of one user`,
      '',
      `${writes} sequential PATCH /tasks/{id}; latency = the event reaching a stream - the PATCH's response arriving; each write waits until every stream has the previous one (at most ${deliveryTimeoutMs / 1000} s). "Exactly once": the stream got that change once, neither missed nor repeated.`,
      '',
      ...deliveryTable(deliveries),
      ...[notes(idle, deliveries)]
        .filter((lines) => lines.length > 0)
        .flatMap((lines) => ['', ...lines]),
    ].join('\n');
    console.log(report);
    await writeResult('streams.md', report);
  } finally {
    for (const server of [...servers]) await server.stop();
    await database.drop();
  }
}

checkOpenFiles(Math.max(largestStep, latencyStreams) + 300);
if (!env.DATABASE_URL) {
  throw new Error('DATABASE_URL is required (a PostgreSQL server; a database is created on it)');
}
await main(await createDatabase());
