import { z } from 'zod';
import { idInput, timestamp, uuid, withoutNul } from './common.js';

/**
 * What a personal access token may be allowed. A `:write` scope includes its `:read` (a write
 * answers with what it wrote). A token never manages the account: its tokens, sessions, password.
 */
const tokenScopes = ['tasks:read', 'tasks:write', 'webhooks:read', 'webhooks:write'] as const;
export type TokenScope = (typeof tokenScopes)[number];

/** Days a token works when its maker names none, and at most. */
const defaultTokenLifetimeDays = 90;
const maxTokenLifetimeDays = 365;

const scope = z.enum(tokenScopes);

export const createPersonalAccessTokenInput = z.object({
  name: withoutNul(z.string().trim().min(1).max(100)).meta({
    description: 'Your label for it: what uses it',
    examples: ['nightly backup'],
  }),
  scopes: z
    .array(scope)
    .min(1)
    .max(tokenScopes.length)
    .refine((scopes) => new Set(scopes).size === scopes.length, 'Must not repeat a scope')
    .meta({ description: 'What the token may do', examples: [['tasks:read']] }),
  expiresInDays: z
    .number()
    .int()
    .min(1)
    .max(maxTokenLifetimeDays)
    .default(defaultTokenLifetimeDays)
    .meta({ description: 'Days until it stops working' }),
});

const personalAccessTokenOutput = z
  .object({
    id: uuid,
    name: z.string().meta({ examples: ['nightly backup'] }),
    scopes: z.array(scope),
    expiresAt: timestamp,
    lastUsedAt: timestamp.nullable().meta({
      description: 'When a request last used it, to the minute; null: never',
      examples: ['2026-02-14T10:00:00.000Z'],
    }),
    createdAt: timestamp,
  })
  .meta({ id: 'PersonalAccessToken' });

export const createdPersonalAccessTokenOutput = personalAccessTokenOutput
  .extend({
    token: z.string().meta({
      description:
        'The token, shown this once: send it as `Authorization: Bearer <token>`. It starts with `tasks_pat_`, so secret scanners can find a leaked one',
      examples: ['tasks_pat_kq3Xz0w2bJ7mV1sQ9rT4uY6iO8pA5dF3gH2jK0lZ1xC'],
    }),
  })
  .meta({ id: 'CreatedPersonalAccessToken' });

export const personalAccessTokenListOutput = z
  .object({ items: z.array(personalAccessTokenOutput) })
  .meta({ id: 'PersonalAccessTokenList' });

export const personalAccessTokenIdInput = z.object({
  id: idInput,
});

export type CreatePersonalAccessTokenInput = z.infer<typeof createPersonalAccessTokenInput>;
export type PersonalAccessTokenOutput = z.infer<typeof personalAccessTokenOutput>;
export type CreatedPersonalAccessTokenOutput = z.infer<typeof createdPersonalAccessTokenOutput>;
