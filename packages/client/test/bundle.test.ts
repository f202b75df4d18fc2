import { build } from 'esbuild';
import { expect, it } from 'vitest';

const packageDir = new URL('..', import.meta.url).pathname;

/** The package a bundled file comes from (the last `node_modules/<name>` of its path). */
function packageOf(input: string): string {
  const names = [...input.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((m) => m[1]);
  return names.at(-1) ?? 'local';
}

it('a browser bundle of @tasks/client holds the client and none of the server', async () => {
  const result = await build({
    absWorkingDir: packageDir,
    entryPoints: ['test/fixtures/consumer.ts'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild wrote no output');
  const inputs = Object.keys(result.metafile.inputs);
  const packages = [...new Set(inputs.map(packageOf))].sort();
  const bytes = output.contents.byteLength;
  console.log(
    `consumer bundle: ${(bytes / 1024).toFixed(1)} KiB minified; packages: ${packages.join(', ')}`,
  );

  // A new runtime dependency has to be added here on purpose.
  expect(packages).toEqual([
    '@trpc/client',
    '@trpc/server',
    'copy-anything',
    // An EventSource that sends the Authorization header (subscriptions), and its parser.
    'eventsource',
    'eventsource-parser',
    'local',
    'openapi-fetch',
    'superjson',
  ]);
  expect(inputs.filter((input) => packageOf(input) === 'local')).toEqual([
    'src/refresh-link.ts',
    'src/index.ts',
    'src/rest/index.ts',
    'test/fixtures/consumer.ts',
  ]);
  // The minified text is code only (no path comments), so a match would be server code.
  expect(output.text).not.toMatch(/prisma|fastify|bcrypt|["']pg["']|@tasks\/(api|db)/i);
  expect(bytes).toBeLessThan(64 * 1024);
});
