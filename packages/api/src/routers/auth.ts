import { z } from 'zod';
import {
  changePasswordInput,
  credentialsInput,
  refreshTokenInput,
  tokenPairOutput,
  userOutput,
  type ChangePasswordInput,
  type CredentialsInput,
  type RefreshTokenInput,
} from '../schemas/auth.js';
import { protectedProcedure, publicProcedure, router, throttled } from '../trpc.js';

const tags = ['auth'];

export const authRouter = router({
  register: publicProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/register',
        tags,
        summary: 'Create an account',
        description: 'The email is stored lower-cased; it is unique regardless of case.',
        protect: false,
      },
      success: { status: 201, description: 'The account was created' },
      errors: ['EMAIL_TAKEN'],
    })
    .input(credentialsInput)
    .use(throttled({ action: 'auth.register', account: (input: CredentialsInput) => input.email }))
    .output(userOutput)
    .mutation(({ ctx, input }) => ctx.services.auth.register(input)),

  login: publicProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/login',
        tags,
        summary: 'Sign in: exchange credentials for an access and a refresh token',
        description:
          'Opens a session. Unknown email and wrong password get the same 401 answer in about the same time.',
        protect: false,
      },
      success: { status: 200, description: 'A short-lived access token and a refresh token' },
      errors: ['INVALID_CREDENTIALS'],
    })
    .input(credentialsInput)
    .use(
      throttled({
        action: 'auth.login',
        account: (input: CredentialsInput) => input.email,
        countsOnly: 'INVALID_CREDENTIALS',
      }),
    )
    .output(tokenPairOutput)
    .mutation(({ ctx, input }) => ctx.services.auth.login(input)),

  refresh: publicProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/refresh',
        tags,
        summary: 'Rotate the refresh token',
        description:
          'Returns a new pair and spends the presented refresh token. Presenting a spent refresh token again revokes its whole session.',
        protect: false,
      },
      success: { status: 200, description: 'A new access token and refresh token' },
      errors: ['UNAUTHENTICATED'],
    })
    .input(refreshTokenInput)
    .use(
      throttled({
        action: 'auth.refresh',
        account: (input: RefreshTokenInput) => input.refreshToken,
      }),
    )
    .output(tokenPairOutput)
    .mutation(({ ctx, input }) => ctx.services.auth.refresh(input.refreshToken)),

  logout: publicProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/logout',
        tags,
        summary: 'Sign out: revoke the session of a refresh token',
        description:
          'Its refresh tokens and access tokens stop working at once (access tokens are checked against their session).',
        protect: false,
      },
      success: { status: 204, description: 'The session was revoked' },
      errors: ['UNAUTHENTICATED'],
    })
    .input(refreshTokenInput)
    .output(z.void())
    .mutation(({ ctx, input }) => ctx.services.auth.logout(input.refreshToken)),

  changePassword: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/password',
        tags,
        summary: 'Change the password',
        description:
          'Needs the current password. Every other session of the account is revoked; this one stays open.',
      },
      success: { status: 204, description: 'The password was changed' },
    })
    .input(changePasswordInput)
    .use(
      throttled({
        action: 'auth.changePassword',
        account: (_input: ChangePasswordInput, ctx) => ctx.userId,
        countsOnly: 'VALIDATION_FAILED',
      }),
    )
    .output(z.void())
    .mutation(({ ctx, input }) => ctx.services.auth.changePassword(ctx, input)),

  me: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/auth/me',
        tags,
        summary: 'The signed-in account',
        description: 'The account the bearer token speaks for.',
      },
      success: { status: 200, description: 'The account of the bearer token' },
    })
    .output(userOutput)
    .query(({ ctx }) => ctx.services.auth.me(ctx.userId)),
});
