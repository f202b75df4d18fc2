import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { errorCatalogue, type ErrorCode } from './errors.js';
import { problemSchema } from './problem.js';
import {
  refreshTokenCookie,
  type HeaderInput,
  type RefreshTokenCookieUse,
} from './header-inputs.js';
import type { ApiMeta } from './trpc.js';
import { z } from 'zod';
import {
  listRestEventStreams,
  listRestOperations,
  type RestEventStream,
  type RestOperation,
} from './rest.js';
import { appRouter } from './root.js';

const problemRef = { $ref: '#/components/schemas/Problem' };
const retryAfterHeader = {
  description: 'Seconds to wait before trying again',
  schema: { type: 'integer', minimum: 0 },
};

type Responses = Record<string, Record<string, unknown>>;

const headerDocs = {
  Location: { description: 'URL of the created resource', schema: { type: 'string' } },
  ETag: {
    description: 'Version of the task; send it back in `If-Match` to update or delete safely',
    schema: { type: 'string', examples: ['"3"'] },
  },
};

function successResponse(operation: RestOperation, generated: Record<string, unknown> | undefined) {
  if (operation.successStatus === 204) return { description: operation.successDescription };
  const headers = {
    ...(operation.location && { Location: headerDocs.Location }),
    ...(operation.etag && { ETag: headerDocs.ETag }),
  };
  return {
    ...generated,
    description: operation.successDescription,
    ...(Object.keys(headers).length > 0 && { headers }),
  };
}

const tagDescriptions: Record<string, string> = {
  auth: 'Accounts and sessions: register, sign in, rotate tokens, sign out, change the password',
  tasks: "The signed-in user's tasks; another user's tasks are invisible (404)",
};

interface DescribedOperation {
  security?: unknown[];
  parameters?: { name: string; in: string }[];
  requestBody?: {
    required?: boolean;
    content: Record<
      string,
      { schema: { properties?: Record<string, unknown>; required?: string[] } }
    >;
  };
  responses: Responses;
}

/** Fields that REST carries in headers leave the body/query schema and become header parameters. */
function moveInputsToHeaders(described: DescribedOperation, headerInputs: HeaderInput[]): void {
  const fields = new Set<string>(headerInputs.map(({ field }) => field));
  described.parameters = (described.parameters ?? []).filter(
    (parameter) => !(parameter.in === 'query' && fields.has(parameter.name)),
  );
  for (const { schema } of Object.values(described.requestBody?.content ?? {})) {
    for (const field of fields) delete schema.properties?.[field];
    if (schema.required) schema.required = schema.required.filter((name) => !fields.has(name));
  }
  described.parameters.push(
    ...headerInputs.map(({ header, description, schema }) => ({
      name: header,
      in: 'header',
      required: false,
      description,
      schema,
    })),
  );
}

/**
 * A session may call every protected operation; a personal access token those that declare a
 * scope, listed as the requirement's roles (OpenAPI 3.1 allows them on any scheme type).
 */
function securityRequirements(tokenScope: ApiMeta['tokenScope']): Record<string, string[]>[] {
  if (tokenScope === undefined) return [{ bearerAuth: [] }];
  return [{ bearerAuth: [] }, { personalAccessToken: tokenScope === 'any' ? [] : [tokenScope] }];
}

interface ObjectSchema {
  properties?: Record<string, { description?: string }>;
  required?: string[];
}

/** `schema` without `field` among its required properties. */
function makeOptional(schema: { required?: string[] }, field: string): void {
  const required = schema.required?.filter((name) => name !== field) ?? [];
  if (required.length > 0) schema.required = required;
  else delete schema.required;
}

/**
 * Cookie mode (`refreshTokenCookie`): the opt-in header; the cookie an operation reads, whose
 * body may then go without the refresh token; the `Set-Cookie` it answers with; and the refresh
 * token absent from its answer.
 */
function describeRefreshTokenCookie(
  described: DescribedOperation,
  use: RefreshTokenCookieUse,
  successStatus: number,
  schemas: Record<string, ObjectSchema>,
): void {
  const { field } = refreshTokenCookie;
  const parameters = [
    {
      name: refreshTokenCookie.header,
      in: 'header',
      required: false,
      description: refreshTokenCookie.headerDescription,
      schema: { type: 'string', enum: [refreshTokenCookie.value] },
    },
    ...(use.reads
      ? [
          {
            name: refreshTokenCookie.name,
            in: 'cookie',
            required: false,
            description: refreshTokenCookie.cookieDescription,
            schema: { type: 'string' },
          },
        ]
      : []),
  ];
  (described.parameters ??= []).push(...parameters);
  if (use.reads && described.requestBody) {
    described.requestBody.required = false;
    for (const { schema } of Object.values(described.requestBody.content)) {
      makeOptional(schema, field);
    }
  }
  const success = described.responses[String(successStatus)] as {
    headers?: Record<string, unknown>;
    content?: Record<string, { schema?: { $ref?: string } }>;
  };
  if (use.issues || use.ends) {
    success.headers = {
      ...success.headers,
      'Set-Cookie': {
        description: use.issues
          ? refreshTokenCookie.issuedDescription
          : refreshTokenCookie.clearedDescription,
        schema: { type: 'string' },
      },
    };
  }
  if (!use.issues) return;
  // The answer's schema is a component (TokenPair), shared by every operation that issues the
  // cookie: changed once.
  const ref = success.content?.['application/json']?.schema?.$ref;
  const output = ref === undefined ? undefined : schemas[ref.split('/').at(-1) ?? ''];
  if (!output) throw new Error(`The answer of an operation issuing ${field} is not a component`);
  const property = output.properties?.[field];
  if (!property) throw new Error(`The answer of an operation issuing ${field} lacks it`);
  if (!output.required?.includes(field)) return;
  makeOptional(output, field);
  property.description = `${property.description ?? ''}. ${refreshTokenCookie.fieldDescription}`;
}

function errorResponses(codes: ErrorCode[]): Responses {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const { status } = errorCatalogue[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, statusCodes]) => [
      String(status),
      {
        description: statusCodes
          .map((code) => `\`${code}\`: ${errorCatalogue[code].title}`)
          .join('; '),
        ...((status === 429 || status === 503) && { headers: { 'Retry-After': retryAfterHeader } }),
        content: { 'application/problem+json': { schema: problemRef } },
      },
    ]),
  );
}

/**
 * The OpenAPI 3.1 document of the REST surface. trpc-to-openapi derives paths and schemas from
 * the procedures; each operation's real success status, headers and problem+json errors come
 * from the same meta that the REST adapter follows at runtime.
 */
export function createOpenApiDocument({ baseUrl }: { baseUrl: string }): OpenAPIObject {
  const document = generateOpenApiDocument(appRouter, {
    title: 'Tasks API',
    version: '1.0.0',
    description: 'Accounts and tasks. The same procedures are served over tRPC at `/trpc`.',
    baseUrl,
    tags: ['auth', 'tasks'],
    securitySchemes: {
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: "A session's access token, from `POST /auth/login` or `POST /auth/refresh`",
      },
      personalAccessToken: {
        type: 'http',
        scheme: 'bearer',
        description:
          'A personal access token (`tasks_pat_…`, from `POST /auth/tokens`): each operation lists the scope it needs; operations that do not list this scheme refuse tokens with 403 `INSUFFICIENT_SCOPE`',
      },
    },
    defs: { Problem: problemSchema },
  });
  for (const operation of listRestOperations()) {
    const pathItem = document.paths?.[operation.path] as
      Record<string, DescribedOperation> | undefined;
    const described = pathItem?.[operation.method.toLowerCase()];
    if (!described) throw new Error(`OpenAPI document lacks ${operation.method} ${operation.path}`);
    moveInputsToHeaders(described, operation.headerInputs);
    // An explicit empty list says "no authentication", rather than leaving it unstated.
    described.security = operation.requiresAuth ? securityRequirements(operation.tokenScope) : [];
    described.responses = {
      [String(operation.successStatus)]: successResponse(operation, described.responses['200']),
      ...errorResponses(operation.errors),
    };
    if (operation.refreshTokenCookie) {
      describeRefreshTokenCookie(
        described,
        operation.refreshTokenCookie,
        operation.successStatus,
        (document.components?.schemas ?? {}) as Record<string, ObjectSchema>,
      );
    }
  }
  for (const stream of listRestEventStreams()) {
    document.paths = { ...document.paths, [stream.path]: { get: describeEventStream(stream) } };
  }
  document.tags = document.tags?.map((tag) => ({ ...tag, description: tagDescriptions[tag.name] }));
  // trpc-to-openapi's own error schemas are replaced by Problem above.
  const schemas = document.components?.schemas ?? {};
  for (const name of Object.keys(schemas)) {
    if (name.startsWith('error.')) Reflect.deleteProperty(schemas, name);
  }
  return document;
}

/** An event stream's operation: its query and header inputs, and `text/event-stream`. */
function describeEventStream(stream: RestEventStream): Record<string, unknown> {
  const shape =
    (stream.inputSchema?._zod.def as { shape?: Record<string, z.core.$ZodType> } | undefined)
      ?.shape ?? {};
  const headerFields = new Set<string>(stream.headerInputs.map(({ field }) => field));
  const queryParameters = Object.entries(shape)
    .filter(([name]) => !headerFields.has(name))
    .map(([name, schema]) => {
      const jsonSchema: Record<string, unknown> = z.toJSONSchema(schema, { io: 'input' });
      delete jsonSchema.$schema;
      return { in: 'query', name, schema: jsonSchema };
    });
  const headerParameters = stream.headerInputs.map(({ header, description, schema }) => ({
    name: header,
    in: 'header',
    required: false,
    description,
    schema,
  }));
  return {
    operationId: stream.procedurePath.replace('.', '-'),
    summary: stream.summary,
    description: stream.description,
    tags: stream.tags,
    security: securityRequirements(stream.tokenScope),
    parameters: [...queryParameters, ...headerParameters],
    responses: {
      '200': {
        description:
          'A stream of server-sent events: `id:` the change\u2019s cursor, `event:` its type, `data:` the Change as JSON (`#/components/schemas/Change`)',
        content: {
          'text/event-stream': {
            schema: {
              type: 'string',
              examples: ['id: MTIz\nevent: task.created\ndata: {...}\n\n'],
            },
          },
        },
      },
      ...errorResponses(stream.errors),
    },
  };
}
