// `pnpm db:seed`: a demo account with realistic tasks, in DATABASE_URL or the embedded dev
// database. Creates only what is missing, so running it again changes nothing.
import { createHash } from 'node:crypto';
import { ApiError, createCaller, createContext, createServices, systemClock } from '@tasks/api';
import {
  createDatabase,
  embeddedClientOptions,
  getMigrationStatus,
  type Database,
} from '@tasks/db';
import { loadConfigOrExit, servicesConfig } from '../config.js';
import { openConfiguredDatabase } from '../database.js';
import { demoTasks, type DemoTask } from './demo-tasks.js';

const demoEmail = 'demo@example.com';
const defaultPassword = 'demo-password-123';
const dayMs = 24 * 60 * 60 * 1000;

// The same environment, `.env` and database as `pnpm dev`.
const config = loadConfigOrExit();
const password = config.seedPassword ?? defaultPassword;
const database = await openConfiguredDatabase(config);
if (database.source === 'embedded') console.error(`Embedded PostgreSQL: ${database.url}`);
const client = createDatabase({
  url: database.url,
  ...(database.servedByPglite
    ? embeddedClientOptions
    : { poolSize: config.dbPoolSize, preparedStatements: config.dbPreparedStatements }),
});
try {
  const { pending } = await getMigrationStatus({
    url: database.url,
    migrationsDir: config.migrationsDir,
  });
  if (pending.length > 0) {
    throw new Error(`${pending.length} migration(s) pending: run \`pnpm db:migrate\` first`);
  }
  const demoUser = await ensureDemoUser(client);
  // Existing rows (same fixed id) are left alone, edited or not: only missing tasks are added.
  const count = await client.tasks.insertMissing(
    demoTasks.map((task) => toRow(task, demoUser.userId, systemClock.now())),
  );
  console.log(
    demoUser.isNew
      ? `Created ${demoEmail} with password ${config.seedPassword ? 'from SEED_PASSWORD' : defaultPassword}`
      : `${demoEmail} already exists; its password was left unchanged`,
  );
  console.log(`Tasks: ${count} created, ${demoTasks.length - count} already present`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  await client.close();
  await database.stop();
}

/**
 * Registers through the API's own procedure, so the email is normalised, the password checked
 * against the same rules and hashed exactly as `POST /auth/register` does.
 */
async function ensureDemoUser({
  tasks,
  accounts,
  changes,
  webhooks,
}: Database): Promise<{ userId: string; isNew: boolean }> {
  const services = createServices({
    tasks,
    accounts,
    changes,
    webhooks,
    clock: systemClock,
    config: servicesConfig(config),
  });
  const caller = createCaller(
    createContext(services, {
      requestId: 'db-seed',
      authorization: undefined,
      clientAddress: 'db-seed',
      log: {
        error: (details, message) => {
          console.error(message, details);
        },
        warn: (details, message) => {
          console.warn(message, details);
        },
        info: (details, message) => {
          console.info(message, details);
        },
      },
    }),
  );
  try {
    const user = await caller.auth.register({ email: demoEmail, password });
    return { userId: user.id, isNew: true };
  } catch (error) {
    if (!(error instanceof ApiError && error.apiCode === 'EMAIL_TAKEN')) throw error;
    const user = await accounts.findCredentials(demoEmail);
    if (!user) throw error;
    return { userId: user.id, isNew: false };
  }
}

/**
 * A fixed id per title (a name-based UUID, version 8) is what makes the seed idempotent; the
 * hour of day varies by task so that lists sorted by time look like real use.
 */
function toRow(task: DemoTask, ownerId: string, now: Date) {
  const digest = createHash('sha256').update(`tasks-api demo task: ${task.title}`).digest();
  digest.writeUInt8((digest.readUInt8(6) & 0x0f) | 0x80, 6);
  digest.writeUInt8((digest.readUInt8(8) & 0x3f) | 0x80, 8);
  const hex = digest.toString('hex', 0, 16);
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

  const hourOffsetMs = (digest.readUInt8(0) % 9) * 60 * 60 * 1000;
  const daysAgo = (days: number) => new Date(now.getTime() - days * dayMs - hourOffsetMs);
  const createdAt = daysAgo(task.createdDaysAgo);
  const changed = task.updatedDaysAgo !== undefined;
  return {
    id,
    ownerId,
    title: task.title,
    description: task.description ?? null,
    status: task.status,
    // Each change bumped the version: done tasks usually went through in progress first.
    version: !changed ? 1 : task.status === 'done' ? 3 : 2,
    createdAt,
    updatedAt: task.updatedDaysAgo === undefined ? createdAt : daysAgo(task.updatedDaysAgo),
  };
}
