/**
 * `/docs` and its multi-megabyte script bundle: compressed by `Accept-Encoding`, cacheable and
 * revalidated with ETags. Raw HTTP through node:http, outside the harness's OpenAPI check (the
 * docs are not API operations) and unlike fetch, which would silently decode the body.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

const bundle = '/docs/js/scalar.js';
const page = '/docs/';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function raw(
  path: string,
  headers: Record<string, string> = {},
  method: 'GET' | 'HEAD' = 'GET',
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${server.baseUrl}${path}`, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks),
        });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

const strongEtag = /^"[\w-]+"$/;

describe('/docs assets', () => {
  it('sends the bundle as is, with a strong ETag and Cache-Control, when no encoding is accepted', async () => {
    const identity = await raw(bundle);
    expect(identity.status).toBe(200);
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.headers['content-type']).toMatch(/^application\/javascript/);
    expect(identity.headers.etag).toMatch(strongEtag);
    expect(identity.headers['cache-control']).toBe('public, max-age=86400, must-revalidate');
    expect(identity.headers.vary).toMatch(/accept-encoding/i);
    expect(identity.headers['content-security-policy']).toContain("default-src 'self'");
    expect(Number(identity.headers['content-length'])).toBe(identity.body.length);
    expect(identity.body.length).toBeGreaterThan(1_000_000);
  });

  it('sends the bundle brotli-compressed, much smaller and decoding to the same bytes', async () => {
    const identity = await raw(bundle);
    const br = await raw(bundle, { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.status).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(br.headers['cache-control']).toBe('public, max-age=86400, must-revalidate');
    expect(br.headers.etag).toMatch(strongEtag);
    expect(br.headers.etag).not.toBe(identity.headers.etag);
    expect(Number(br.headers['content-length'])).toBe(br.body.length);
    expect(br.body.length).toBeLessThan(identity.body.length / 3);
    expect(brotliDecompressSync(br.body).equals(identity.body)).toBe(true);
  });

  it('sends the bundle gzip-compressed to a client that accepts only gzip', async () => {
    const identity = await raw(bundle);
    const gzip = await raw(bundle, { 'accept-encoding': 'gzip' });
    expect(gzip.status).toBe(200);
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gzip.headers.vary).toMatch(/accept-encoding/i);
    expect(gzip.headers.etag).toMatch(strongEtag);
    expect(gzip.body.length).toBeLessThan(identity.body.length / 3);
    expect(gunzipSync(gzip.body).equals(identity.body)).toBe(true);
  });

  it('never sends an encoding the client refused with q=0', async () => {
    const gzip = await raw(bundle, { 'accept-encoding': 'br;q=0, gzip;q=0.5' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    const none = await raw(bundle, { 'accept-encoding': 'br;q=0, gzip;q=0, identity' });
    expect(none.headers['content-encoding']).toBeUndefined();
  });

  it('answers If-None-Match with the current ETag with 304 and no body, in every encoding', async () => {
    for (const encoding of [undefined, 'br', 'gzip']) {
      const headers: Record<string, string> = encoding ? { 'accept-encoding': encoding } : {};
      const first = await raw(bundle, headers);
      const etag = first.headers.etag ?? '';
      const repeat = await raw(bundle, { ...headers, 'if-none-match': etag });
      expect(repeat.status, encoding ?? 'identity').toBe(304);
      expect(repeat.body.length).toBe(0);
      expect(repeat.headers.etag).toBe(etag);
      expect(repeat.headers['cache-control']).toBe('public, max-age=86400, must-revalidate');
      expect(repeat.headers.vary).toMatch(/accept-encoding/i);
      const stale = await raw(bundle, { ...headers, 'if-none-match': '"stale", W/"older"' });
      expect(stale.status).toBe(200);
      expect(stale.body.equals(first.body)).toBe(true);
    }
    // Each encoding is its own representation: a cached br body is no gzip body.
    const br = await raw(bundle, { 'accept-encoding': 'br' });
    const asGzip = await raw(bundle, {
      'accept-encoding': 'gzip',
      'if-none-match': br.headers.etag ?? '',
    });
    expect(asGzip.status).toBe(200);
    expect(asGzip.headers['content-encoding']).toBe('gzip');
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const get = await raw(bundle, { 'accept-encoding': 'br' });
    const head = await raw(bundle, { 'accept-encoding': 'br' }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    for (const name of ['content-encoding', 'content-length', 'etag', 'cache-control', 'vary']) {
      expect(head.headers[name], name).toBe(get.headers[name]);
    }
    const conditional = { 'accept-encoding': 'br', 'if-none-match': get.headers.etag ?? '' };
    const notModified = await raw(bundle, conditional, 'HEAD');
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
  });

  it('serves the page itself compressed, revalidated on every use, with its own CSP', async () => {
    const identity = await raw(page);
    const br = await raw(page, { 'accept-encoding': 'br' });
    expect(br.status).toBe(200);
    expect(br.headers['content-type']).toMatch(/^text\/html/);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['cache-control']).toBe('no-cache');
    expect(br.headers['content-security-policy']).toContain("default-src 'self'");
    expect(br.headers.etag).toMatch(strongEtag);
    expect(brotliDecompressSync(br.body).equals(identity.body)).toBe(true);
    const repeat = await raw(page, {
      'accept-encoding': 'br',
      'if-none-match': br.headers.etag ?? '',
    });
    expect(repeat.status).toBe(304);
    expect(repeat.body.length).toBe(0);
  });
});

describe('a browser at the server root', () => {
  it('is sent to the docs, and finds a tab icon', async () => {
    const root = await raw('/');
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/docs');

    const icon = await raw('/favicon.svg');
    expect(icon.status).toBe(200);
    expect(icon.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(icon.body.toString()).toMatch(/^<svg /);
    const legacyIcon = await raw('/favicon.ico');
    expect(legacyIcon.status).toBe(301);
    expect(legacyIcon.headers.location).toBe('/favicon.svg');

    expect((await raw(page)).body.toString()).toContain('/favicon.svg');
  });
});
