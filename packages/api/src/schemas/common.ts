import { z } from 'zod';
import type { ZodOpenApiOverrideMetaContext } from 'zod-openapi';

/**
 * Timestamps are `Date` objects on the tRPC side (superjson keeps them) and ISO 8601 strings in
 * REST JSON; the override makes the OpenAPI document say so.
 */
export const timestamp = z.date().meta({
  override: { type: 'string', format: 'date-time' },
  examples: ['2026-02-14T10:00:00.000Z'],
});

/** The instants an input may name: ISO 8601's four-digit years, all within PostgreSQL's range. */
const earliestInstant = new Date('0001-01-01T00:00:00.000Z');
const latestInstant = new Date('9999-12-31T23:59:59.999Z');

/**
 * An instant as input: a `Date` on `/trpc` (superjson carries it, as it carries `timestamp`
 * outputs back), an ISO 8601 date-time with `Z` or an offset in REST JSON and query strings
 * (`2026-12-04T17:00:00Z`, `2026-12-04T18:00:00+01:00`); stored to the millisecond, answered
 * in UTC. A date without a time or a time without a zone names no single instant: refused.
 */
export const timestampInput = z
  .union([z.date(), z.iso.datetime({ offset: true }).transform((text) => new Date(text))])
  .pipe(
    z
      .date()
      .min(earliestInstant, 'Must be in the years 0001 to 9999')
      .max(latestInstant, 'Must be in the years 0001 to 9999'),
  )
  .meta({
    // REST clients can only send the text: the document describes that alone, not the union.
    override: ({ jsonSchema }: ZodOpenApiOverrideMetaContext) => {
      delete jsonSchema.anyOf;
      Object.assign(jsonSchema, { type: 'string', format: 'date-time' });
    },
    examples: ['2026-02-14T10:00:00.000Z'],
  });

export const uuid = z.uuid().meta({ examples: ['01963a5e-7c1a-7b4e-9f35-2f9c1d7e8a10'] });

/**
 * A row's id as input. PostgreSQL compares uuids case-insensitively but JavaScript compares
 * strings exactly: one spelling from here on makes every lookup, batched or cached, agree with
 * the database.
 */
export const idInput = uuid.overwrite((id) => id.toLowerCase());

/**
 * Text that reaches PostgreSQL, stored or searched for: it cannot hold U+0000, so the API refuses
 * the character as invalid input (422) instead of failing in the database (500).
 */
export const withoutNul = (text: z.ZodString) =>
  // eslint-disable-next-line no-control-regex -- the control character is the one refused
  text.regex(/^[^\u0000]*$/, 'Must not contain the NUL character (U+0000)');
