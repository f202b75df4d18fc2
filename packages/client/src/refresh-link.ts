import type { AppRouter } from '@tasks/api';
import type { Operation, TRPCClientError, TRPCLink } from '@trpc/client';
import { observable, type Unsubscribable } from '@trpc/server/observable';

/** What the link needs from the client options; see `TasksClientOptions` for the contract. */
export interface RefreshOptions {
  refresh?: (() => Promise<string | null>) | undefined;
  onUnauthorized?: (() => void) | undefined;
}

/**
 * The access token a retried call must carry: it travels in the operation context because the
 * batch that carries the retry may be sent before the application's own store has caught up.
 */
export interface AccessTokenContext extends Record<string, unknown> {
  accessToken?: string;
}

/**
 * These calls present a refresh token, not an access token: their 401 means the session is over,
 * and refreshing would only ask the same question again (or wait on itself when `refresh` uses
 * `auth.refresh`).
 */
const sessionPaths = new Set(['auth.refresh', 'auth.logout']);

function isUnauthenticated(error: TRPCClientError<AppRouter>): boolean {
  return error.data?.code === 'UNAUTHENTICATED';
}

/**
 * Renews the access token at most once at a time. `generation` counts finished refreshes so that a
 * call sent before a refresh finished, and answered 401 after it, reuses that refresh's result
 * instead of starting another one with a token that has just been rotated.
 */
function createRefresher({ refresh, onUnauthorized }: RefreshOptions) {
  let generation = 0;
  let latest: string | null = null;
  let inflight: Promise<string | null> | undefined;

  async function run(): Promise<string | null> {
    let token: string | null = null;
    try {
      token = refresh ? await refresh() : null;
    } catch {
      // A failed refresh (network, spent refresh token) ends the session like a null answer does.
    }
    if (token === null) onUnauthorized?.();
    latest = token;
    generation += 1;
    inflight = undefined;
    return token;
  }

  return {
    get generation() {
      return generation;
    },
    renew(sentAtGeneration: number): Promise<string | null> {
      if (sentAtGeneration !== generation) return Promise.resolve(latest);
      inflight ??= run();
      return inflight;
    },
  };
}

/**
 * Retries a call answered `UNAUTHENTICATED` once, with the token `refresh` returns; concurrent
 * 401s share one refresh. Any other error, and a second 401, reach the caller unchanged.
 */
export function refreshLink(options: RefreshOptions): TRPCLink<AppRouter> {
  const refresher = createRefresher(options);
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let subscription: Unsubscribable | undefined;
        let cancelled = false;

        const attempt = (operation: Operation, isRetry: boolean) => {
          const sentAtGeneration = refresher.generation;
          subscription = next(operation).subscribe({
            next: (result) => {
              observer.next(result);
            },
            complete: () => {
              observer.complete();
            },
            error: (error) => {
              if (isRetry || sessionPaths.has(op.path) || !isUnauthenticated(error)) {
                observer.error(error);
                return;
              }
              void refresher.renew(sentAtGeneration).then((accessToken) => {
                if (cancelled) return;
                if (accessToken === null) {
                  observer.error(error);
                  return;
                }
                const context: AccessTokenContext = { ...operation.context, accessToken };
                attempt({ ...operation, context }, true);
              });
            },
          });
        };

        attempt(op, false);
        return () => {
          cancelled = true;
          subscription?.unsubscribe();
        };
      });
}
