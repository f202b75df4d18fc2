import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { z } from 'zod';
import { errorCatalogue, errorCodes, type ErrorCode } from './errors.js';
import { listRestOperations, type RestOperation } from './rest.js';
import { appRouter } from './root.js';

/** RFC 9457 problem details, the body of every REST error. */
export const problemSchema = z
  .object({
    type: z.string().meta({
      description: 'Relative URI naming the code',
      examples: ['/problems/validation-failed'],
    }),
    title: z.string().meta({ examples: ['Validation failed'] }),
    status: z
      .number()
      .int()
      .meta({ examples: [422] }),
    detail: z.string().meta({ examples: ['1 field is invalid'] }),
    code: z.enum(errorCodes as [ErrorCode, ...ErrorCode[]]),
    requestId: z.string(),
    errors: z
      .array(z.object({ path: z.string(), code: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'The invalid fields (VALIDATION_FAILED)' }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

const problemRef = { $ref: '#/components/schemas/Problem' };
const retryAfterHeader = {
  description: 'Seconds to wait before trying again',
  schema: { type: 'integer', minimum: 0 },
};

type Responses = Record<string, Record<string, unknown>>;

function successResponse(operation: RestOperation, generated: Record<string, unknown> | undefined) {
  if (operation.successStatus === 204) return { description: operation.successDescription };
  const headers = operation.location
    ? {
        Location: {
          description: 'URL of the created resource',
          schema: { type: 'string', examples: [operation.location] },
        },
      }
    : undefined;
  return { ...generated, description: operation.successDescription, ...(headers && { headers }) };
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
        ...(status === 429 && { headers: { 'Retry-After': retryAfterHeader } }),
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
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    defs: { Problem: problemSchema },
  });
  for (const operation of listRestOperations()) {
    const pathItem = document.paths?.[operation.path] as
      Record<string, { responses: Responses }> | undefined;
    const described = pathItem?.[operation.method.toLowerCase()];
    if (!described) throw new Error(`OpenAPI document lacks ${operation.method} ${operation.path}`);
    described.responses = {
      [String(operation.successStatus)]: successResponse(operation, described.responses['200']),
      ...errorResponses(operation.errors),
    };
  }
  return document;
}
