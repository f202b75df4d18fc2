// `pnpm worker` (the image's `node dist/worker.js`): the job workers alone, without HTTP, so they
// scale apart from the API (which then runs with JOBS_IN_API=false).
import { createServices, systemClock } from '@tasks/api';
import { connectBackends, createLogger, startConfiguredWorkers } from './backends.js';
import { loadConfigOrExit, servicesConfig } from './config.js';
import { openServiceDatabase } from './database.js';
import { createMetrics, serveMetrics } from './metrics.js';
import { flushTraces } from './traces.js';

const { database: served, config } = await openServiceDatabase(loadConfigOrExit('tool'));
if (served.servedByPglite) {
  // Its one session cannot serve a second process's workers beside the API's connection.
  console.error(
    'pnpm worker needs a PostgreSQL server (DATABASE_URL); on the embedded database the API runs the jobs (JOBS_IN_API=true)',
  );
  await served.stop();
  process.exit(1);
}
const log = createLogger(config);
// The job metrics live where the jobs run: this process serves its own when METRICS_PORT is set.
const metrics = config.metrics ? createMetrics() : undefined;
const metricsServer =
  metrics && config.metrics
    ? await serveMetrics(metrics, config.metrics, log).catch(async (error: unknown) => {
        console.error((error as Error).message);
        await served.stop();
        process.exit(1);
      })
    : undefined;
const { database, changeSignal } = connectBackends(config, log);
metrics?.watchPool('app', database.pool);
// The feed's signal tells the API's streams about the changes jobs record (`task.due`).
const services = createServices({
  ...database,
  changeSignal,
  clock: systemClock,
  config: servicesConfig(config),
});
const workers = await startConfiguredWorkers(config, {
  database,
  feed: services.changes,
  clock: systemClock,
  log,
  metrics,
});
log.info({ concurrency: config.jobs.concurrency }, 'workers started');

let stopping = false;
const stop = async (signal: NodeJS.Signals) => {
  if (stopping) process.exit(1);
  stopping = true;
  log.info({ signal }, 'stopping workers: running jobs finish or go back to the queue');
  setTimeout(() => {
    log.error('grace period over: exiting with jobs still running');
    process.exit(1);
  }, config.shutdownGraceMs).unref();
  await workers.stop();
  await metricsServer?.close();
  await changeSignal.close();
  await database.close();
  await served.stop();
  // The spans of the last jobs, which exiting would drop.
  await flushTraces();
  process.exit(0);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void stop(signal));
}
