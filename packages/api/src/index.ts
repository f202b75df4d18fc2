export {
  appRouter,
  createCaller,
  type AppRouter,
  type RouterInputs,
  type RouterOutputs,
} from './root.js';
export { createContext, type Context, type Logger, type RequestDetails } from './context.js';
export { systemClock, type Clock } from './clock.js';
export { createServices, type Services, type ServicesConfig } from './services/index.js';
export {
  createRateLimiter,
  type Budget,
  type RateLimiter,
  type RateLimitVerdict,
} from './security/rate-limiter.js';
export { toProblem, problemContentType, type Problem } from './problem.js';
export {
  ApiError,
  errorCatalogue,
  errorCodes,
  toApiError,
  validationError,
  type ErrorCode,
  type FieldError,
} from './errors.js';
export {
  listRestEventStreams,
  listRestOperations,
  type RestEventStream,
  type RestOperation,
} from './rest.js';
export { refreshTokenCookie, type HeaderInput } from './header-inputs.js';
export { createOpenApiDocument } from './openapi.js';
export { rememberRequestId, type ApiMeta } from './trpc.js';
export {
  createJobHandlers,
  housekeepingSchedule,
  type JobDependencies,
  type JobHandler,
} from './jobs.js';
export type { WebhookConfig } from './services/webhook-service.js';
export type { ChangeFeed } from './services/change-feed.js';
export type { AccountMailConfig, Mailer, MailMessage } from './mail.js';
