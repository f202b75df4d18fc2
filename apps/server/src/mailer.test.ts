import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, expect, it } from 'vitest';
import { createMailer } from './mailer.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

it('writes each mail as an .eml file without SMTP_URL, and logs where', async () => {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'tasks-mail-')), 'mail');
  dirs.push(path.dirname(dir));
  const logged: object[] = [];
  const mailer = createMailer(
    { smtpUrl: undefined, from: 'Tasks <no-reply@tasks.localhost>', dir },
    { info: (details) => logged.push(details) },
  );
  await mailer.send({
    to: 'ann@example.com',
    subject: 'Hello',
    text: 'A link: https://x/#token=abc',
  });

  const [file] = await readdir(dir);
  expect(file).toMatch(/\.eml$/);
  const mail = await simpleParser(await readFile(path.join(dir, file ?? '')));
  expect(mail.subject).toBe('Hello');
  expect(mail.text?.trim()).toBe('A link: https://x/#token=abc');
  expect(JSON.stringify(mail.to)).toContain('ann@example.com');
  expect(logged).toEqual([{ subject: 'Hello', file: path.join(dir, file ?? '') }]);
});
