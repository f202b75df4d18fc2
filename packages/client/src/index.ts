import type { AppRouter, ErrorCode, RouterInputs, RouterOutputs } from '@tasks/api';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
  type TRPCClient,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import { refreshLink, type AccessTokenContext } from './refresh-link.js';

// Types only: `@tasks/api` is a devDependency, and nothing of the server reaches a bundle.
export type { AppRouter, ErrorCode, RouterInputs, RouterOutputs };

export interface TasksClientOptions {
  /** The tRPC endpoint, e.g. `https://api.example.com/trpc`. */
  url: string;
  /** Read before every request (batch); return null when signed out. */
  getAccessToken: () => string | null | Promise<string | null>;
  /**
   * Called once when a call is answered `UNAUTHENTICATED` (concurrent 401s share the call). It
   * obtains a new access token, stores it where `getAccessToken` reads it, and resolves to it, or
   * to null when the session cannot be renewed. The failed call is retried once with that token.
   * Where the refresh token lives is the application's choice; `auth.refresh` of this client is one
   * way to use it (a 401 of `auth.refresh` itself never triggers a refresh).
   */
  refresh?: () => Promise<string | null>;
  /** The session is over: `refresh` is missing, resolved to null or threw. Sign the user out here. */
  onUnauthorized?: () => void;
}

export type TasksClient = TRPCClient<AppRouter>;

/** A tRPC failure, with `data.code` from the error catalogue, `data.httpStatus` and field errors. */
export type TasksClientError = TRPCClientError<AppRouter>;

export function isTasksClientError(error: unknown): error is TasksClientError {
  return error instanceof TRPCClientError;
}

/**
 * Typed client of the Tasks API over `/trpc`: superjson (Dates stay Dates), batched requests, and
 * subscriptions (`tasks.onChange`) over server-sent events that resume from the last event after
 * a drop. The access token travels in the `Authorization` header on both, never in a URL: the
 * browser's own EventSource cannot send headers, this one (the `eventsource` package) can.
 */
export function createTasksClient({
  url,
  getAccessToken,
  refresh,
  onUnauthorized,
}: TasksClientOptions): TasksClient {
  const authorization = (token: string | null): Record<string, string> =>
    token === null ? {} : { authorization: `Bearer ${token}` };
  return createTRPCClient<AppRouter>({
    links: [
      refreshLink({ refresh, onUnauthorized }),
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          transformer: superjson,
          EventSource,
          // Asked again at every (re)connection, so a refreshed token is used from then on.
          eventSourceOptions: async ({ op }) => {
            const token =
              (op.context as AccessTokenContext).accessToken ?? (await getAccessToken());
            return {
              fetch: (input, init) =>
                fetch(input, { ...init, headers: { ...init.headers, ...authorization(token) } }),
            };
          },
        }),
        false: httpBatchLink({
          url,
          transformer: superjson,
          async headers({ opList }) {
            // A batch holding a retry goes out with the refreshed token the retry carries.
            const retried = opList
              .map((op) => (op.context as AccessTokenContext).accessToken)
              .find((token) => token !== undefined);
            return authorization(retried ?? (await getAccessToken()));
          },
        }),
      }),
    ],
  });
}
