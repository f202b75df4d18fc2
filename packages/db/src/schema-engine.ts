import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  ColumnTypeEnum,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type SqlQueryable,
} from '@prisma/driver-adapter-utils';
import type * as SchemaEngineGlue from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { SchemaEngine, SchemasContainer } from '@prisma/schema-engine-wasm/schema_engine_bg';
import { startEmbeddedPostgres } from './embedded.js';
import { withClient } from './with-client.js';

// Node's global, which the ES2023 lib (no DOM) does not declare.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

declare global {
  // The WASM glue reports Rust panics through this global (normally set up by the Prisma CLI).
  var PRISMA_WASM_PANIC_REGISTRY:
    { message: string; set_message(message: string): void } | undefined;
}

const CHAR_OID = 18; // PostgreSQL's internal single-byte "char"
const TEXT_OID = 25;

interface PgQueryableInternals {
  performIO(query: SqlQuery): Promise<{ fields: { dataTypeID: number }[] }>;
}

/**
 * The engine introspects catalog columns of type `"char"` (relkind, contype...), which
 * @prisma/adapter-pg 7.10 rejects, and needs them reported as Character (Text makes it panic on
 * PostgreSQL 18's NOT NULL constraints). adapter-pg has no hook for it, so its private `performIO`
 * relabels them as text and `queryRaw` then corrects their column types.
 */
function reportCharColumns<T extends SqlQueryable>(queryable: T): T {
  const internals = queryable as unknown as PgQueryableInternals;
  const performIO = internals.performIO.bind(queryable);
  const charColumns = new WeakMap<SqlQuery, boolean[]>();
  internals.performIO = async (query) => {
    const result = await performIO(query);
    const isChar = result.fields.map((field) => field.dataTypeID === CHAR_OID);
    if (isChar.some(Boolean)) {
      charColumns.set(query, isChar);
      for (const field of result.fields) {
        if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
      }
    }
    return result;
  };
  const queryRaw = queryable.queryRaw.bind(queryable);
  queryable.queryRaw = async (query) => {
    const result = await queryRaw(query);
    const isChar = charColumns.get(query);
    if (!isChar) return result;
    const columnTypes = result.columnTypes.map((type, i) =>
      isChar[i] ? ColumnTypeEnum.Character : type,
    );
    return { ...result, columnTypes };
  };
  return queryable;
}

interface PgAdapterInternals {
  client: { query(text: string): Promise<unknown> };
  onError(error: unknown): never;
}

/**
 * adapter-pg 7.10 runs a script (a migration, on the shadow database) by splitting it at every
 * `;`, which cuts a function body in a dollar-quoted string apart. PostgreSQL's simple query
 * protocol takes the whole script at once, as `psql` and the migration runner send it.
 */
function runScriptsWhole(adapter: SqlDriverAdapter): void {
  const internals = adapter as unknown as PgAdapterInternals;
  adapter.executeScript = async (script) => {
    try {
      await internals.client.query(script);
    } catch (error) {
      internals.onError(error);
    }
  };
}

function forEngine(adapter: SqlDriverAdapter): SqlDriverAdapter {
  runScriptsWhole(adapter);
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (isolationLevel) =>
    reportCharColumns(await startTransaction(isolationLevel));
  return reportCharColumns(adapter);
}

// The glue keeps the instance in module state: instantiating it twice would swap the memory
// under live engines, so it is loaded once per process.
let glue: Promise<typeof SchemaEngineGlue> | undefined;

function loadGlue(): Promise<typeof SchemaEngineGlue> {
  glue ??= (async () => {
    globalThis.PRISMA_WASM_PANIC_REGISTRY ??= {
      message: '',
      set_message(message) {
        this.message = `RuntimeError: ${message}`;
      },
    };
    // The package targets bundlers (`import * as wasm from '*.wasm'`): instantiate it by hand.
    const bg = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const gluePath = createRequire(import.meta.url).resolve(
      '@prisma/schema-engine-wasm/schema_engine_bg',
    );
    const module = new WebAssembly.Module(
      await readFile(path.join(path.dirname(gluePath), 'schema_engine_bg.wasm')),
    );
    const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': bg });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bg;
  })();
  return glue;
}

/** True for PGlite served over the socket, which has one database and so no room for a shadow. */
async function isPglite(url: string): Promise<boolean> {
  const { rows } = await withClient(url, (client) =>
    client.query<{ version: string }>('SELECT version()'),
  );
  return rows[0]?.version.includes('PGlite') ?? false;
}

function adapterFactory(url: string): PrismaPg {
  // The engine holds an advisory lock on a pooled connection: close idle ones at once, or the
  // next migrator waits for pg's default 10 s idle timeout.
  return new PrismaPg({ connectionString: url, idleTimeoutMillis: 20 });
}

interface ShadowDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Our own shadow database: adapter-pg's ignores the database name and drops it while connected. */
async function createShadowDatabase(url: string): Promise<ShadowDatabase> {
  if (await isPglite(url)) {
    const embedded = await startEmbeddedPostgres();
    return { url: embedded.url, drop: () => embedded.stop() };
  }
  const name = `prisma_migrate_shadow_db_${randomUUID().replaceAll('-', '')}`;
  const shadowUrl = new URL(url);
  shadowUrl.pathname = `/${name}`;
  const admin = (sql: string) => withClient(url, (client) => client.query(sql)).then(() => {});
  await admin(`CREATE DATABASE "${name}"`);
  return {
    url: shadowUrl.toString(),
    drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/**
 * Runs one engine step on a fresh engine (`createMigration` only works right after
 * `devDiagnostic` on the same instance), then disposes everything it connected.
 */
export async function withSchemaEngine<T>(
  { url, schemaPath }: { url: string; schemaPath: string },
  step: (engine: SchemaEngine, schema: SchemasContainer) => Promise<T>,
): Promise<T> {
  const bg = await loadGlue();
  const schema = { files: [{ path: schemaPath, content: await readFile(schemaPath, 'utf8') }] };
  const disposers: (() => Promise<void>)[] = [];
  // The engine disposes some of its connections but not all: make disposing idempotent, and
  // finish the job afterwards.
  const tracked = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    forEngine(adapter);
    let disposed: Promise<void> | undefined;
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = () => (disposed ??= dispose());
    disposers.push(() => adapter.dispose());
    return adapter;
  };
  const shadows: ShadowDatabase[] = [];
  const main = adapterFactory(url);
  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: main.provider,
    adapterName: main.adapterName,
    connect: async () => tracked(await main.connect()),
    async connectToShadowDb() {
      const shadow = await createShadowDatabase(url);
      shadows.push(shadow);
      return tracked(await adapterFactory(shadow.url).connect());
    },
  };
  const errorCapturing = bindMigrationAwareSqlAdapterFactory(factory);
  const engine = await bg.SchemaEngine.new(
    { datamodels: schema.files.map((f) => [f.path, f.content]) },
    () => {}, // its logs say nothing that its errors do not
    errorCapturing,
  );
  const panics = globalThis.PRISMA_WASM_PANIC_REGISTRY;
  if (panics) panics.message = '';
  try {
    return await step(engine, schema);
  } catch (error) {
    // A Rust panic rejects with a bare "unreachable"; what happened is in the registry.
    if (panics?.message)
      throw new Error(`Schema engine panicked: ${panics.message}`, { cause: error });
    throw error;
  } finally {
    engine.free();
    // The pools must be gone before their shadow database is.
    await Promise.all(disposers.map((dispose) => dispose()));
    await Promise.all(shadows.map((s) => s.drop()));
  }
}
