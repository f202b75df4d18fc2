import { z } from 'zod';

/**
 * Timestamps are `Date` objects on the tRPC side (superjson keeps them) and ISO 8601 strings in
 * REST JSON; the override makes the OpenAPI document say so.
 */
export const timestamp = z.date().meta({
  override: { type: 'string', format: 'date-time' },
  examples: ['2026-02-14T10:00:00.000Z'],
});

export const uuid = z.uuid().meta({ examples: ['01963a5e-7c1a-7b4e-9f35-2f9c1d7e8a10'] });

/**
 * Text that reaches PostgreSQL, stored or searched for: it cannot hold U+0000, so the API refuses
 * the character as invalid input (422) instead of failing in the database (500).
 */
export const withoutNul = (text: z.ZodString) =>
  // eslint-disable-next-line no-control-regex -- the control character is the one refused
  text.regex(/^[^\u0000]*$/, 'Must not contain the NUL character (U+0000)');
