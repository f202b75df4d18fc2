import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { authRouter } from './routers/auth.js';
import { tasksRouter } from './routers/tasks.js';
import { webhooksRouter } from './routers/webhooks.js';
import { createCallerFactory, router } from './trpc.js';

export const appRouter = router({
  auth: authRouter,
  tasks: tasksRouter,
  webhooks: webhooksRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

/** `createCaller(context)` runs procedures in-process: tests and scripts use it. */
export const createCaller = createCallerFactory(appRouter);
