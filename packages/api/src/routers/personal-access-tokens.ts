import { z } from 'zod';
import {
  createdPersonalAccessTokenOutput,
  createPersonalAccessTokenInput,
  personalAccessTokenIdInput,
  personalAccessTokenListOutput,
} from '../schemas/personal-access-token.js';
import { protectedProcedure, router } from '../trpc.js';

const tags = ['auth'];

/**
 * A signed-in user's personal access tokens. None of these declares a `tokenScope`: a token
 * cannot make, list or delete tokens, so a leaked one cannot make itself a successor.
 */
export const personalAccessTokensRouter = router({
  create: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/tokens',
        tags,
        summary: 'Make a personal access token',
        description:
          'For scripts and other services: send it as `Authorization: Bearer <token>` on REST and `/trpc`. It may do what its `scopes` allow (`tasks:read`, `tasks:write`, `webhooks:read`, `webhooks:write`; a `:write` scope includes its `:read`) and never manage the account. It works for `expiresInDays` (90 by default, at most 365). The token is in this answer only; the API keeps its hash. A user has at most `MAX_TOKENS_PER_USER` tokens (50 by default).',
      },
      success: { status: 201, description: 'The token, shown this once' },
      errors: ['QUOTA_EXCEEDED'],
    })
    .input(createPersonalAccessTokenInput)
    .output(createdPersonalAccessTokenOutput)
    .mutation(({ ctx, input }) => ctx.services.personalAccessTokens.create(ctx.userId, input)),

  list: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/auth/tokens',
        tags,
        summary: 'List your personal access tokens',
        description:
          'All of them, oldest first, expired ones included until housekeeping deletes them 30 days after expiry; never the tokens themselves.',
      },
      success: { status: 200, description: 'Your tokens, oldest first' },
    })
    .input(z.object({}))
    .output(personalAccessTokenListOutput)
    .query(({ ctx }) => ctx.services.personalAccessTokens.list(ctx.userId)),

  delete: protectedProcedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/auth/tokens/{id}',
        tags,
        summary: 'Revoke a personal access token',
        description:
          'Requests with it get 401 from now on: at once on the instance that answers this, within `SESSION_CACHE_MS` (1 s by default) on the others.',
      },
      success: { status: 204, description: 'The token was deleted' },
      errors: ['NOT_FOUND'],
    })
    .input(personalAccessTokenIdInput)
    .output(z.void())
    .mutation(({ ctx, input }) => ctx.services.personalAccessTokens.delete(ctx.userId, input.id)),
});
