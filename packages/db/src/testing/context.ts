/** What the global setup hands to test files: where fresh databases come from. */
export type TestDatabaseSource =
  | {
      kind: 'server';
      /** Any database of the server, used to create and drop the test databases. */
      adminUrl: string;
      /** Migrated template database the test databases are copied from. */
      template: string;
      /** Prefix shared by this run's databases, so teardown finds them all. */
      prefix: string;
    }
  | {
      kind: 'embedded';
      /** `dumpDataDir()` tarball of a migrated PGlite cluster. */
      dumpPath: string;
      /** The same before migrating: for tests of the migrations themselves. */
      emptyDumpPath: string;
    };

declare module 'vitest' {
  export interface ProvidedContext {
    testDatabase: TestDatabaseSource;
  }
}
