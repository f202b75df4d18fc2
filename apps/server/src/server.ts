import { buildApp } from './app.js';
import { loadConfigOrExit } from './config.js';
import { openServiceDatabase } from './database.js';
import { closeGracefully } from './graceful-close.js';

async function main(): Promise<void> {
  const { database, config } = await openServiceDatabase(loadConfigOrExit());
  const app = await buildApp(config);
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
    await database.stop();
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
    console.error(
      `Cannot listen on ${config.host}:${config.port} (${code}): set PORT (or HOST) to a free address`,
    );
    await app.close();
    await database.stop();
    process.exit(1);
  }
}

await main();
