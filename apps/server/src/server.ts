import { buildApp } from './app.js';
import { loadConfigOrExit } from './config.js';
import { openServiceDatabase } from './database.js';
import { closeGracefully } from './graceful-close.js';
import { createMetrics, serveMetrics, type MetricsServer } from './metrics.js';
import { flushTraces } from './traces.js';

async function main(): Promise<void> {
  const { database, config } = await openServiceDatabase(loadConfigOrExit());
  // Recorded by the app, served on a port of their own once the API listens.
  const metrics = config.metrics ? createMetrics() : undefined;
  const app = await buildApp(config, { metrics });
  let metricsServer: MetricsServer | undefined;
  if (database.source === 'embedded') {
    app.log.info({ url: database.url }, 'using the embedded development database');
  } else if (database.servedByPglite) {
    app.log.warn(
      'DATABASE_URL is an embedded PostgreSQL (PGlite): one connection, no prepared statements; fine for a trial, not for production',
    );
  }

  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closing) {
      app.log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    closing = true;
    app.log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    // In-flight requests get the grace period; a request that hangs must not keep the process.
    setTimeout(() => {
      app.log.error('grace period over: exiting with requests still in flight');
      process.exit(1);
    }, config.shutdownGraceMs).unref();
    await closeGracefully(app, { drainMs: config.shutdownDrainMs });
    // Scraped to the end: the drain shows in the metrics.
    await metricsServer?.close();
    await database.stop();
    // The spans of the last requests, which exiting would drop.
    await flushTraces();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void shutdown(signal));
  }

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL') throw error;
    // A person fixes this with a setting, not a stack trace.
    await exitAfterFailedListen(
      `Cannot listen on ${config.host}:${config.port} (${code}): set PORT (or HOST) to a free address`,
    );
  }
  if (metrics && config.metrics) {
    metricsServer = await serveMetrics(metrics, config.metrics, app.log).catch((error: unknown) =>
      exitAfterFailedListen((error as Error).message),
    );
  }

  async function exitAfterFailedListen(message: string): Promise<never> {
    console.error(message);
    await app.close();
    await database.stop();
    process.exit(1);
  }
}

await main();
