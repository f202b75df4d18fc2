import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import net, { isIP, type AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { generateWebhookSecret, sendWebhook, type WebhookRequest } from './sender.js';
import { checkWebhookUrl, type ResolveHost } from './url-policy.js';

interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  connections: number;
}

const servers: net.Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    if (server instanceof http.Server) server.closeAllConnections();
    await new Promise((closed) => server.close(closed));
  }
});

/** A real receiver on loopback that records what arrives, then answers with `respond`. */
async function startReceiver(respond: (response: ServerResponse) => void): Promise<Receiver> {
  const receiver: Receiver = { url: '', port: 0, requests: [], connections: 0 };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      receiver.requests.push({
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      respond(response);
    });
  });
  server.on('connection', () => (receiver.connections += 1));
  servers.push(server);
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hook`;
  return receiver;
}

const answer =
  (status: number, body = '', headers: http.OutgoingHttpHeaders = {}) =>
  (response: ServerResponse) => {
    response.writeHead(status, headers).end(body);
  };

const secret = generateWebhookSecret();

const delivery = (url: string, overrides: Partial<WebhookRequest> = {}): WebhookRequest => ({
  url,
  secret,
  messageId: 'msg_2b6Qk1XxN0yTqW',
  timestamp: new Date(),
  payload: { type: 'task.created', data: { id: 't_1', title: 'Write the report ✓' } },
  ...overrides,
});

const local = { allowPrivate: true };

const resolvingTo =
  (address: string): ResolveHost =>
  async () => [{ address, family: isIP(address) }];

function signatureHeaders({ headers }: ReceivedRequest): Record<string, string> {
  const pick = (name: string) => {
    const value = headers[name];
    if (typeof value !== 'string') throw new Error(`no single ${name} header`);
    return value;
  };
  return {
    'webhook-id': pick('webhook-id'),
    'webhook-timestamp': pick('webhook-timestamp'),
    'webhook-signature': pick('webhook-signature'),
  };
}

describe('sendWebhook', () => {
  it('POSTs the JSON payload with a Standard Webhooks signature over the bytes sent', async () => {
    const receiver = await startReceiver(answer(204));
    const request = delivery(receiver.url);

    const result = await sendWebhook(request, local);

    expect(result).toEqual({
      ok: true,
      status: 204,
      durationMs: expect.any(Number),
      responseExcerpt: '',
      error: null,
    });
    const [received] = receiver.requests;
    if (received === undefined) throw new Error('nothing received');
    expect(received.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'TasksAPI-Webhooks/1',
      'webhook-id': request.messageId,
      'webhook-timestamp': String(Math.floor(request.timestamp.getTime() / 1000)),
      'webhook-signature': expect.stringMatching(/^v1,[A-Za-z0-9+/]+=*$/),
    });
    expect(new Webhook(request.secret).verify(received.body, signatureHeaders(received))).toEqual(
      request.payload,
    );
  });

  it('sends the same webhook-id on every attempt of a message, each signed for its time', async () => {
    const receiver = await startReceiver(answer(200));
    const now = Date.now();
    await sendWebhook(delivery(receiver.url, { timestamp: new Date(now - 60_000) }), local);
    await sendWebhook(delivery(receiver.url, { timestamp: new Date(now) }), local);

    const [first, retry] = receiver.requests.map(signatureHeaders);
    expect(retry?.['webhook-id']).toBe(first?.['webhook-id']);
    expect(retry?.['webhook-signature']).not.toBe(first?.['webhook-signature']);
    for (const received of receiver.requests) {
      expect(() =>
        new Webhook(secret).verify(received.body, signatureHeaders(received)),
      ).not.toThrow();
    }
  });

  it('reports a non-2xx answer with its status and the start of its body', async () => {
    const receiver = await startReceiver(answer(503, 'try later'));
    expect(await sendWebhook(delivery(receiver.url), local)).toMatchObject({
      ok: false,
      status: 503,
      responseExcerpt: 'try later',
      error: null,
    });
  });

  it('does not follow a redirect', async () => {
    const target = await startReceiver(answer(200));
    const redirecting = await startReceiver(answer(302, '', { location: target.url }));

    expect(await sendWebhook(delivery(redirecting.url), local)).toMatchObject({
      ok: false,
      status: 302,
      error: null,
    });
    expect(target.connections).toBe(0);
  });

  it('keeps at most the excerpt limit of a large body', async () => {
    const receiver = await startReceiver(answer(200, 'a'.repeat(1024 * 1024)));

    const byDefault = await sendWebhook(delivery(receiver.url), local);
    expect(byDefault).toMatchObject({ ok: true, status: 200, error: null });
    expect(byDefault.responseExcerpt).toBe('a'.repeat(1024));

    const limited = await sendWebhook(delivery(receiver.url), {
      ...local,
      responseExcerptBytes: 10,
    });
    expect(limited.responseExcerpt).toBe('a'.repeat(10));
  });

  it('leaves out a character the excerpt limit cuts in two', async () => {
    const receiver = await startReceiver(answer(400, 'é'.repeat(100)));
    const result = await sendWebhook(delivery(receiver.url), { ...local, responseExcerptBytes: 5 });
    expect(result.responseExcerpt).toBe('éé');
  });

  it('gives up on a receiver that never answers', async () => {
    const receiver = await startReceiver(() => undefined);

    const result = await sendWebhook(delivery(receiver.url), { ...local, timeoutMs: 300 });

    expect(result).toMatchObject({
      ok: false,
      status: null,
      responseExcerpt: null,
      error: 'timed out after 300 ms',
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(290);
    expect(result.durationMs).toBeLessThan(5_000);
    expect(receiver.requests).toHaveLength(1);
  });

  it('stops when its signal aborts (graceful shutdown)', async () => {
    const shutdown = new AbortController();
    const receiver = await startReceiver(() => {
      shutdown.abort();
    });

    expect(
      await sendWebhook(delivery(receiver.url), { ...local, signal: shutdown.signal }),
    ).toMatchObject({ ok: false, status: null, error: 'aborted' });
  });

  it('does not start when its signal has already aborted', async () => {
    const receiver = await startReceiver(answer(200));

    expect(
      await sendWebhook(delivery(receiver.url), { ...local, signal: AbortSignal.abort() }),
    ).toMatchObject({ ok: false, status: null, error: 'aborted' });
    expect(receiver.requests).toHaveLength(0);
  });

  it('reports a refused connection', async () => {
    const receiver = await startReceiver(answer(200));
    const closing = servers.splice(0);
    for (const server of closing) await new Promise((closed) => server.close(closed));

    expect(await sendWebhook(delivery(receiver.url), local)).toMatchObject({
      ok: false,
      status: null,
      error: 'connection refused',
    });
  });

  it('reports a TLS handshake with a receiver that does not speak TLS', async () => {
    const receiver = await startReceiver(answer(200));
    const url = receiver.url.replace('http:', 'https:');
    expect(await sendWebhook(delivery(url), local)).toMatchObject({
      ok: false,
      status: null,
      error: 'TLS handshake failed',
    });
  });

  it('reports an answer that is not HTTP', async () => {
    const server = net.createServer((socket) => {
      // Read what arrives, or the client's close goes unseen and the server never closes.
      socket.resume();
      socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n');
    });
    servers.push(server);
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const { port } = server.address() as AddressInfo;

    expect(await sendWebhook(delivery(`http://127.0.0.1:${port}/`), local)).toMatchObject({
      ok: false,
      status: null,
      error: 'invalid HTTP response',
    });
  });

  it.each([
    ['not a url', 'invalid URL'],
    ['ftp://127.0.0.1/hook', 'unsupported URL scheme ftp:'],
  ])('does not send to %s', async (url, error) => {
    expect(await sendWebhook(delivery(url), local)).toMatchObject({ ok: false, error });
  });

  describe('without allowPrivate', () => {
    it('does not connect to a literal loopback address', async () => {
      const receiver = await startReceiver(answer(200));

      expect(await sendWebhook(delivery(receiver.url), { allowPrivate: false })).toMatchObject({
        ok: false,
        status: null,
        error: 'address not allowed: a loopback address',
      });
      expect(receiver.connections).toBe(0);
    });

    it('checks the address it connects to, so DNS rebinding reaches nothing', async () => {
      const receiver = await startReceiver(answer(200));
      const url = `https://rebinding.example.com:${receiver.port}/hook`;

      // Registration sees a public address; by delivery the name points at the receiver.
      const registration = await checkWebhookUrl(url, {
        allowPrivate: false,
        resolve: resolvingTo('93.184.215.14'),
      });
      expect(registration).toEqual({ ok: true });

      for (const [rebound, kind] of [
        ['127.0.0.1', 'a loopback address'],
        ['10.0.0.7', 'a private address'],
      ] as const) {
        const result = await sendWebhook(delivery(url), {
          allowPrivate: false,
          resolve: resolvingTo(rebound),
        });
        expect(result).toMatchObject({
          ok: false,
          status: null,
          error: `address not allowed: ${kind}`,
        });
      }
      expect(receiver.connections).toBe(0);
    });
  });
});

describe('generateWebhookSecret', () => {
  it('makes a fresh whsec_ secret of 24 random bytes that signs', () => {
    const fresh = generateWebhookSecret();
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(fresh.slice('whsec_'.length), 'base64')).toHaveLength(24);
    expect(generateWebhookSecret()).not.toBe(fresh);
    expect(new Webhook(fresh).sign('msg_1', new Date(), '{}')).toMatch(/^v1,/);
  });
});
