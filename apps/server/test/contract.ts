/**
 * Checks real responses against the OpenAPI document, so the runtime and the spec cannot drift:
 * the harness runs every REST response of the integration tests through `assertDocumented`.
 */
import { createOpenApiDocument } from '@tasks/api';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';

type Schema = Record<string, unknown>;
interface DocumentedResponse {
  content?: Record<string, { schema: Schema }>;
}
interface DocumentedOperation {
  responses: Record<string, DocumentedResponse>;
}

const document = createOpenApiDocument({ baseUrl: '/' });
const ajv = new Ajv2020({ strict: false, allErrors: true });
// ajv-formats is CommonJS: depending on the loader its function is the default or under it.
type AddFormats = (instance: Ajv2020) => unknown;
const addFormats = ((addFormatsImport as unknown as { default?: AddFormats }).default ??
  addFormatsImport) as unknown as AddFormats;
addFormats(ajv);
const validators = new Map<Schema, ValidateFunction>();

/** References like `#/components/schemas/Task` resolve against the document's components. */
function validatorFor(schema: Schema): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile({ ...schema, components: document.components });
    validators.set(schema, validate);
  }
  return validate;
}

// Literal paths first, as the router matches them: `/tasks/changes` is not `/tasks/{id}`.
const routes = Object.entries(document.paths ?? {})
  .sort(([a], [b]) => Number(a.includes('{')) - Number(b.includes('{')))
  .map(([template, item]) => ({
    pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`),
    operations: item as Record<string, DocumentedOperation>,
  }));

const problemSchema = { $ref: '#/components/schemas/Problem' };

function check(schema: Schema, body: string, where: string): void {
  const validate = validatorFor(schema);
  if (!validate(JSON.parse(body))) {
    throw new Error(
      `${where}: body does not match the OpenAPI document: ${ajv.errorsText(validate.errors)}\n${body}`,
    );
  }
}

/** Throws when a REST response has a status, content type or body the document does not declare. */
export function assertDocumented(
  method: string,
  url: string,
  status: number,
  contentType: string | null,
  body: string,
): void {
  const path = new URL(url, 'http://localhost').pathname.replace(/\/$/, '') || '/';
  const where = `${method} ${path} -> ${status}`;
  // Oversized request heads are refused by Node's parser (431) before any route runs: a
  // transport limit, documented in docs/security.md, not an API response.
  if (status === 431) return;
  const route = routes.find(({ pattern }) => pattern.test(path));
  const operation = route?.operations[method.toLowerCase()];
  if (!operation) {
    // Outside the documented API (/health, /trpc...): only the catalogue's 404 and 405 are ours.
    if (route || status === 404) check(problemSchema, body, where);
    return;
  }
  const response = operation.responses[String(status)];
  if (!response)
    throw new Error(
      `${where}: status not documented (has ${Object.keys(operation.responses).join(', ')})`,
    );
  if (!response.content) {
    if (body !== '') throw new Error(`${where}: documented without a body, got ${body}`);
    return;
  }
  const mediaType = contentType?.split(';')[0]?.trim() ?? '';
  const documented = response.content[mediaType];
  if (!documented) throw new Error(`${where}: content type ${mediaType} not documented`);
  check(documented.schema, body, where);
}
