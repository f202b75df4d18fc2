import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Mailer } from '@tasks/api';
import nodemailer from 'nodemailer';
import type { AppConfig } from './config.js';

interface LogSink {
  info(details: object, message: string): void;
}

/**
 * Mail as configured: over SMTP (`SMTP_URL`), or, without it, each message as an `.eml` file in
 * `MAIL_DIR` (any mail client opens one), its path logged: development needs no mail server.
 */
export function createMailer({ smtpUrl, from, dir }: AppConfig['mail'], log: LogSink): Mailer {
  if (smtpUrl) {
    const transport = nodemailer.createTransport(smtpUrl);
    return {
      async send({ to, subject, text }) {
        await transport.sendMail({ from, to, subject, text });
      },
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
  return {
    async send({ to, subject, text }) {
      const { message } = await transport.sendMail({ from, to, subject, text });
      await mkdir(dir, { recursive: true });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const file = path.join(dir, `${stamp}-${randomUUID().slice(0, 8)}.eml`);
      await writeFile(file, message);
      log.info({ subject, file }, 'mail written to a file (no SMTP_URL)');
    },
  };
}
