/**
 * Browser sessions: a REST client that sends `X-Refresh-Token: cookie` keeps its refresh token in
 * an HttpOnly cookie scoped to `/auth` instead of in the body, so no page script can read it.
 * The cookie is read only when that header comes with it (the CSRF defence: a cross-site page
 * cannot send a custom header without a preflight, which CORS refuses). Clients that do not opt
 * in keep the body-token flow, unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

const webOrigin = 'https://app.example.com';
const cookieName = 'tasks_refresh_token';
const optIn = { 'x-refresh-token': 'cookie' };
const password = 'correct horse battery';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CORS_ORIGINS: webOrigin });
});
afterAll(() => server.close());

interface SetCookie {
  name: string;
  value: string;
  /** Attribute names lower-cased, to their values ('' for flags such as HttpOnly). */
  attributes: Map<string, string>;
}

/** The response's one `Set-Cookie` (a test's reading of it, not a parser the server uses). */
function setCookieOf(response: Response): SetCookie {
  const headers = response.headers.getSetCookie();
  expect(headers).toHaveLength(1);
  const [pair = '', ...attributes] = (headers[0] ?? '').split(';').map((part) => part.trim());
  const equals = pair.indexOf('=');
  return {
    name: pair.slice(0, equals),
    value: pair.slice(equals + 1),
    attributes: new Map(
      attributes.map((attribute): [string, string] => {
        const [name = '', value = ''] = attribute.split('=');
        return [name.toLowerCase(), value];
      }),
    ),
  };
}

/** The `Cookie` request header a browser would send back for the cookie set. */
const cookieHeader = (value: string) => ({ cookie: `${cookieName}=${value}` });

let userCounter = 0;
async function register(): Promise<string> {
  const email = `browser-${++userCounter}-${Date.now()}@example.com`;
  const response = await server.request('/auth/register', {
    method: 'POST',
    body: { email, password },
  });
  expect(response.status).toBe(201);
  return email;
}

/** Signs in as a browser does: opted in, the refresh token comes back as a cookie. */
async function browserLogin(email: string) {
  const response = await server.request('/auth/login', {
    method: 'POST',
    headers: optIn,
    body: { email, password },
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as Record<string, unknown>;
  return { response, body, cookie: setCookieOf(response), accessToken: String(body.accessToken) };
}

const refreshWith = (headers: Record<string, string>, body?: unknown) =>
  server.request('/auth/refresh', { method: 'POST', headers, body });

const me = (accessToken: string) => server.request('/auth/me', { token: accessToken });

async function expectProblem(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(await response.json()).toMatchObject({ status, code });
}

describe('cookie mode (X-Refresh-Token: cookie)', () => {
  it('signs in with the refresh token in an HttpOnly, Secure, SameSite=Strict cookie on /auth, not in the body', async () => {
    const email = await register();
    const { body, cookie, accessToken } = await browserLogin(email);
    expect(body).toEqual({
      accessToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 900,
    });
    expect(cookie.name).toBe(cookieName);
    expect(cookie.value).toMatch(/^[\w-]{20,}$/);
    expect(Object.fromEntries(cookie.attributes)).toEqual({
      httponly: '',
      secure: '',
      samesite: 'Strict',
      path: '/auth',
      'max-age': String(30 * 86_400),
    });
    expect(await (await me(accessToken)).json()).toMatchObject({ email });
  });

  it('refreshes with the cookie alone: a new access token, the refresh token rotated in a new cookie', async () => {
    const { cookie } = await browserLogin(await register());
    // No body at all, as a browser may send it.
    const refreshed = await refreshWith({ ...optIn, ...cookieHeader(cookie.value) });
    expect(refreshed.status).toBe(200);
    const body = (await refreshed.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['accessToken', 'expiresIn', 'tokenType']);
    const rotated = setCookieOf(refreshed);
    expect(rotated.name).toBe(cookieName);
    expect(rotated.value).not.toBe(cookie.value);
    expect(rotated.attributes.get('path')).toBe('/auth');
    expect(rotated.attributes.has('httponly')).toBe(true);
    expect((await me(String(body.accessToken))).status).toBe(200);
    // An empty JSON body is the same request.
    const again = await refreshWith({ ...optIn, ...cookieHeader(rotated.value) }, {});
    expect(again.status).toBe(200);
  });

  it('revokes the session when a spent cookie is presented again', async () => {
    const { cookie } = await browserLogin(await register());
    const first = await refreshWith({ ...optIn, ...cookieHeader(cookie.value) });
    expect(first.status).toBe(200);
    const { accessToken } = (await first.json()) as { accessToken: string };
    const current = setCookieOf(first).value;

    const replayed = await refreshWith({ ...optIn, ...cookieHeader(cookie.value) });
    await expectProblem(replayed, 401, 'UNAUTHENTICATED');
    // Theft detected: the whole session is over, for the rightful holder too.
    await expectProblem(
      await refreshWith({ ...optIn, ...cookieHeader(current) }),
      401,
      'UNAUTHENTICATED',
    );
    await expectProblem(await me(accessToken), 401, 'UNAUTHENTICATED');
  });

  it('ignores the cookie without the header: the body-token rules apply (422, nothing spent)', async () => {
    const { cookie } = await browserLogin(await register());
    const withoutHeader = await refreshWith(cookieHeader(cookie.value), {});
    await expectProblem(withoutHeader, 422, 'VALIDATION_FAILED');
    const loggedOut = await server.request('/auth/logout', {
      method: 'POST',
      headers: cookieHeader(cookie.value),
      body: {},
    });
    await expectProblem(loggedOut, 422, 'VALIDATION_FAILED');
    expect(loggedOut.headers.getSetCookie()).toEqual([]);
    // The token was never spent: the browser's own request still works.
    expect((await refreshWith({ ...optIn, ...cookieHeader(cookie.value) })).status).toBe(200);
  });

  it('answers 401 to the header without a cookie, and 422 to another value of the header', async () => {
    await expectProblem(await refreshWith(optIn), 401, 'UNAUTHENTICATED');
    await expectProblem(await refreshWith(optIn, {}), 401, 'UNAUTHENTICATED');
    // A cookie the API would refuse as input is no session either.
    await expectProblem(
      await refreshWith({ ...optIn, ...cookieHeader('x'.repeat(300)) }),
      401,
      'UNAUTHENTICATED',
    );
    const email = await register();
    const wrongValue = await server.request('/auth/login', {
      method: 'POST',
      headers: { 'x-refresh-token': 'body' },
      body: { email, password },
    });
    await expectProblem(wrongValue, 422, 'VALIDATION_FAILED');
    expect(wrongValue.headers.getSetCookie()).toEqual([]);
  });

  it('signs out with the cookie: the cookie is cleared and the session ends, access token included', async () => {
    const { cookie, accessToken } = await browserLogin(await register());
    const loggedOut = await server.request('/auth/logout', {
      method: 'POST',
      headers: { ...optIn, ...cookieHeader(cookie.value) },
    });
    expect(loggedOut.status).toBe(204);
    const cleared = setCookieOf(loggedOut);
    expect(cleared).toMatchObject({ name: cookieName, value: '' });
    expect(cleared.attributes.get('max-age')).toBe('0');
    expect(cleared.attributes.get('path')).toBe('/auth');
    await expectProblem(await me(accessToken), 401, 'UNAUTHENTICATED');
    await expectProblem(
      await refreshWith({ ...optIn, ...cookieHeader(cookie.value) }),
      401,
      'UNAUTHENTICATED',
    );
  });

  it('clears the cookie on sign-out whatever happens: no cookie, or a dead one', async () => {
    const noCookie = await server.request('/auth/logout', { method: 'POST', headers: optIn });
    await expectProblem(noCookie, 401, 'UNAUTHENTICATED');
    expect(setCookieOf(noCookie).attributes.get('max-age')).toBe('0');
    const dead = await server.request('/auth/logout', {
      method: 'POST',
      headers: { ...optIn, ...cookieHeader('no-such-refresh-token') },
    });
    await expectProblem(dead, 401, 'UNAUTHENTICATED');
    expect(setCookieOf(dead).attributes.get('max-age')).toBe('0');
  });

  it('is not offered on /trpc, whose auth.refresh takes the token in its input only', async () => {
    const { cookie } = await browserLogin(await register());
    const response = await fetch(`${server.baseUrl}/trpc/auth.refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...optIn, ...cookieHeader(cookie.value) },
      body: JSON.stringify({ json: {} }),
    });
    expect(response.status).toBe(422);
    expect(response.headers.getSetCookie()).toEqual([]);
  });
});

describe('the body-token flow (no opt-in header)', () => {
  it('is unchanged: tokens in the body, no cookie', async () => {
    const email = await register();
    const login = await server.request('/auth/login', {
      method: 'POST',
      body: { email, password },
    });
    expect(login.status).toBe(200);
    expect(login.headers.getSetCookie()).toEqual([]);
    const pair = (await login.json()) as { refreshToken: string };
    expect(pair.refreshToken).toEqual(expect.any(String));
    const refreshed = await refreshWith({}, { refreshToken: pair.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.getSetCookie()).toEqual([]);
    const next = (await refreshed.json()) as { refreshToken: string };
    const loggedOut = await server.request('/auth/logout', {
      method: 'POST',
      body: { refreshToken: next.refreshToken },
    });
    expect(loggedOut.status).toBe(204);
    expect(loggedOut.headers.getSetCookie()).toEqual([]);
  });
});

describe('CORS for a web app on another origin', () => {
  const preflight = (origin: string) =>
    fetch(`${server.baseUrl}/auth/refresh`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-refresh-token',
      },
    });

  it('lets a listed origin send the header with credentials', async () => {
    const answer = await preflight(webOrigin);
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe(webOrigin);
    expect(answer.headers.get('access-control-allow-credentials')).toBe('true');
    expect(answer.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
      'x-refresh-token',
    );
    // The request itself: its answer is readable by the page only with this header.
    const email = await register();
    const login = await server.request('/auth/login', {
      method: 'POST',
      headers: { ...optIn, origin: webOrigin },
      body: { email, password },
    });
    expect(login.headers.get('access-control-allow-origin')).toBe(webOrigin);
    expect(login.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('gives any other origin nothing to go on', async () => {
    const answer = await preflight('https://evil.example.com');
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('the OpenAPI document', () => {
  interface Parameter {
    name: string;
    in: string;
  }
  interface Operation {
    parameters: Parameter[];
    requestBody?: { required?: boolean };
    responses: Record<string, { headers?: Record<string, unknown> }>;
  }

  it('describes the opt-in header, the cookie and Set-Cookie on the auth routes', async () => {
    const document = (await (await fetch(`${server.baseUrl}/openapi.json`)).json()) as {
      paths: Record<string, { post: Operation }>;
      components: { schemas: Record<string, { required?: string[] }> };
    };
    const operation = (path: string) => document.paths[path]?.post;
    const parameters = (path: string) =>
      operation(path)?.parameters.map((parameter) => `${parameter.in}:${parameter.name}`);
    expect(parameters('/auth/login')).toEqual(['header:X-Refresh-Token']);
    expect(parameters('/auth/refresh')).toEqual(['header:X-Refresh-Token', `cookie:${cookieName}`]);
    expect(parameters('/auth/logout')).toEqual(['header:X-Refresh-Token', `cookie:${cookieName}`]);
    for (const [path, status] of [
      ['/auth/login', '200'],
      ['/auth/refresh', '200'],
      ['/auth/logout', '204'],
    ] as const) {
      expect(Object.keys(operation(path)?.responses[status]?.headers ?? {})).toEqual([
        'Set-Cookie',
      ]);
    }
    // In cookie mode the body may go without the refresh token, and the answer comes without.
    expect(operation('/auth/refresh')?.requestBody?.required).toBe(false);
    expect(document.components.schemas.TokenPair?.required).not.toContain('refreshToken');
  });
});

describe('REFRESH_COOKIE_SECURE=false (plain-http development)', () => {
  it('leaves out the Secure attribute, and only that', async () => {
    const plain = await startTestServer({ REFRESH_COOKIE_SECURE: 'false' });
    try {
      const email = `plain-${Date.now()}@example.com`;
      await plain.request('/auth/register', { method: 'POST', body: { email, password } });
      const login = await plain.request('/auth/login', {
        method: 'POST',
        headers: optIn,
        body: { email, password },
      });
      const { attributes } = setCookieOf(login);
      expect([...attributes.keys()].sort()).toEqual(['httponly', 'max-age', 'path', 'samesite']);
    } finally {
      await plain.close();
    }
  });
});
