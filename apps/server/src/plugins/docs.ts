import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import scalarApiReference from '@scalar/fastify-api-reference';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

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

/**
 * Caching of Scalar's two responses, by route. The bundle's URL carries no version, so browsers
 * keep it a day and then revalidate; the page, small, is revalidated on every load.
 */
const cacheControlByRoute: Record<string, string> = {
  '/docs/': 'no-cache',
  '/docs/js/scalar.js': 'public, max-age=86400, must-revalidate',
};

type Coding = 'br' | 'gzip' | 'identity';

interface Representation {
  body: Buffer;
  etag: string;
}

type Representations = Record<Coding, Representation>;

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/**
 * All encodings of one response body, compressed once, in libuv's thread pool rather than on the
 * event loop. Brotli at a middle quality: the top ones take many times longer for output only a
 * little smaller, and the first request waits for it.
 */
async function encode(source: string): Promise<Representations> {
  const identity = Buffer.from(source);
  const [br, gz] = await Promise.all([
    brotli(identity, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 5,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: identity.length,
      },
    }),
    gzipAsync(identity),
  ]);
  const hash = createHash('sha256').update(identity).digest('base64url');
  // Strong validators differ between encodings of the same content: each is its own byte sequence.
  return {
    identity: { body: identity, etag: `"${hash}"` },
    br: { body: br, etag: `"${hash}-br"` },
    gzip: { body: gz, etag: `"${hash}-gzip"` },
  };
}

/** The client's preferred coding of those we have, by `Accept-Encoding` q-values; br on ties. */
function negotiate(acceptEncoding: string | undefined): Coding {
  const quality = new Map<string, number>();
  for (const entry of (acceptEncoding ?? '').split(',')) {
    const [name = '', ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((param) => param.startsWith('q='));
    quality.set(name, q === undefined ? 1 : Number(q.slice(2)) || 0);
  }
  const of = (coding: string) => quality.get(coding) ?? quality.get('*') ?? 0;
  const best = (['br', 'gzip'] as const).reduce((a, b) => (of(b) > of(a) ? b : a));
  return of(best) > 0 ? best : 'identity';
}

/** `If-None-Match` uses weak comparison: `W/"x"` matches `"x"`. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === etag || tag === '*');
}

function appendVary(reply: FastifyReply, field: string): void {
  const vary = reply.getHeader('vary');
  reply.header('vary', vary === undefined ? field : `${String(vary)}, ${field}`);
}

/**
 * Scalar sends the same strings on every request, the bundle several megabytes of them,
 * uncompressed and without validators. This swaps each for its precompressed encoding, with an
 * ETag and Cache-Control, and answers a matching `If-None-Match` with 304. Representations are
 * kept per route and rebuilt only if Scalar ever sends something else.
 */
function precompressedResponses() {
  const cache = new Map<string, { source: string; representations: Promise<Representations> }>();

  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const route = request.routeOptions.url ?? '';
    const cacheControl = cacheControlByRoute[route];
    if (cacheControl === undefined || reply.statusCode !== 200 || typeof payload !== 'string') {
      return payload;
    }
    let cached = cache.get(route);
    if (cached?.source !== payload) {
      cached = { source: payload, representations: encode(payload) };
      cache.set(route, cached);
    }
    const coding = negotiate(request.headers['accept-encoding']);
    const { body, etag } = (await cached.representations)[coding];

    appendVary(reply, 'Accept-Encoding');
    reply.header('etag', etag).header('cache-control', cacheControl);
    if (coding !== 'identity') reply.header('content-encoding', coding);
    if (matches(request.headers['if-none-match'], etag)) {
      reply.code(304);
      // Fastify's HEAD route takes Content-Length from the payload (here the 200's, as RFC 9110
      // allows) and then drops it; a GET 304 gets none.
      return request.method === 'HEAD' ? body : null;
    }
    return body;
  };
}

/** A checked box: the tab icon of /docs and of whatever a browser opens on this server. */
const faviconSvg =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
  '<rect width="32" height="32" rx="7" fill="#2f6fed"/>' +
  '<path d="M9 16.5l4.5 4.5L23 11" fill="none" stroke="#fff" stroke-width="3.5" ' +
  'stroke-linecap="round" stroke-linejoin="round"/></svg>';

export async function docsRoutes(app: FastifyInstance): Promise<void> {
  // A browser pointed at the server's root wants the documentation, not a JSON 404.
  app.get('/', (_request, reply) => reply.redirect('/docs', 302));
  app.get('/favicon.svg', (_request, reply) =>
    reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(faviconSvg),
  );
  // Browsers ask for /favicon.ico on pages that name no icon (JSON viewed in a tab).
  app.get('/favicon.ico', (_request, reply) => reply.redirect('/favicon.svg', 301));
  // Scalar's plugin does not encapsulate, so this hook covers its routes.
  app.addHook('onSend', precompressedResponses());
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
      favicon: '/favicon.svg',
      withDefaultFonts: false,
      telemetry: false,
      agent: { disabled: true },
      showDeveloperTools: 'never',
      authentication: { preferredSecurityScheme: 'bearerAuth' },
    },
  });
}
