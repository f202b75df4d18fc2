/**
 * fast-check arbitraries derived from JSON Schema (the OpenAPI document's and zod's): values a
 * schema accepts, values on and just past its bounds, and hostile values whatever the schema.
 * Request bodies are built as JSON text, so they can hold what `JSON.stringify` never writes:
 * number literals beyond a double, nesting deeper than any parser expects, duplicate keys.
 */
import fc from 'fast-check';

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  examples?: unknown[];
}

/** What the server already holds, so that valid requests reach real rows and real accounts. */
export interface KnownValues {
  /** Ids of existing rows: `format: uuid` values are drawn from them half of the time. */
  ids: string[];
  /** Real values of properties and parameters, by name (an existing email, a real cursor...). */
  properties: Record<string, string[]>;
}

const text = (value: unknown) => JSON.stringify(value);

/** Characters that break parsers, databases, terminals and string length arithmetic. */
const nastyCharacters = [
  '\u0000',
  '\u0008',
  '\n',
  '\r',
  '"',
  '\\',
  '/',
  "'",
  '%',
  '&',
  '=',
  '?',
  '#',
  '\u202e', // right-to-left override
  '\u200b', // zero-width space
  '\ufeff', // byte order mark
  '\uffff',
  '\u2028',
  '😀', // astral: two UTF-16 code units
  '👩‍👩‍👧', // one grapheme, eight code units
  'e\u0301', // combining accent
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const anyCodePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
const hostileCharacter = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...nastyCharacters) },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 1, arbitrary: anyCodePoint },
);

/** Timestamps anywhere in the range of a JS Date, most far outside any database's. */
const hostileTimestamp = fc.oneof(
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.constantFrom('2020-02-30T00:00:00.000Z', '1970-01-01T00:00:00Z', '2026-13-01', '0'),
);

/** Strings no schema wants: control characters, lone surrogates, injections, long runs. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: hostileTimestamp },
  { weight: 4, arbitrary: fc.string({ unit: hostileCharacter, maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      "' OR 1=1 --",
      '${7*7}',
      '../../etc/passwd',
      '%00',
      '%zz',
      'null',
      'NaN',
      '[]',
      '__proto__',
      'constructor',
      '1e400',
      '-0',
      '0x10',
      '9'.repeat(400),
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', '😀', '\u0000', ' '), fc.integer({ min: 1_000, max: 4_000 }))
      .map(([character, count]) => character.repeat(count)),
  },
);

const hostileKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', ''),
  hostileString,
);

/** Number literals a double cannot hold, or that only look like numbers to some parsers. */
const hostileNumber = fc.oneof(
  fc.constantFrom(
    '1e400',
    '-1e400',
    '1e-400',
    '-0',
    '9007199254740993',
    '-9223372036854775809',
    '123456789012345678901234567890',
    '1E+2',
    '0.1e-999999',
  ),
  fc.integer({ min: 100, max: 5_000 }).map((digits) => '9'.repeat(digits)),
  fc.double().map((value) => (Number.isFinite(value) ? String(value) : '1e999')),
);

/** Nesting thousands of levels deep, still under the body limit. */
const deepNesting = fc
  .tuple(fc.integer({ min: 100, max: 10_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays
      ? '['.repeat(depth) + ']'.repeat(depth)
      : '{"a":'.repeat(depth) + 'null' + '}'.repeat(depth),
  );

/** Objects that poison prototypes if anything merges them carelessly. */
const pollution = fc.constantFrom(
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"__proto__":null}',
);

const hostileLeaf = fc.oneof(
  hostileNumber,
  hostileString.map(text),
  fc.constantFrom('true', 'false', 'null', '{}', '[]', '0'),
  pollution,
);

/** Any JSON text at all: hostile leaves in arrays and objects with hostile keys. */
export const hostileJson: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, hostileLeaf, tie('array'), tie('object')),
      array: fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
      object: fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 4 }).map(objectText),
    })).value,
  },
  { weight: 1, arbitrary: deepNesting },
);

function objectText(entries: [string, string][]): string {
  return `{${entries.map(([key, value]) => `${text(key)}:${value}`).join(',')}}`;
}

/** Bodies that are not JSON, most of them close to the JSON the server expects. */
export function malformedJson(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const broken = fc.tuple(valid, fc.nat(), fc.constantFrom('cut', 'append', 'quotes', 'twice'));
  return fc.oneof(
    broken.map(([json, at, how]) => {
      if (how === 'cut') return json.slice(0, at % Math.max(1, json.length));
      if (how === 'append') return json + ',}x'.slice(at % 3);
      if (how === 'quotes') return json.replaceAll('"', "'");
      return json + json;
    }),
    fc.constantFrom(
      '',
      ' ',
      'NaN',
      'undefined',
      '{',
      '{"a":1,}',
      '// no\n{}',
      '\ufeff{}',
      '\u0000',
    ),
  );
}

/** What a request body is, as the fuzzer tallies it. */
type BodyKind =
  | 'multipart'
  | 'form'
  | 'text'
  | 'odd type'
  | 'malformed type'
  | 'no type'
  | 'json, odd spelling'
  | 'oversized json'
  | 'oversized other';

/** A body and the Content-Type it travels with; without one, no header is sent at all. */
export interface TypedBody {
  kind: BodyKind;
  contentType: string | undefined;
  body: string;
}

/** A value's top-level fields as a form sends them: strings as they are, anything else as JSON. */
function formFields(value: unknown): [string, string][] {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [['input', text(value)]];
  }
  return Object.entries(value).map(([name, field]): [string, string] => [
    name,
    typeof field === 'string' ? field : text(field),
  ]);
}

/** A boundary in the shape browsers make them. */
const boundary = fc.stringMatching(/^[0-9A-Za-z]{16}$/).map((tail) => `----FuzzBoundary${tail}`);

/** One part per field, and perhaps the whole value again as an uploaded JSON file. */
function multipartText(fields: [string, string][], separator: string, file?: string): string {
  // Browsers percent-encode quotes and line breaks in names: every part stays well-formed.
  const name = (field: string) => field.replace(/["\r\n]/g, (c) => encodeURIComponent(c));
  const part = (headers: string, content: string) =>
    `--${separator}\r\n${headers}\r\n\r\n${content}\r\n`;
  const parts = fields.map(([key, value]) =>
    part(`Content-Disposition: form-data; name="${name(key)}"`, value),
  );
  if (file !== undefined) {
    const headers = 'Content-Disposition: form-data; name="file"; filename="input.json"';
    parts.push(part(`${headers}\r\nContent-Type: application/json`, file));
  }
  return `${parts.join('')}--${separator}--\r\n`;
}

/** Multipart Content-Types, `{b}` standing for the body's boundary: right, quoted, absent, wrong. */
const multipartTypes = [
  'multipart/form-data; boundary={b}',
  'multipart/form-data; boundary="{b}"',
  'Multipart/Form-Data; Boundary={b}',
  'multipart/form-data; charset=utf-8; boundary={b}',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'multipart/form-data; boundary=not-the-one',
  'multipart/mixed; boundary={b}',
];

/** Types that name JSON, or something near it, without being `application/json`. */
const oddTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/octet-stream',
  'application/vnd.api+json',
  'application/x-ndjson',
  'application/problem+json',
  'application/x-json',
  'application/json5',
  'application/xml',
  'application/*',
  '*/*',
];

/**
 * Values that are no media type at all, or several: two headers folded into one list, stray
 * spaces, quotes and separators.
 */
const malformedTypes = [
  'application/json, application/json',
  'application/json,application/json',
  'application/json, text/plain',
  'text/plain, application/json',
  'application/ json',
  'application /json',
  'application/json x',
  '"application/json"',
  'application/json/',
  'application',
  'json',
  '/json',
  'application/',
  '/',
  ';',
  '; application/json',
  '',
];

/** `application/json` as other clients spell it: case, parameters and separators vary. */
const jsonSpellings = [
  'APPLICATION/JSON; charset=utf-8',
  'Application/Json',
  'application/JSON',
  'application/json;charset=UTF-8',
  'application/json ; charset=utf-8',
  'application/json; charset="utf-8"',
  'application/json;;',
  'application/json; charset=utf-8; boundary=x',
];

/** Other body types, each with bodies that are JSON, plain text or junk. */
const nonJsonTypes = [
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
];

/** `json` with a `padding` member (or around it, if not an object) to exactly `bytes` bytes. */
function padTo(json: string, bytes: number): string {
  const head = '{"padding":"';
  const tail = !json.startsWith('{')
    ? `","value":${json}}`
    : json === '{}'
      ? '"}'
      : `",${json.slice(1)}`;
  const room = bytes - Buffer.byteLength(head + tail);
  return head + 'a'.repeat(Math.max(0, room)) + tail;
}

/**
 * Bodies other than plain `application/json`, made from `value` (what the operation takes) to
 * look like what a confused or hostile client sends instead: multipart and url-encoded forms,
 * JSON labelled as text or as a kin of JSON, malformed or absent Content-Types, and
 * `application/json` spelled oddly (JSON all the same); and bodies on and just past
 * `bodyLimitBytes`, JSON or not.
 */
export function unusualBody(
  value: fc.Arbitrary<unknown>,
  bodyLimitBytes: number,
): fc.Arbitrary<TypedBody> {
  const json = value.map((input) => (input === undefined ? '{}' : text(input)));
  const fields = fc
    .tuple(value, fc.array(fc.tuple(hostileKey, hostileString), { maxLength: 2 }))
    .map(([input, extra]) => [...formFields(input), ...extra]);
  const typed = (kind: BodyKind) => (parts: { contentType?: string; body: string }) => ({
    kind,
    contentType: parts.contentType,
    body: parts.body,
  });
  const multipart = fc
    .record({
      fields,
      separator: boundary,
      file: fc.option(json, { nil: undefined }),
      type: fc.constantFrom(...multipartTypes),
    })
    .map(({ fields, separator, file, type }) => ({
      contentType: type.replaceAll('{b}', separator),
      body: multipartText(fields, separator, file),
    }))
    .map(typed('multipart'));
  const form = fc
    .record({
      contentType: fc.constantFrom(
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded; charset=UTF-8',
        'APPLICATION/X-WWW-FORM-URLENCODED',
      ),
      body: fc.oneof(
        fields.map((pairs) => new URLSearchParams(pairs).toString()),
        // What `curl -d '{...}'` sends: JSON under the form's media type.
        json,
        fc.constantFrom('a[b]=c&a[__proto__][x]=1', '__proto__[polluted]=yes', '=&=&', '%zz'),
      ),
    })
    .map(typed('form'));
  const plain = fc
    .record({
      // fetch labels a string body `text/plain;charset=UTF-8` unless told otherwise.
      contentType: fc.constantFrom(
        'text/plain;charset=UTF-8',
        'text/plain',
        'TEXT/PLAIN',
        'text/plain; charset=utf-16',
        'text/json',
        'text/html',
      ),
      body: fc.oneof({ weight: 3, arbitrary: json }, hostileString, malformedJson(json)),
    })
    .map(typed('text'));
  const patch = fields.map((pairs) =>
    text(pairs.map(([key, field]) => ({ op: 'replace', path: `/${key}`, value: field }))),
  );
  const binary = fc
    .uint8Array({ maxLength: 64 })
    .map((bytes) => Buffer.from(bytes).toString('latin1'));
  const odd = fc
    .record({
      contentType: fc.constantFrom(...oddTypes),
      body: fc.oneof({ weight: 2, arbitrary: json }, patch, binary),
    })
    .map(typed('odd type'));
  const malformed = fc
    .record({ contentType: fc.constantFrom(...malformedTypes), body: json })
    .map(typed('malformed type'));
  const untyped = fc
    .record({
      body: fc.oneof(
        { weight: 2, arbitrary: json },
        fields.map((pairs) => new URLSearchParams(pairs).toString()),
        // No body and no type: nothing for Fastify to parse.
        fc.constant(''),
      ),
    })
    .map(typed('no type'));
  const spelled = fc
    .record({ contentType: fc.constantFrom(...jsonSpellings), body: json })
    .map(typed('json, odd spelling'));
  // On the limit (still read) or just past it.
  const size = fc.oneof(
    fc.constantFrom(bodyLimitBytes, bodyLimitBytes + 1),
    fc.integer({ min: bodyLimitBytes + 1, max: bodyLimitBytes + 2_048 }),
  );
  const oversizedJson = fc
    .record({
      contentType: fc.constantFrom('application/json', ...jsonSpellings),
      body: fc.tuple(json, size).map(([input, bytes]) => padTo(input, bytes)),
    })
    .map(typed('oversized json'));
  const oversizedOther = fc
    .record({
      contentType: fc.option(fc.constantFrom(...nonJsonTypes), { nil: undefined, freq: 5 }),
      body: fc.oneof(
        fc.tuple(json, size).map(([input, bytes]) => padTo(input, bytes)),
        size.map((bytes) => 'a'.repeat(bytes)),
      ),
    })
    .map(typed('oversized other'));
  return fc.oneof(
    multipart,
    form,
    plain,
    odd,
    malformed,
    untyped,
    spelled,
    oversizedJson,
    oversizedOther,
  );
}

/** Lengths on and just past the bounds `min` and `max`. */
function edges(min: number | undefined, max: number | undefined): number[] {
  const candidates = [min, max, min === undefined ? undefined : min - 1];
  if (max !== undefined) candidates.push(max + 1);
  return [...new Set(candidates.filter((n): n is number => n !== undefined && n >= 0))];
}

/** `"3"` -> `"0"`, `"17"`...: the example's shape with other numbers in it. */
function likeExample(example: string): fc.Arbitrary<string> {
  const parts = example.split(/\d+/);
  return fc
    .array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.nat()), {
      minLength: parts.length - 1,
      maxLength: parts.length - 1,
    })
    .map((numbers) =>
      parts.reduce((joined, part, index) => joined + String(numbers[index - 1]) + part),
    );
}

export class SchemaArbitraries {
  constructor(
    /** Where `$ref`s point into, e.g. the OpenAPI document. */
    private readonly root: unknown,
    private readonly known: KnownValues,
  ) {}

  private resolve(schema: JsonSchema): JsonSchema {
    if (schema.$ref === undefined) return schema;
    const target = schema.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], this.root);
    return this.resolve(target as JsonSchema);
  }

  /** Each alternative of a union, or of a list of types, as a schema of its own. */
  private alternatives(schema: JsonSchema): JsonSchema[] | undefined {
    if (schema.anyOf ?? schema.oneOf) return schema.anyOf ?? schema.oneOf;
    if (Array.isArray(schema.type)) return schema.type.map((type) => ({ ...schema, type }));
    return undefined;
  }

  /** A value the schema accepts. */
  valid(reference: JsonSchema): fc.Arbitrary<unknown> {
    const schema = this.resolve(reference);
    const alternatives = this.alternatives(schema);
    if (alternatives) return fc.oneof(...alternatives.map((option) => this.valid(option)));
    if (schema.const !== undefined) return fc.constant(schema.const);
    if (schema.enum) return fc.constantFrom(...schema.enum);
    switch (schema.type) {
      case 'string':
        return this.validString(schema);
      case 'integer':
        return fc.integer({
          min: Math.max(schema.minimum ?? -(2 ** 31), -(2 ** 31)),
          max: Math.min(schema.maximum ?? 2 ** 31 - 1, 2 ** 31 - 1),
        });
      case 'number':
        return fc.double({ min: schema.minimum, max: schema.maximum, noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array':
        return fc.array(this.valid(schema.items ?? {}), {
          minLength: schema.minItems ?? 0,
          maxLength: schema.maxItems ?? 5,
        });
      case 'object':
        return this.validObject(schema);
      default:
        return fc.jsonValue({ maxDepth: 2 });
    }
  }

  private validString(schema: JsonSchema): fc.Arbitrary<string> {
    const { minLength = 0, maxLength } = schema;
    if (schema.format === 'uuid') {
      const random = fc.uuid();
      return this.known.ids.length ? fc.oneof(fc.constantFrom(...this.known.ids), random) : random;
    }
    if (schema.format === 'date-time') {
      return fc.date({ noInvalidDate: true }).map((date) => date.toISOString());
    }
    if (schema.pattern !== undefined) {
      return fc
        .stringMatching(new RegExp(schema.pattern), { maxLength })
        .filter((value) => value.length >= minLength);
    }
    const examples = (schema.examples ?? []).filter((e): e is string => typeof e === 'string');
    // Valid as far as the schema says, yet with characters that storage or search may choke on.
    const unit = fc.oneof(
      { weight: 4, arbitrary: fc.constant<'grapheme-ascii' | 'grapheme'>('grapheme-ascii') },
      { weight: 1, arbitrary: fc.constant<'grapheme-ascii' | 'grapheme'>('grapheme') },
    );
    const strings = fc.oneof(
      {
        weight: 5,
        arbitrary: unit.chain((chosen) => fc.string({ unit: chosen, minLength, maxLength })),
      },
      { weight: 1, arbitrary: fc.string({ unit: hostileCharacter, minLength, maxLength }) },
    );
    return examples.length ? fc.oneof(strings, ...examples.map(likeExample)) : strings;
  }

  /** A valid value for the property or parameter `name`: half of the time a real one, if known. */
  private validNamed(name: string, schema: JsonSchema): fc.Arbitrary<unknown> {
    const real = this.known.properties[name] ?? [];
    const generated = this.valid(schema);
    return real.length ? fc.oneof(fc.constantFrom(...real), generated) : generated;
  }

  /**
   * Real values of `name` that are base64url-encoded JSON objects (cursors, say), with one field
   * swapped for a hostile timestamp or string, encoded back.
   */
  private tamperedKnown(name: string): fc.Arbitrary<string>[] {
    return (this.known.properties[name] ?? []).flatMap((value) => {
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
      } catch {
        return [];
      }
      if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) return [];
      const fields = decoded as Record<string, unknown>;
      return [
        fc
          .tuple(fc.constantFrom(...Object.keys(fields)), fc.oneof(hostileTimestamp, hostileString))
          .map(([key, replacement]) =>
            Buffer.from(JSON.stringify({ ...fields, [key]: replacement })).toString('base64url'),
          ),
      ];
    });
  }

  private validObject(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
    const properties = Object.entries(schema.properties ?? {});
    const model = Object.fromEntries(
      properties.map(([name, property]) => [name, this.validNamed(name, property)]),
    );
    return fc.record(model, { requiredKeys: schema.required ?? [] });
  }

  /** Values on and just past the schema's bounds, and near misses of its enums and patterns. */
  boundary(reference: JsonSchema): fc.Arbitrary<unknown> {
    const schema = this.resolve(reference);
    const alternatives = this.alternatives(schema);
    if (alternatives) return fc.oneof(...alternatives.map((option) => this.boundary(option)));
    if (schema.enum) {
      return fc
        .tuple(
          fc.constantFrom(...schema.enum.map(String)),
          fc.constantFrom('upper', 'space', 'more'),
        )
        .map(([value, how]) =>
          how === 'upper' ? value.toUpperCase() : how === 'space' ? ` ${value}` : `${value}x`,
        );
    }
    switch (schema.type) {
      case 'string': {
        const lengths = fc.constantFrom(...edges(schema.minLength ?? 0, schema.maxLength));
        const padded = fc
          .tuple(lengths, fc.constantFrom('a', ' ', 'é', '😀'))
          .map(([length, character]) => character.repeat(length));
        if (schema.pattern === undefined && schema.format === undefined) return padded;
        return fc.oneof(
          padded,
          fc
            .tuple(this.validString(schema), fc.constantFrom('upper', 'space', 'cut', 'nul'))
            .map(([value, how]) =>
              how === 'upper'
                ? value.toUpperCase()
                : how === 'space'
                  ? ` ${value} `
                  : how === 'cut'
                    ? value.slice(0, -1)
                    : `${value}\u0000`,
            ),
        );
      }
      case 'integer':
      case 'number': {
        const { minimum: min, maximum: max } = schema;
        const values = [0, -1, 2 ** 31, 2 ** 53, 0.5];
        if (min !== undefined) values.push(min, min - 1, min + 0.5);
        if (max !== undefined) values.push(max, max + 1);
        return fc.constantFrom(...values);
      }
      case 'array': {
        const items = this.valid(schema.items ?? {});
        const over = (schema.maxItems ?? 10) + 1;
        return fc.oneof(
          fc.array(items, { minLength: over, maxLength: over + 2 }),
          fc.constant([]),
          fc.constant([null]),
        );
      }
      case 'object':
        return fc.constantFrom({}, []);
      default:
        return fc.constantFrom(0, '', false);
    }
  }

  /**
   * A body for an object schema in which each property is valid, at a bound, hostile or absent,
   * plus a few extra (possibly poisonous or duplicate) keys.
   */
  mutatedObject(reference: JsonSchema): fc.Arbitrary<string> {
    const schema = this.resolve(reference);
    const names = Object.keys(schema.properties ?? {});
    const propertyValue = (property: JsonSchema) =>
      fc.option(
        fc.oneof(
          { weight: 3, arbitrary: this.valid(property).map(text) },
          { weight: 2, arbitrary: this.boundary(property).map(text) },
          { weight: 1, arbitrary: hostileJson },
        ),
        { freq: 4, nil: undefined },
      );
    const extraKey = names.length ? fc.oneof(hostileKey, fc.constantFrom(...names)) : hostileKey;
    return fc
      .tuple(
        fc.tuple(...names.map((name) => propertyValue(schema.properties?.[name] ?? {}))),
        fc.array(fc.tuple(extraKey, hostileLeaf), { maxLength: 3 }),
      )
      .map(([values, extras]) =>
        objectText([
          ...names.flatMap((name, index): [string, string][] => {
            const value = values[index];
            return value === undefined ? [] : [[name, value]];
          }),
          ...extras,
        ]),
      );
  }

  /** JSON text for a request body; when hostile, mostly mutated, hostile or not JSON at all. */
  body(schema: JsonSchema, hostile: boolean): fc.Arbitrary<string> {
    const valid = this.valid(schema).map(text);
    if (!hostile) return valid;
    return fc.oneof(
      { weight: 2, arbitrary: valid },
      { weight: 4, arbitrary: this.mutatedObject(schema) },
      { weight: 2, arbitrary: hostileJson },
      { weight: 2, arbitrary: malformedJson(valid) },
      {
        weight: 1,
        // Around the body limit (64 KiB in tests): either side of 413.
        arbitrary: fc
          .integer({ min: 60_000, max: 70_000 })
          .map((length) => text({ padding: 'a'.repeat(length) })),
      },
    );
  }

  /** Values for a query, path or header parameter, as the strings they travel as. */
  parameter(name: string, schema: JsonSchema, hostile: boolean): fc.Arbitrary<string[]> {
    const asStrings = (value: unknown): string[] =>
      Array.isArray(value)
        ? value.flatMap(asStrings)
        : [typeof value === 'string' ? value : text(value)];
    const valid = this.validNamed(name, schema).map(asStrings);
    if (!hostile) return valid;
    return fc.oneof(
      { weight: 3, arbitrary: valid },
      { weight: 2, arbitrary: this.boundary(schema).map(asStrings) },
      { weight: 2, arbitrary: fc.array(hostileString, { minLength: 1, maxLength: 3 }) },
      ...this.tamperedKnown(name).map((tampered) => ({
        weight: 4,
        arbitrary: tampered.map((value) => [value]),
      })),
    );
  }
}
