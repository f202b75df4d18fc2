import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createOpenApiDocument, errorCatalogue, errorCodes } from '../src/index.js';

const documentedCodes = async () => {
  const page = await readFile(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  return [...page.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map(([, code, status]) => ({
    code,
    status: Number(status),
  }));
};

describe('the error catalogue', () => {
  it('is documented in docs/errors.md, code by code, with the same statuses', async () => {
    expect(await documentedCodes()).toEqual(
      errorCodes.map((code) => ({ code, status: errorCatalogue[code].status })),
    );
  });

  it('is the closed list of codes in the OpenAPI Problem schema', () => {
    const schemas = createOpenApiDocument({ baseUrl: '/' }).components?.schemas as Record<
      string,
      { properties: { code: { enum: string[] } } }
    >;
    expect(schemas.Problem?.properties.code.enum).toEqual(errorCodes);
  });
});
