import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { generateRestTypes, restTypesPath } from './rest-types.js';

it('the committed REST client types match packages/api/openapi.json (run `pnpm client:generate`)', async () => {
  expect(await readFile(restTypesPath, 'utf8')).toBe(await generateRestTypes());
});
