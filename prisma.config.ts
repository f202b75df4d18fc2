import path from 'node:path';
import { defineConfig } from 'prisma/config';

// `env("DATABASE_URL")` would throw when unset (even for `generate`), so read it directly: the
// Prisma CLI is only used for `generate` and `studio`; our own runner applies migrations.
export default defineConfig({
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' },
});
