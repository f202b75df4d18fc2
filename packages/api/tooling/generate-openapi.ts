/** `pnpm openapi:generate`: writes the OpenAPI document that `openapi-snapshot.test.ts` guards. */
import { writeFile } from 'node:fs/promises';
import { createOpenApiDocument } from '../src/index.js';
import { committedDocumentPath, serializeDocument } from './openapi-file.js';

await writeFile(committedDocumentPath, serializeDocument(createOpenApiDocument({ baseUrl: '/' })));
console.log(`Wrote ${committedDocumentPath}`);
