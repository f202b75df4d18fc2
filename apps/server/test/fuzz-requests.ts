/**
 * Valid and hostile HTTP requests for every operation of the OpenAPI document and every tRPC
 * procedure, derived from their schemas: a new operation or field is fuzzed without a change here.
 */
import { appRouter } from '@tasks/api';
import fc from 'fast-check';
import { z } from 'zod';
import {
  hostileJson,
  hostileString,
  malformedJson,
  SchemaArbitraries,
  unusualBody,
  type JsonSchema,
  type KnownValues,
  type TypedBody,
} from './fuzz-arbitraries.js';

export interface FuzzRequest {
  method: string;
  /** Path and query string, as sent. */
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** What the request probes, for the tally: a class of body or of batch; none for the rest. */
  kind?: string;
}

/** A family of requests, counted and reported under `name`. */
export interface FuzzTarget {
  name: string;
  requests: fc.Arbitrary<FuzzRequest>;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  schema: JsonSchema;
}

interface OperationObject {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema } | undefined> };
  security?: Record<string, unknown>[];
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
}

export interface FuzzContext extends KnownValues {
  /** Access token of the real user who owns `ids`. */
  token: string;
  /** The server's limits, so that bodies and batches land on either side of them. */
  bodyLimitBytes: number;
  maxBatchSize: number;
}

/**
 * Node answers 431 (a transport limit, outside the API) to request heads over 16 KiB: urls and
 * header values are capped well below that, so every answer comes from the application.
 */
const maxUrlLength = 8_000;
const maxHeaderLength = 1_000;

/** What a client can put in a header: Latin-1 bytes (UTF-8 sent raw), no control characters. */
function headerSafe(value: string): string {
  const printable = Buffer.from(value, 'utf8').filter(
    (byte) => byte === 0x09 || (byte >= 0x20 && byte !== 0x7f),
  );
  return Buffer.from(printable).toString('latin1').slice(0, maxHeaderLength);
}

const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

const hostileContentTypes = [
  'text/plain',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/jsonx',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/problem+json',
  '*/*',
  'application/json;;',
  'application/json, text/plain',
  '',
];

/** Header values that abuse HTTP syntax: wildcards, lists, weak and unquoted tags. */
const hostileHeaderValues = [
  '*',
  ',',
  '""',
  'W/"1"',
  '"1", "2"',
  '"-1"',
  '"1.5"',
  '"9'.padEnd(30, '9') + '"',
];

/** Path segments that routers and decoders handle differently. */
const hostileSegments = [
  '..',
  '.',
  '%2F',
  'a%2Fb',
  '%zz',
  '%',
  '%00',
  '%C0%AF',
  '%E0%A4%A',
  '',
  'a/b',
  ';x',
  '*',
];

/** The user's bearer token when the operation needs one, nothing otherwise; or garbage. */
function authorization(
  token: string,
  required: boolean,
  hostile: boolean,
): fc.Arbitrary<string | undefined> {
  const proper = fc.constant(required ? `Bearer ${token}` : undefined);
  if (!hostile) return proper;
  const [header = '', payload = '', signature = ''] = token.split('.');
  const garbage = fc.oneof(
    fc.constantFrom(
      'Bearer',
      'Bearer ',
      `Basic ${token}`,
      token,
      `bearer ${token}`,
      `Bearer ${token}x`,
      `Bearer ${token} ${token}`,
      `Bearer ${header}.${payload}.`,
      `Bearer ${signature}.${payload}.${header}`,
    ),
    hostileString.map((value) => headerSafe(`Bearer ${value}`)),
  );
  return fc.oneof(
    { weight: 4, arbitrary: proper },
    { weight: 1, arbitrary: fc.constant(required ? undefined : `Bearer ${token}`) },
    { weight: 2, arbitrary: garbage },
  );
}

/** Mostly `application/json`, sometimes a mismatch. */
const hostileContentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom(...hostileContentTypes) },
);

/** Headers with undefined values left out, so a counterexample shows only what was sent. */
function definedHeaders(headers: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** Percent-encoded UTF-8; a lone surrogate becomes the invalid UTF-8 a careless client sends. */
function percentEncode(value: string): string {
  let encoded = '';
  for (const character of value) {
    const code = character.charCodeAt(0);
    const lone = character.length === 1 && code >= 0xd800 && code <= 0xdfff;
    encoded += lone
      ? [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
          .map((byte) => `%${byte.toString(16).toUpperCase()}`)
          .join('')
      : encodeURIComponent(character);
  }
  return encoded;
}

/** `?a=1&a=2&b=...`, percent-encoded, plus raw junk that no encoder would write. */
function queryString(pairs: [string, string][], junk: string | undefined): string {
  const encoded = pairs.map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`);
  if (junk !== undefined) encoded.push(junk);
  return encoded.length ? `?${encoded.join('&')}` : '';
}

/**
 * Requests for one operation. Half are valid as a well-behaved client would send them (so they
 * reach the database and exercise the success paths); the other half are hostile in any part.
 */
function restTarget(
  schemas: SchemaArbitraries,
  context: FuzzContext,
  template: string,
  method: string,
  operation: OperationObject,
): FuzzTarget {
  const upper = method.toUpperCase();
  const parameters = operation.parameters ?? [];
  const inLocation = (location: Parameter['in']) => parameters.filter((p) => p.in === location);
  const schema = operation.requestBody?.content['application/json']?.schema;
  const requiresAuth = (operation.security ?? []).length > 0;
  const queryNames = inLocation('query').map((parameter) => parameter.name);

  const parts = (hostile: boolean) => {
    const values = (parameter: Parameter) =>
      schemas.parameter(parameter.name, parameter.schema, hostile);
    const segment = (parameter: Parameter) =>
      values(parameter).map((v) => percentEncode(v[0] ?? ''));
    const path = fc
      .tuple(
        ...inLocation('path').map((parameter) =>
          hostile
            ? fc.oneof(
                { weight: 8, arbitrary: segment(parameter) },
                { weight: 1, arbitrary: fc.constantFrom(...hostileSegments) },
              )
            : segment(parameter),
        ),
      )
      .map((segments) => {
        let index = 0;
        return template.replace(/\{\w+\}/g, () => segments[index++] ?? '');
      });
    const documented = fc.tuple(
      ...inLocation('query').map((parameter) =>
        fc.option(
          values(parameter).map((list) => list.map((v): [string, string] => [parameter.name, v])),
          { nil: [], freq: 2 },
        ),
      ),
    );
    // Unknown, poisonous or bracketed names next to the documented ones, and raw junk.
    const unknown = fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('__proto__', 'constructor', ...queryNames.map((name) => `${name}[]`)),
          hostileString,
        ),
        hostileString,
      ),
      { maxLength: 2 },
    );
    const junk = fc.option(
      fc.constantFrom('&', '=', '%', '%zz', '+', 'a[b]=c', 'a[__proto__][x]=1'),
      {
        nil: undefined,
        freq: 4,
      },
    );
    const query = hostile
      ? fc
          .tuple(documented, unknown, junk)
          .map(([pairs, extra, raw]) => queryString([...pairs.flat(), ...extra], raw))
      : documented.map((pairs) => queryString(pairs.flat(), undefined));
    const headers = fc.record(
      Object.fromEntries(
        inLocation('header').map((parameter) => {
          const value = values(parameter).map((list) => headerSafe(list.join(', ')));
          const sent = hostile
            ? fc.oneof(
                { weight: 4, arbitrary: value },
                { weight: 1, arbitrary: fc.constantFrom(...hostileHeaderValues) },
              )
            : value;
          return [parameter.name.toLowerCase(), fc.option(sent, { nil: undefined })];
        }),
      ),
    );
    const body: fc.Arbitrary<string | undefined> = !hostile
      ? schema
        ? schemas.body(schema, false)
        : fc.constant(undefined)
      : schema
        ? fc.oneof({ weight: 19, arbitrary: schemas.body(schema, true) }, fc.constant(undefined))
        : fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, hostileJson);
    // Now and then the body is not JSON at all, or too big: it replaces `body` and its type.
    const unusual: fc.Arbitrary<TypedBody | undefined> = hostile
      ? fc.oneof(
          { weight: 3, arbitrary: fc.constant(undefined) },
          {
            weight: 1,
            arbitrary: unusualBody(
              schema ? schemas.valid(schema) : fc.constant(undefined),
              context.bodyLimitBytes,
            ),
          },
        )
      : fc.constant(undefined);
    return fc.record({
      method: hostile
        ? fc.oneof({ weight: 9, arbitrary: fc.constant(upper) }, fc.constantFrom(...methods))
        : fc.constant(upper),
      path,
      query,
      headers,
      body,
      contentType: hostile
        ? hostileContentType
        : fc.constant<string | undefined>('application/json'),
      unusual,
      authorization: authorization(context.token, requiresAuth, hostile),
      requestId: hostile
        ? fc.option(hostileString.map(headerSafe), { nil: undefined, freq: 4 })
        : fc.constant(undefined),
    });
  };

  return {
    name: `${upper} ${template}`,
    requests: fc.oneof(parts(false), parts(true)).map((parts) => {
      const { body: sent, contentType } = parts.unusual ?? parts;
      // fetch refuses a GET with a body.
      const body = parts.method === 'GET' ? undefined : sent;
      return {
        method: parts.method,
        url: (parts.path + parts.query).slice(0, maxUrlLength),
        headers: definedHeaders({
          ...parts.headers,
          authorization: parts.authorization,
          'x-request-id': parts.requestId,
          'content-type': body === undefined ? undefined : contentType,
        }),
        ...(body !== undefined && { body }),
        ...(body !== undefined && parts.unusual && { kind: parts.unusual.kind }),
      };
    }),
  };
}

/** One target per operation of the document. */
export function restTargets(document: OpenApiDocument, context: FuzzContext): FuzzTarget[] {
  const schemas = new SchemaArbitraries(document, context);
  return Object.entries(document.paths).flatMap(([template, operations]) =>
    Object.entries(operations).map(([method, operation]) =>
      restTarget(schemas, context, template, method, operation),
    ),
  );
}

interface ProcedureDefinition {
  _def: { type: 'query' | 'mutation' | 'subscription'; inputs: z.ZodType[] };
}

/** superjson `meta` that asks for impossible or poisonous revivals of the input. */
const hostileMeta = fc.constantFrom(
  '{"values":{"title":["Date"]}}',
  '{"values":["undefined"]}',
  '{"values":{"__proto__.polluted":["Date"]}}',
  '{"values":{"a":[["class","X"]]}}',
  '{"values":{"id":["bigint"]}}',
  '{"referentialEqualities":{"title":["description"]}}',
  '{"values":{"title":[["custom","nope"]]}}',
  '[]',
);

/** A /trpc request before it is written out. */
interface TrpcCall {
  names: readonly string[];
  /** `?batch=1`: tRPC splits `names` at commas and takes the payload's inputs by index. */
  batch: boolean;
  /** The input (for a batch, the object of inputs) as JSON text. */
  payload: string | undefined;
  method: string;
  authorization: string | undefined;
  /** A body that is not JSON (or too big), sent in place of the payload. */
  unusual?: TypedBody;
  kind?: string;
}

/** The payload in the query string of a GET, else in a JSON body. */
function trpcHttpRequest(call: TrpcCall): FuzzRequest {
  const path = `/trpc/${call.names.map(percentEncode).join(',')}`.slice(0, maxUrlLength / 2);
  const query = call.batch ? '?batch=1' : '';
  const headers = definedHeaders({ authorization: call.authorization });
  const kind = call.kind === undefined ? {} : { kind: call.kind };
  if (call.method === 'GET') {
    const input =
      call.payload === undefined
        ? ''
        : `${call.batch ? '&' : '?'}input=${percentEncode(call.payload)}`;
    const url = `${path}${query}${input}`.slice(0, maxUrlLength);
    return { method: 'GET', url, headers, ...kind };
  }
  const { body, contentType } = call.unusual ?? {
    body: call.payload,
    contentType: 'application/json',
  };
  return {
    method: call.method,
    url: path + query,
    headers: definedHeaders({ ...headers, 'content-type': contentType }),
    ...(body !== undefined && { body }),
    ...kind,
  };
}

/** One procedure, or the same one a few times as a batch, inputs keyed by index. */
function trpcRequest(
  names: readonly string[],
  inputs: readonly string[],
  method: string,
  authorization: string | undefined,
  unusual?: TypedBody,
): FuzzRequest {
  const batch = names.length > 1;
  const payload = batch ? `{${inputs.map((input, i) => `"${i}":${input}`).join(',')}}` : inputs[0];
  return trpcHttpRequest({
    names,
    batch,
    payload,
    method,
    authorization,
    ...(unusual && { unusual, kind: unusual.kind }),
  });
}

interface ProcedureInputs {
  name: string;
  isQuery: boolean;
  schemas: SchemaArbitraries;
  /** JSON Schema of the input; none for a procedure without one. */
  schema: JsonSchema | undefined;
  /** A valid input in its superjson envelope, as JSON text; none without an input. */
  valid: fc.Arbitrary<string | undefined>;
}

/** Every tRPC procedure with arbitraries for its input, derived from its zod schema. */
function procedureInputs(context: FuzzContext): ProcedureInputs[] {
  const procedures = appRouter._def.procedures as unknown as Record<string, ProcedureDefinition>;
  return Object.entries(procedures).map(([name, { _def }]) => {
    const inputSchema = _def.inputs[0];
    const schema = inputSchema
      ? (z.toJSONSchema(inputSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema)
      : undefined;
    const schemas = new SchemaArbitraries(schema, context);
    const valid = schema
      ? schemas.valid(schema).map((value) => JSON.stringify({ json: value }))
      : fc.constant(undefined);
    return { name, isQuery: _def.type === 'query', schemas, schema, valid };
  });
}

/** Methods that carry a body, POST most of all since tRPC serves mutations on it. */
const bodyMethods = ['POST', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * One target per tRPC procedure: half valid single calls, half hostile (inputs, envelopes,
 * batches, the other method, unknown names, bad tokens, bodies that are not JSON).
 */
export function trpcTargets(context: FuzzContext): FuzzTarget[] {
  return procedureInputs(context).map(({ name: procedure, isQuery, schemas, schema, valid }) => {
    const hostileInput = fc.oneof(
      { weight: 2, arbitrary: valid },
      {
        weight: 2,
        arbitrary: schemas.mutatedObject(schema ?? {}).map((json) => `{"json":${json}}`),
      },
      { weight: 1, arbitrary: hostileJson },
      { weight: 1, arbitrary: malformedJson(valid.map((input) => input ?? '{}')) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(valid, hostileMeta)
          .map(([envelope = '{"json":null}', meta]) => `${envelope.slice(0, -1)},"meta":${meta}}`),
      },
    );
    const envelope = schema
      ? schemas.valid(schema).map((value) => ({ json: value }))
      : fc.constant(undefined);
    const unusual = fc.oneof(
      { weight: 4, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.record({
          method: fc.constantFrom(...bodyMethods),
          body: unusualBody(envelope, context.bodyLimitBytes),
        }),
      },
    );
    const hostile = fc
      .record({
        names: fc.oneof(
          { weight: 3, arbitrary: fc.constant([procedure]) },
          fc.array(fc.constant(procedure), { minLength: 2, maxLength: 3 }),
          fc.tuple(hostileString),
        ),
        inputs: fc.array(hostileInput, { minLength: 3, maxLength: 3 }),
        otherMethod: fc.boolean(),
        authorization: authorization(context.token, true, true),
        unusual,
      })
      .map(({ names, inputs, otherMethod, authorization, unusual }) =>
        trpcRequest(
          names,
          inputs.filter((input): input is string => input !== undefined),
          unusual?.method ?? (isQuery !== otherMethod ? 'GET' : 'POST'),
          authorization,
          unusual?.body,
        ),
      );
    const wellBehaved = valid.map((input) =>
      trpcRequest(
        [procedure],
        input === undefined ? [] : [input],
        isQuery ? 'GET' : 'POST',
        `Bearer ${context.token}`,
      ),
    );
    return { name: `trpc ${procedure}`, requests: fc.oneof(wellBehaved, hostile) };
  });
}

/** Names tRPC does not serve, short enough that a long batch of them fits in the path. */
const unknownProcedures = [
  'nope',
  'x',
  'auth',
  'tasks',
  'tasks.nope',
  'tasks.list.x',
  'TASKS.LIST',
  'auth.me.',
  '__proto__',
  'constructor',
  'toString',
  'tasks.__proto__',
  '_def',
];

/** Keys in a batch's inputs that match no call: signed, padded, fractional, not numbers. */
const strayKeys = ['-1', '01', '1.0', ' 0', 'x', 'length', '__proto__'];

/**
 * /trpc batches of real and unknown procedures, queries as GET, mutations as POST, or mixed;
 * sizes on both sides of the server's maximum; inputs by index, some missing, some extra.
 */
export function trpcBatchTarget(context: FuzzContext): FuzzTarget {
  const procedures = procedureInputs(context);
  const max = context.maxBatchSize;
  const call = (pool: ProcedureInputs[]) =>
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.oneof(
          ...pool.map(({ name, valid }) =>
            fc.record({
              name: fc.constant(name),
              input: fc.option(valid, { nil: undefined, freq: 6 }),
            }),
          ),
        ),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          name: fc.constantFrom(...unknownProcedures),
          input: fc.option(hostileJson, { nil: undefined }),
        }),
      },
    );
  const size = fc.oneof(
    fc.integer({ min: 1, max }),
    fc.integer({ min: max + 1, max: max + 10 }),
    fc.constantFrom(max, max + 1),
  );
  const families = [
    { pool: procedures.filter((p) => p.isQuery), method: fc.constant('GET') },
    { pool: procedures.filter((p) => !p.isQuery), method: fc.constant('POST') },
    { pool: procedures, method: fc.constantFrom('GET', 'POST') },
  ];
  const batches = families.map(({ pool, method }) =>
    fc.record({
      calls: size.chain((length) => fc.array(call(pool), { minLength: length, maxLength: length })),
      stray: fc.array(
        fc.tuple(
          fc.oneof(fc.constantFrom(...strayKeys), fc.nat({ max: max + 10 }).map(String)),
          fc.oneof(hostileJson, fc.constant('{"json":null}')),
        ),
        { maxLength: 2 },
      ),
      notAnObject: fc.option(fc.constantFrom('[]', 'null', '"0"', '[{"json":null}]'), {
        nil: undefined,
        freq: 10,
      }),
      method,
      authorization: authorization(context.token, true, true),
    }),
  );
  return {
    name: 'trpc batch',
    requests: fc.oneof(...batches).map(({ calls, stray, notAnObject, method, authorization }) => {
      const inputs = calls.flatMap(({ input }, index) =>
        input === undefined ? [] : [`"${index}":${input}`],
      );
      const strays = stray.map(([key, input]) => `${JSON.stringify(key)}:${input}`);
      return trpcHttpRequest({
        names: calls.map(({ name }) => name),
        batch: true,
        payload: notAnObject ?? `{${[...inputs, ...strays].join(',')}}`,
        method,
        authorization,
        kind: calls.length > max ? `batch over ${max}` : `batch up to ${max}`,
      });
    }),
  };
}
