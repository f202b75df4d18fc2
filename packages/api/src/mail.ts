/** One plain-text mail to one recipient. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Sends mail (SMTP, or files in development: `apps/server/src/mailer.ts`). */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

export interface AccountMailConfig {
  /** Where the web app serves `/reset-password` and `/verify-email`; links in mails point there. */
  webAppUrl: string;
  /** How long a mailed password-reset link works. */
  resetTokenTtlMs: number;
  /** How long a mailed verification link works. */
  verificationTokenTtlMs: number;
}

/**
 * The token rides in the link's fragment: browsers never send it to a server, so it stays out of
 * access logs, proxies and `Referer` headers; the page reads it and posts it.
 */
const link = (config: AccountMailConfig, page: string, token: string) =>
  `${new URL(page, config.webAppUrl).toString()}#token=${token}`;

const minutes = (ms: number) => Math.round(ms / 60_000);

export function passwordResetMail(
  config: AccountMailConfig,
  to: string,
  token: string,
): MailMessage {
  return {
    to,
    subject: 'Reset your Tasks password',
    text: [
      'Someone asked to reset the password of your Tasks account.',
      '',
      `Choose a new password here (the link works once, for ${minutes(config.resetTokenTtlMs)} minutes):`,
      link(config, '/reset-password', token),
      '',
      'Resetting signs you out everywhere. If it was not you, ignore this mail: nothing changes.',
    ].join('\n'),
  };
}

export function verificationMail(
  config: AccountMailConfig,
  to: string,
  token: string,
): MailMessage {
  return {
    to,
    subject: 'Confirm your email address for Tasks',
    text: [
      'Confirm that this address belongs to your Tasks account:',
      link(config, '/verify-email', token),
      '',
      `The link works once, for ${Math.round(config.verificationTokenTtlMs / 3_600_000)} hours.`,
    ].join('\n'),
  };
}
