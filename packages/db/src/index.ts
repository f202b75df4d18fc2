export {
  createDatabase,
  createDatabaseClient,
  DatabaseBusyError,
  isConnectionFailure,
  type Database,
  type DatabaseClientOptions,
} from './client.js';
export {
  TaskRepository,
  type IdempotencyRecord,
  type IdempotentCreate,
  type NewTask,
  type SortOrder,
  type ConditionalWrite,
  type TaskChanges,
  type WriteOptions,
  type TaskListQuery,
  type TaskRecord,
  type TaskSortField,
} from './task-repository.js';
export { isUniqueViolation } from './unique-violation.js';
export { type SentStatement } from './statements.js';
export { spanContextOf } from './trace-context.js';
export {
  ChangeRepository,
  changeTypes,
  type ChangePosition,
  type ChangeRecord,
  type ChangeType,
} from './change-repository.js';
export { changeListeners, type ChangeSignalSource } from './change-signals.js';
export {
  resolveDevDatabase,
  servesPglite,
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
export {
  AccountRepository,
  type AccountTokenPurpose,
  type CreateUserResult,
  type NewPersonalAccessToken,
  type NewSession,
  type NewUser,
  type PasswordChange,
  type PersonalAccessTokenRecord,
  type PersonalAccessTokenUse,
  type RefreshTokenRecord,
  type RefreshTokenRotation,
  type UserCredentials,
  type UserRecord,
} from './account-repository.js';
export {
  WebhookRepository,
  type AttemptOutcome,
  type NewWebhookEndpoint,
  type PendingDelivery,
  type WebhookAttemptRecord,
  type WebhookDeliveryRecord,
  type WebhookDeliveryStatus,
  type WebhookEndpointChanges,
  type WebhookEndpointRecord,
} from './webhook-repository.js';
