import type { RouterInputs } from '@tasks/client';
import { createTasksRestClient, type components } from '@tasks/client/rest';
import { apiUrl } from './config.js';
import { isProblem, ProblemError } from './errors.js';
import { session } from './session.js';

type User = components['schemas']['User'];

/**
 * Signing in, renewing and signing out go over REST in the API's cookie mode: the refresh token
 * travels only in an HttpOnly cookie (Path=/auth) between the browser and the API, so no script
 * of this page, ours or an injected one, can read it. The access token stays in memory
 * (session.ts). `/trpc` never sees the cookie; the tRPC client asks `renewAccessToken` for a new
 * access token instead.
 */
const rest = createTasksRestClient(apiUrl);

/** The opt-in to cookie mode; without it the API would answer with the token in the body. */
const cookieMode = { header: { 'X-Refresh-Token': 'cookie' } } as const;

/** The API may be on another origin (VITE_API_URL): its cookie goes along only when asked to. */
const withCookies = { credentials: 'include' } as const;

/** The answer's data, or the API's problem as an error (a network failure rejects before). */
function answerOf<T>({
  data,
  error,
  response,
}: {
  data?: T;
  error?: unknown;
  response: Response;
}): T {
  if (response.ok) return data as T;
  throw isProblem(error) ? new ProblemError(error) : new Error(`HTTP ${response.status}`);
}

/** Starts the page's session with a new access token: the account it speaks for. */
async function adopt(accessToken: string): Promise<User> {
  const me = answerOf(
    await rest.GET('/auth/me', { headers: { authorization: `Bearer ${accessToken}` } }),
  );
  session.set({ email: me.email, accessToken });
  return me;
}

/** Signs in; the API keeps the refresh token in its cookie. */
export async function startSession(credentials: RouterInputs['auth']['login']): Promise<User> {
  const { accessToken } = answerOf(
    await rest.POST('/auth/login', { params: cookieMode, body: credentials, ...withCookies }),
  );
  return adopt(accessToken);
}

async function renew(): Promise<string | null> {
  const answer = await rest.POST('/auth/refresh', { params: cookieMode, ...withCookies });
  // No cookie, or one whose session is over: nobody is signed in.
  if (answer.response.status === 401) return null;
  return answerOf(answer).accessToken;
}

/**
 * A new access token from the refresh cookie (which the API rotates), or null when there is no
 * session to renew. Tabs share the cookie: two of them renewing at once would present one
 * refresh token twice, which the API takes for theft and answers by ending the session. So one
 * tab renews at a time (Web Locks), each with the cookie the one before left; where the browser
 * has no Web Locks (a page served over plain http from another host) the tab goes ahead alone.
 */
export async function renewAccessToken(): Promise<string | null> {
  return 'locks' in navigator ? await navigator.locks.request('tasks.refresh', renew) : renew();
}

/** After a reload: the session the refresh cookie still holds, if any. */
export async function resumeSession(): Promise<User | null> {
  const accessToken = await renewAccessToken();
  return accessToken === null ? null : adopt(accessToken);
}

/** Ends the session on the API (its tokens stop working everywhere) and clears the cookie. */
export async function endSession(): Promise<void> {
  await rest.POST('/auth/logout', { params: cookieMode, ...withCookies });
}
