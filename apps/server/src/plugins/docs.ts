import scalarApiReference from '@scalar/fastify-api-reference';
import type { FastifyInstance } from 'fastify';

/**
 * Interactive docs at `/docs` (Scalar), all assets served by this process: no CDN, no web
 * fonts, no telemetry, no AI agent, no third-party proxy, so the page works offline and behind
 * strict networks. Users
 * authorize with a bearer token from `/auth/login` and try requests against this server.
 */
export async function docsRoutes(app: FastifyInstance): Promise<void> {
  await app.register(scalarApiReference, {
    routePrefix: '/docs',
    logLevel: 'warn',
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
