import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { envVariableNames, loadConfig } from './config.js';

const example = readFile(new URL('../../../.env.example', import.meta.url), 'utf8');

describe('.env.example', () => {
  it('documents every variable the config reads, and no other', async () => {
    const text = await example;
    const documented = new Set(
      [...text.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map(([, name]) => name),
    );
    expect([...documented].sort()).toEqual([...envVariableNames].sort());
  });

  it('is a valid configuration as it stands', async () => {
    const values = parseEnv(await example);
    expect(() => loadConfig(values)).not.toThrow();
  });
});
