/** `pnpm client:generate`: writes the REST client types that `rest-types.test.ts` guards. */
import { writeFile } from 'node:fs/promises';
import { generateRestTypes, restTypesPath } from './rest-types.js';

await writeFile(restTypesPath, await generateRestTypes());
console.log(`Wrote ${restTypesPath}`);
