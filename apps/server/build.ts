// `pnpm build`: bundles the server and the migration CLI into `dist/` with esbuild, so that
// production runs plain `node` on JavaScript (the workspace packages and the generated Prisma
// client are TypeScript sources, which only tsx runs).
import { cp, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const serverDir = fileURLToPath(new URL('./', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const outDir = `${serverDir}dist/`;

/**
 * This package's `dependencies` are exactly what the bundle leaves external: native addons
 * (bcrypt), packages that load their own files at run time (Prisma's query compiler, PGlite's
 * WebAssembly, pino's transport workers, Scalar's assets) and the drivers those share. Everything
 * else is bundled, so it is a devDependency, and `pnpm deploy --prod` installs only these.
 */
const manifest = JSON.parse(await readFile(`${serverDir}package.json`, 'utf8')) as {
  dependencies: Record<string, string>;
};

await rm(outDir, { recursive: true, force: true });
await build({
  absWorkingDir: serverDir,
  entryPoints: {
    server: 'src/server.ts',
    worker: 'src/worker.ts',
    migrate: 'src/cli/migrate.ts',
    // Loaded with `--import` before server.js or worker.js (see src/tracing.ts).
    tracing: 'src/tracing.ts',
  },
  outdir: outDir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: Object.keys(manifest.dependencies),
  // Bundled CommonJS modules call `require` for Node built-ins, which an ES module lacks.
  banner: {
    js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);",
  },
  // Every bundled module shares the entry file's `import.meta.url`: packages/db's migrations
  // module finds `prisma/` beside it instead of three folders up from its source file.
  define: { __BUNDLED_PRISMA_DIR__: JSON.stringify('./prisma/') },
  // Stack traces map to the TypeScript sources under `node --enable-source-maps`; the sources
  // themselves stay out of the image.
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'warning',
});
await cp(`${repoRoot}prisma/migrations`, `${outDir}prisma/migrations`, { recursive: true });
await cp(`${repoRoot}prisma/schema.prisma`, `${outDir}prisma/schema.prisma`);
