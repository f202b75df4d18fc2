import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';

/** Paragraphs of code as lists of trimmed lines: indentation differs inside a function body. */
function paragraphs(code: string): string[] {
  return code
    .split(/\n\s*\n/)
    .map((paragraph) =>
      paragraph
        .split('\n')
        .map((line) => line.trim())
        .join('\n'),
    )
    .filter((paragraph) => paragraph !== '');
}

it('the client snippets of docs/clients.md are the ones tsc checks in fixtures/docs-examples.ts', async () => {
  const guide = await readFile(new URL('../../../docs/clients.md', import.meta.url), 'utf8');
  const fixture = paragraphs(
    await readFile(new URL('./fixtures/docs-examples.ts', import.meta.url), 'utf8'),
  ).join('\n');
  const snippets = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  expect(snippets.length).toBeGreaterThanOrEqual(2);
  for (const paragraph of snippets.flatMap(paragraphs)) {
    expect(fixture).toContain(paragraph);
  }
});
