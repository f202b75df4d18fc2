import createClient from 'openapi-fetch';
import type { paths } from './openapi.js';

export type { components, operations, paths } from './openapi.js';

/**
 * REST client typed from the committed OpenAPI document (`pnpm client:generate`): paths, query,
 * bodies and responses are checked; timestamps are ISO strings, as on the wire.
 */
export function createTasksRestClient(baseUrl: string, token?: string) {
  return createClient<paths>({
    baseUrl,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

export type TasksRestClient = ReturnType<typeof createTasksRestClient>;
