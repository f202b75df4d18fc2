import scalarApiReference from '@scalar/fastify-api-reference';
import type { FastifyInstance } from 'fastify';

/**
 * Interactive docs at `/docs` (Scalar), all assets served by this process: no CDN, no web
 * fonts, no telemetry, no AI agent, no third-party proxy, so the page works offline and behind
 * strict networks. Users
 * authorize with a bearer token from `/auth/login` and try requests against this server.
 */
const docsContentSecurityPolicy = [
  "default-src 'self'",
  // The page bootstraps the bundle with an inline script, and the bundle injects its styles.
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
].join('; ');

export async function docsRoutes(app: FastifyInstance): Promise<void> {
  await app.register(scalarApiReference, {
    routePrefix: '/docs',
    logLevel: 'warn',
    hooks: {
      // Helmet's API policy forbids everything; the docs page needs its own, still same-origin.
      onRequest: (_request, reply, done) => {
        reply.header('content-security-policy', docsContentSecurityPolicy);
        done();
      },
    },
    configuration: {
      url: '/openapi.json',
      title: 'Tasks API',
      withDefaultFonts: false,
      telemetry: false,
      agent: { disabled: true },
      showDeveloperTools: 'never',
      authentication: { preferredSecurityScheme: 'bearerAuth' },
    },
  });
}
