/**
 * Preloaded into a spawned server (`node --import ./test/process-probe.ts`) by the soak test:
 * every PROBE_INTERVAL_MS it prints one line with the process's memory and its event-loop delay
 * since the previous line, measured inside the server, where no client can see them.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export const probeLinePrefix = 'process-probe ';

export interface ProbeSample {
  rssBytes: number;
  heapUsedBytes: number;
  /** Memory outside the V8 heap that JavaScript objects hold (buffers, WebAssembly memories). */
  externalBytes: number;
  /** How late the event loop ran a timer, beyond the timer's own period. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

/** The samples a server printed, in order. */
export function probeSamples(output: string): ProbeSample[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith(probeLinePrefix))
    .map((line) => JSON.parse(line.slice(probeLinePrefix.length)) as ProbeSample);
}

const resolutionMs = 10;

// Only when preloaded into a server, never when the test imports the parsing helpers above.
if (process.env.PROBE_INTERVAL_MS) {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  /** Histogram values (ns) include the timer period itself. */
  const delayMs = (ns: number) => Math.max(0, Math.round((ns / 1e6 - resolutionMs) * 100) / 100);
  setInterval(() => {
    const { rss, heapUsed, external } = process.memoryUsage();
    const sample: ProbeSample = {
      rssBytes: rss,
      heapUsedBytes: heapUsed,
      externalBytes: external,
      eventLoopDelayMs: {
        p50: delayMs(histogram.percentile(50)),
        p99: delayMs(histogram.percentile(99)),
        max: delayMs(histogram.max),
      },
    };
    histogram.reset();
    process.stdout.write(`${probeLinePrefix}${JSON.stringify(sample)}\n`);
  }, Number(process.env.PROBE_INTERVAL_MS)).unref();
}
