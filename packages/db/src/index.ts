export {
  createDatabase,
  createDatabaseClient,
  DatabaseBusyError,
  isConnectionFailure,
  type Database,
  type DatabaseClientOptions,
} from './client.js';
export {
  TaskStatements,
  lockOwnerWithinQuota,
  taskRecordSelect,
  type NewTask,
  type SentStatement,
  type SortOrder,
  type TaskChanges,
  type TaskListQuery,
  type TaskRecord,
  type TaskSortField,
} from './task-statements.js';
export {
  resolveDevDatabase,
  defaultDevDataDir,
  defaultDevPort,
  type DevDatabase,
  type DevDatabaseOptions,
} from './dev-database.js';
export {
  embeddedClientOptions,
  ensureEmbeddedPostgres,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
  type EnsureEmbeddedPostgresOptions,
  type SharedEmbeddedPostgres,
  type StartEmbeddedPostgresOptions,
} from './embedded.js';
export {
  applyMigrations,
  createMigration,
  defaultMigrationsDir,
  defaultSchemaPath,
  getMigrationStatus,
  type CreateMigrationOptions,
  type MigrationStatus,
  type MigrationsOptions,
} from './migrations.js';
export { Prisma, PrismaClient } from './generated/prisma/client.js';
export type { Task, User } from './generated/prisma/client.js';
export { TaskStatus } from './generated/prisma/enums.js';
