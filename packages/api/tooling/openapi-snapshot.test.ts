import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createOpenApiDocument } from '../src/index.js';
import { findBreakingChanges } from './openapi-diff.js';
import { committedDocumentPath, serializeDocument } from './openapi-file.js';

describe('the committed OpenAPI document', () => {
  it('is exactly what the code generates (run `pnpm openapi:generate` after a change)', async () => {
    const committed = await readFile(committedDocumentPath, 'utf8');
    const generated = serializeDocument(createOpenApiDocument({ baseUrl: '/' }));
    if (committed === generated) return;
    const breaking = findBreakingChanges(
      JSON.parse(committed) as object,
      JSON.parse(generated) as object,
    );
    expect.fail(
      [
        'packages/api/openapi.json is out of date: run `pnpm openapi:generate` and commit it.',
        breaking.length > 0
          ? `The change BREAKS existing clients:\n  - ${breaking.join('\n  - ')}`
          : 'No breaking change for existing clients was found.',
      ].join('\n'),
    );
  });
});
