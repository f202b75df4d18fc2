import { accessTokenOutput, credentialsInput, userOutput } from '../schemas/auth.js';
import { protectedProcedure, publicProcedure, router } from '../trpc.js';

export const authRouter = router({
  register: publicProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/register',
        tags: ['auth'],
        summary: 'Create an account',
        description: 'The email is stored lower-cased; it is unique regardless of case.',
        protect: false,
      },
      success: { status: 201, description: 'The account was created' },
      errors: ['EMAIL_TAKEN'],
    })
    .input(credentialsInput)
    .output(userOutput)
    .mutation(({ ctx, input }) => ctx.services.auth.register(input)),

  login: publicProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/login',
        tags: ['auth'],
        summary: 'Exchange credentials for an access token',
        description: 'Unknown email and wrong password get the same 401 answer.',
        protect: false,
      },
      success: { status: 200, description: 'A bearer access token' },
      errors: ['INVALID_CREDENTIALS'],
    })
    .input(credentialsInput)
    .output(accessTokenOutput)
    .mutation(({ ctx, input }) => ctx.services.auth.login(input)),

  me: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/auth/me',
        tags: ['auth'],
        summary: 'The signed-in account',
      },
      success: { status: 200, description: 'The account of the bearer token' },
    })
    .output(userOutput)
    .query(({ ctx }) => ctx.services.auth.me(ctx.userId)),
});
