import { z } from 'zod';
import {
  changePasswordInput,
  credentialsInput,
  forgotPasswordInput,
  mailQueuedOutput,
  resetPasswordInput,
  verifyEmailInput,
  refreshTokenInput,
  tokenPairOutput,
  userOutput,
  type ChangePasswordInput,
  type CredentialsInput,
  type ForgotPasswordInput,
  type RefreshTokenInput,
  type ResetPasswordInput,
} from '../schemas/auth.js';
import { protectedProcedure, publicProcedure, router, throttled } from '../trpc.js';
import { personalAccessTokensRouter } from './personal-access-tokens.js';

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
      refreshTokenCookie: { issues: true },
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
      refreshTokenCookie: { reads: true, issues: true },
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
      refreshTokenCookie: { reads: true, ends: true },
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
      allowsUnverifiedEmail: true,
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
      allowsUnverifiedEmail: true,
      tokenScope: 'any',
      success: { status: 200, description: 'The account of the bearer token' },
    })
    .output(userOutput)
    .query(({ ctx }) => ctx.services.auth.me(ctx.userId)),

  forgotPassword: publicProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/password/forgot',
        tags,
        summary: 'Ask for a password-reset link by mail',
        description:
          'Always 202 with the same body, whether or not an account has the address, so the answer tells nothing. The mailed link holds a single-use token that works for 30 minutes; asking again replaces it.',
        protect: false,
      },
      success: { status: 202, description: 'A link is mailed if an account has the address' },
    })
    .input(forgotPasswordInput)
    .use(
      throttled({
        action: 'auth.forgotPassword',
        account: (input: ForgotPasswordInput) => input.email,
      }),
    )
    .output(mailQueuedOutput)
    .mutation(({ ctx, input }) => ctx.services.auth.forgotPassword(input.email)),

  resetPassword: publicProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/password/reset',
        tags,
        summary: 'Set a new password with a mailed token',
        description:
          'Spends the token from the reset link and ends every session of the account: sign in again with the new password.',
        protect: false,
      },
      success: { status: 204, description: 'The password was reset' },
      errors: ['INVALID_RESET_TOKEN'],
    })
    .input(resetPasswordInput)
    .use(
      throttled({
        action: 'auth.resetPassword',
        account: (input: ResetPasswordInput) => input.token,
        countsOnly: 'INVALID_RESET_TOKEN',
      }),
    )
    .output(z.void())
    .mutation(({ ctx, input }) => ctx.services.auth.resetPassword(input)),

  verifyEmail: publicProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/email/verify',
        tags,
        summary: 'Confirm the email address with a mailed token',
        description:
          'Spends the token from the link mailed at registration (or by `/auth/email/resend`); `GET /auth/me` then says `emailVerified: true`.',
        protect: false,
      },
      success: { status: 204, description: 'The address is verified' },
      errors: ['INVALID_VERIFICATION_TOKEN'],
    })
    .input(verifyEmailInput)
    .use(throttled({ action: 'auth.verifyEmail', account: () => undefined }))
    .output(z.void())
    .mutation(({ ctx, input }) => ctx.services.auth.verifyEmail(input.token)),

  resendVerification: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/email/resend',
        tags,
        summary: 'Mail a new verification link',
        description: 'Replaces the previous link. Nothing is sent once the address is verified.',
      },
      allowsUnverifiedEmail: true,
      success: { status: 202, description: 'A new link is on its way, or none is needed' },
    })
    .input(z.object({}))
    .use(throttled({ action: 'auth.resendVerification', account: (_input, ctx) => ctx.userId }))
    .output(mailQueuedOutput)
    .mutation(({ ctx }) => ctx.services.auth.resendVerification(ctx.userId)),

  tokens: personalAccessTokensRouter,
});
