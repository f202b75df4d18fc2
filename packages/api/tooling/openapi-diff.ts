/**
 * Breaking changes between two versions of the OpenAPI document, from a client's point of view:
 * what a client built against `before` could no longer do, or would fail to read, with `after`.
 */
type Json = Record<string, unknown>;
interface Operation {
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content?: Record<string, { schema?: Json }> };
  responses?: Record<string, { content?: Record<string, { schema?: Json }> }>;
}
type Paths = Record<string, Record<string, Operation>>;
interface OpenApiLike {
  paths?: unknown;
  components?: unknown;
}

const methods = ['get', 'post', 'put', 'patch', 'delete'];

function resolver(document: OpenApiLike) {
  const components = (document.components ?? {}) as { schemas?: Record<string, Json> };
  return function resolve(schema: Json | undefined): Json {
    const ref = schema?.$ref;
    if (typeof ref === 'string') return resolve(components.schemas?.[ref.split('/').at(-1) ?? '']);
    return schema ?? {};
  };
}

const properties = (schema: Json) => (schema.properties ?? {}) as Record<string, Json>;
const required = (schema: Json) => new Set((schema.required ?? []) as string[]);
const typeOf = (schema: Json) => JSON.stringify(schema.type ?? schema.anyOf ?? schema.$ref ?? null);
const successStatuses = (operation: Operation) =>
  Object.keys(operation.responses ?? {}).filter((status) => status.startsWith('2'));
const jsonSchema = (content: Record<string, { schema?: Json }> | undefined) =>
  content?.['application/json']?.schema;

export function findBreakingChanges(before: OpenApiLike, after: OpenApiLike): string[] {
  const changes: string[] = [];
  const [resolveBefore, resolveAfter] = [resolver(before), resolver(after)];
  const [oldPaths, newPaths] = [(before.paths ?? {}) as Paths, (after.paths ?? {}) as Paths];

  for (const [path, oldItem] of Object.entries(oldPaths)) {
    for (const method of methods) {
      const oldOperation = oldItem[method];
      if (!oldOperation) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const newOperation = newPaths[path]?.[method];
      if (!newOperation) {
        changes.push(`${where}: operation removed`);
        continue;
      }

      const [oldSuccess, newSuccess] = [
        successStatuses(oldOperation),
        successStatuses(newOperation),
      ];
      if (oldSuccess.join() !== newSuccess.join()) {
        changes.push(
          `${where}: success status ${oldSuccess.join('/')} became ${newSuccess.join('/')}`,
        );
      }

      const oldParameters = new Set(
        (oldOperation.parameters ?? []).map((p) => `${p.in}:${p.name}`),
      );
      for (const parameter of newOperation.parameters ?? []) {
        if (parameter.required && !oldParameters.has(`${parameter.in}:${parameter.name}`)) {
          changes.push(`${where}: new required ${parameter.in} parameter "${parameter.name}"`);
        }
      }

      const oldBody = resolveBefore(jsonSchema(oldOperation.requestBody?.content));
      const newBody = resolveAfter(jsonSchema(newOperation.requestBody?.content));
      for (const field of required(newBody)) {
        if (!required(oldBody).has(field))
          changes.push(`${where}: request field "${field}" became required`);
      }
      for (const [field, schema] of Object.entries(properties(oldBody))) {
        const now = properties(newBody)[field];
        if (!now) changes.push(`${where}: request field "${field}" removed`);
        else if (typeOf(now) !== typeOf(schema))
          changes.push(`${where}: request field "${field}" changed type`);
        else {
          const removed = ((schema.enum ?? []) as unknown[]).filter(
            (value) => !((now.enum ?? []) as unknown[]).includes(value),
          );
          if (removed.length > 0)
            changes.push(
              `${where}: request field "${field}" no longer accepts ${removed.join(', ')}`,
            );
        }
      }

      for (const status of oldSuccess) {
        const oldOutput = resolveBefore(jsonSchema(oldOperation.responses?.[status]?.content));
        const newOutput = resolveAfter(jsonSchema(newOperation.responses?.[status]?.content));
        for (const [field, schema] of Object.entries(properties(oldOutput))) {
          const now = properties(newOutput)[field];
          if (!now) changes.push(`${where}: response field "${field}" removed`);
          else if (typeOf(now) !== typeOf(schema))
            changes.push(`${where}: response field "${field}" changed type`);
        }
      }
    }
  }
  return changes;
}
