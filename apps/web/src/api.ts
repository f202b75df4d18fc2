import { createTasksClient } from '@tasks/client';
import { createTasksRestClient } from '@tasks/client/rest';
import { renewAccessToken } from './auth.js';
import { apiUrl } from './config.js';
import { session } from './session.js';

/** Called when the session cannot be renewed any more; main.ts shows the sign-in form. */
let sessionEnded: () => void = () => undefined;

export function onSessionEnded(listener: () => void): void {
  sessionEnded = listener;
}

export const api = createTasksClient({
  url: `${apiUrl}/trpc`,
  getAccessToken: () => session.get()?.accessToken ?? null,
  // Access tokens live 15 minutes: on a 401 the client renews it once with the refresh cookie
  // and retries the call with the new one.
  async refresh() {
    const accessToken = await renewAccessToken();
    if (accessToken !== null) session.update(accessToken);
    return accessToken;
  },
  onUnauthorized() {
    session.set(null);
    sessionEnded();
  },
});

/**
 * Deletes a task from a page that is going away. The tRPC client's requests are cancelled with
 * the page; a `keepalive` request is not, so this one goes over REST (`If-Match` plays the part
 * of `expectedVersion`). Nobody is left to read the answer, nor to refresh an expired token.
 */
export async function deleteAsPageLeaves(task: { id: string; version: number }): Promise<void> {
  const accessToken = session.get()?.accessToken;
  if (accessToken === undefined) return;
  await createTasksRestClient(apiUrl, accessToken)
    .DELETE('/tasks/{id}', {
      params: { path: { id: task.id }, header: { 'If-Match': `"${task.version}"` } },
      keepalive: true,
    })
    .catch(() => undefined);
}
