import { z } from 'zod';
import { timestamp, uuid } from './common.js';

/**
 * zod's default email pattern, except that a domain label cannot end with a hyphen (`a@b-.com`):
 * no host name does, and the OpenAPI document's `format: email` rejects it.
 */
const emailPattern =
  /^(?:[A-Za-z0-9_'+-]+\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$/;

/** Lower-cased so that `Ann@Example.com` and `ann@example.com` are one account. */
const email = z
  .email({ pattern: emailPattern })
  .max(254)
  .transform((value) => value.toLowerCase())
  .meta({ examples: ['ann@example.com'] });

const password = z
  .string()
  .min(8)
  .max(128)
  .meta({ examples: ['correct horse battery'] });

export const credentialsInput = z.object({ email, password });

export const userOutput = z
  .object({
    id: uuid,
    email: z.email({ pattern: emailPattern }).meta({ examples: ['ann@example.com'] }),
    emailVerified: z.boolean().meta({
      description: 'The owner followed the link mailed to the address',
      examples: [false],
    }),
    createdAt: timestamp,
  })
  .meta({ id: 'User' });

export const tokenPairOutput = z
  .object({
    accessToken: z.string().meta({
      description: 'JWT for `Authorization: Bearer`',
      examples: ['eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwMTk2In0.c2lnbmF0dXJl'],
    }),
    tokenType: z.literal('Bearer'),
    expiresIn: z
      .number()
      .int()
      .positive()
      .meta({ description: 'Lifetime of the access token in seconds', examples: [900] }),
    refreshToken: z.string().meta({
      description: 'Opaque, single-use: exchange it at `/auth/refresh` for a new pair',
      examples: ['kq3Xz0w2bJ7mV1sQ9rT4uY6iO8pA5dF3gH2jK0lZ1xC'],
    }),
  })
  .meta({ id: 'TokenPair' });

/** A token from a mailed link (its fragment after `#token=`). */
const mailedToken = z
  .string()
  .min(1)
  .max(200)
  .meta({ examples: ['kq3Xz0w2bJ7mV1sQ9rT4uY6iO8pA5dF3gH2jK0lZ1xC'] });

export const forgotPasswordInput = z.object({ email });

export const resetPasswordInput = z.object({ token: mailedToken, password });

export const verifyEmailInput = z.object({ token: mailedToken });

export const mailQueuedOutput = z
  .object({
    message: z.string().meta({
      examples: ['If an account has this address, a link is on its way'],
    }),
  })
  .meta({ id: 'MailQueued' });

export const refreshTokenInput = z.object({ refreshToken: z.string().min(1).max(200) });

export const changePasswordInput = z.object({
  currentPassword: z.string().min(1).max(128),
  newPassword: password,
});

export type CredentialsInput = z.infer<typeof credentialsInput>;
export type UserOutput = z.infer<typeof userOutput>;
export type TokenPairOutput = z.infer<typeof tokenPairOutput>;
export type RefreshTokenInput = z.infer<typeof refreshTokenInput>;
export type ChangePasswordInput = z.infer<typeof changePasswordInput>;
export type ForgotPasswordInput = z.infer<typeof forgotPasswordInput>;
export type ResetPasswordInput = z.infer<typeof resetPasswordInput>;
