import { z } from 'zod';
import { timestamp, uuid } from './common.js';

/** Lower-cased so that `Ann@Example.com` and `ann@example.com` are one account. */
export const email = z
  .email()
  .max(254)
  .transform((value) => value.toLowerCase())
  .meta({ examples: ['ann@example.com'] });

export const password = z
  .string()
  .min(8)
  .max(128)
  .meta({ examples: ['correct horse battery'] });

export const credentialsInput = z.object({ email, password });

export const userOutput = z
  .object({ id: uuid, email: z.email(), createdAt: timestamp })
  .meta({ id: 'User' });

export const accessTokenOutput = z
  .object({
    accessToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int().meta({ description: 'Lifetime of the access token in seconds' }),
  })
  .meta({ id: 'AccessToken' });

export type CredentialsInput = z.infer<typeof credentialsInput>;
export type UserOutput = z.infer<typeof userOutput>;
export type AccessTokenOutput = z.infer<typeof accessTokenOutput>;
