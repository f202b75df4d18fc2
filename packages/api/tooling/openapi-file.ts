import { fileURLToPath } from 'node:url';

/** The committed document: REST clients and generators read it without running the server. */
export const committedDocumentPath = fileURLToPath(new URL('../openapi.json', import.meta.url));

export function serializeDocument(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
