/**
 * Password reset and email verification against the real server, its workers and a real SMTP
 * peer in this process (smtp-server), each mail parsed as a mail client would (mailparser).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

interface Mailbox {
  url: string;
  received: ParsedMail[];
  /** The next mail to `to` with this subject, once it arrived. */
  next(to: string, subject: RegExp): Promise<ParsedMail>;
  close(): Promise<void>;
}

async function startMailbox(): Promise<Mailbox> {
  const received: ParsedMail[] = [];
  const taken = new Set<ParsedMail>();
  const smtp = new SMTPServer({
    // smtp-server's bundled certificate has expired: plain SMTP on loopback.
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          received.push(mail);
          callback();
        },
        (error: unknown) => {
          callback(error instanceof Error ? error : new Error(String(error)));
        },
      );
    },
  });
  smtp.listen(0, '127.0.0.1');
  await once(smtp.server, 'listening');
  const { port } = smtp.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    async next(to, subject) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const mail = received.find(
          (candidate) =>
            !taken.has(candidate) &&
            candidate.subject !== undefined &&
            subject.test(candidate.subject) &&
            JSON.stringify(candidate.to).includes(to),
        );
        if (mail) {
          taken.add(mail);
          return mail;
        }
        if (Date.now() > deadline) throw new Error(`no mail "${subject.source}" to ${to}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () =>
      new Promise((resolve) => {
        smtp.close(() => {
          resolve();
        });
      }),
  };
}

/** The token of a mailed link: `…/reset-password#token=<token>`. */
function tokenIn(mail: ParsedMail, page: string): string {
  const match = new RegExp(`/${page}#token=([\\w-]+)`).exec(mail.text ?? '');
  if (!match?.[1]) throw new Error(`no ${page} link in:\n${mail.text ?? ''}`);
  return match[1];
}

/** A server running its jobs, mailing to a mailbox of its own. */
async function startMailingServer(
  env: Record<string, string>,
): Promise<{ mailbox: Mailbox; server: TestServer }> {
  const mailbox = await startMailbox();
  const server = await startTestServer({
    JOBS_IN_API: 'true',
    JOB_POLL_MS: '200',
    SMTP_URL: mailbox.url,
    ...env,
  });
  return { mailbox, server };
}

describe('password reset and email verification by mail', () => {
  let mailbox: Mailbox;
  let server: TestServer;

  beforeAll(async () => {
    ({ mailbox, server } = await startMailingServer({ WEB_APP_URL: 'https://app.example.com' }));
  });
  afterAll(async () => {
    await server.close();
    await mailbox.close();
  });

  const post = (path: string, body: object, token?: string) =>
    server.request(path, { method: 'POST', body, ...(token && { token }) });

  it('resets a forgotten password once, ending every session, from the mailed link', async () => {
    const user = await server.signUp();
    const forgot = await post('/auth/password/forgot', { email: user.email });
    expect(forgot.status).toBe(202);
    const mail = await mailbox.next(user.email, /reset your tasks password/i);
    expect(mail.text).toContain('https://app.example.com/reset-password#token=');
    const token = tokenIn(mail, 'reset-password');

    const reset = await post('/auth/password/reset', { token, password: 'a brand new secret' });
    expect(reset.status).toBe(204);
    // Every session ended: its refresh token and its access token are refused.
    expect((await post('/auth/refresh', { refreshToken: user.refreshToken })).status).toBe(401);
    expect((await server.request('/auth/me', { token: user.token })).status).toBe(401);
    // The new password signs in; the old one does not.
    const login = (password: string) => post('/auth/login', { email: user.email, password });
    expect((await login('a brand new secret')).status).toBe(200);
    expect((await login('correct horse battery')).status).toBe(401);

    const again = await post('/auth/password/reset', { token, password: 'yet another secret' });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ code: 'INVALID_RESET_TOKEN' });
  });

  it('answers a known and an unknown address alike, and mails only the known one', async () => {
    const user = await server.signUp();
    const unknown = `nobody-${Date.now()}@example.com`;
    const known = await post('/auth/password/forgot', { email: user.email });
    const missing = await post('/auth/password/forgot', { email: unknown });
    expect([known.status, missing.status]).toEqual([202, 202]);
    expect(await missing.text()).toBe(await known.text());
    await mailbox.next(user.email, /reset your tasks password/i);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(mailbox.received.some((mail) => JSON.stringify(mail.to).includes(unknown))).toBe(false);
  });

  it('voids the previous link when a new one is asked for, and refuses an expired one', async () => {
    const user = await server.signUp();
    await post('/auth/password/forgot', { email: user.email });
    const first = tokenIn(await mailbox.next(user.email, /reset/i), 'reset-password');
    await post('/auth/password/forgot', { email: user.email });
    const second = tokenIn(await mailbox.next(user.email, /reset/i), 'reset-password');

    const withFirst = await post('/auth/password/reset', {
      token: first,
      password: 'first secret 1',
    });
    expect(withFirst.status).toBe(400);
    await server.db.accountToken.updateMany({
      where: { userId: user.id, usedAt: null },
      data: { expiresAt: new Date(Date.now() - 1_000) },
    });
    const expired = await post('/auth/password/reset', {
      token: second,
      password: 'second secret',
    });
    expect(expired.status).toBe(400);
    const unknown = await post('/auth/password/reset', {
      token: 'x'.repeat(43),
      password: 'xyz12345',
    });
    expect(await unknown.json()).toMatchObject({ code: 'INVALID_RESET_TOKEN' });
  });

  it('mails a verification link at registration that flips emailVerified', async () => {
    const user = await server.signUp();
    const me = async () =>
      (
        (await (await server.request('/auth/me', { token: user.token })).json()) as {
          emailVerified: boolean;
        }
      ).emailVerified;
    expect(await me()).toBe(false);
    const token = tokenIn(await mailbox.next(user.email, /confirm your email/i), 'verify-email');

    expect((await post('/auth/email/verify', { token })).status).toBe(204);
    expect(await me()).toBe(true);
    const again = await post('/auth/email/verify', { token });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ code: 'INVALID_VERIFICATION_TOKEN' });
    const resend = await post('/auth/email/resend', {}, user.token);
    expect(resend.status).toBe(202);
    expect(await resend.json()).toEqual({ message: 'This address is verified already' });
  });

  it('mails a new verification link on request, which voids the first', async () => {
    const user = await server.signUp();
    const first = tokenIn(await mailbox.next(user.email, /confirm your email/i), 'verify-email');
    expect((await post('/auth/email/resend', {}, user.token)).status).toBe(202);
    const second = tokenIn(await mailbox.next(user.email, /confirm your email/i), 'verify-email');
    expect((await post('/auth/email/verify', { token: first })).status).toBe(400);
    expect((await post('/auth/email/verify', { token: second })).status).toBe(204);
  });
});

describe('with REQUIRE_VERIFIED_EMAIL=true', () => {
  let mailbox: Mailbox;
  let server: TestServer;

  beforeAll(async () => {
    ({ mailbox, server } = await startMailingServer({ REQUIRE_VERIFIED_EMAIL: 'true' }));
  });
  afterAll(async () => {
    await server.close();
    await mailbox.close();
  });

  it('refuses an unverified account all but verifying itself, on both doors, until it verifies', async () => {
    const user = await server.signUp();
    const tasks = await server.request('/tasks', { token: user.token });
    expect(tasks.status).toBe(403);
    expect(await tasks.json()).toMatchObject({ code: 'EMAIL_NOT_VERIFIED' });
    await expect(server.trpc(user.token).tasks.list.query({})).rejects.toMatchObject({
      data: { code: 'EMAIL_NOT_VERIFIED', httpStatus: 403 },
    });
    expect((await server.request('/auth/me', { token: user.token })).status).toBe(200);

    const token = tokenIn(await mailbox.next(user.email, /confirm your email/i), 'verify-email');
    const verified = await server.request('/auth/email/verify', {
      method: 'POST',
      body: { token },
    });
    expect(verified.status).toBe(204);
    // At once on this instance: its remembered session was forgotten with the verification.
    expect((await server.request('/tasks', { token: user.token })).status).toBe(200);
  });
});
