import type { LookupAddress, LookupOptions } from 'node:dns';
import http from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkWebhookUrl, createGuardedLookup, type ResolveHost } from './url-policy.js';

/** A resolver answering every name with these addresses: no real DNS in tests. */
const resolvingTo =
  (...addresses: string[]): ResolveHost =>
  async () =>
    addresses.map((address) => ({ address, family: isIP(address) }));

const notResolving: ResolveHost = async (hostname) => {
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
};

const publicIPv4 = '93.184.215.14';
const publicIPv6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';

describe('checkWebhookUrl', () => {
  const strict = (resolve: ResolveHost) => ({ allowPrivate: false, resolve });

  it('accepts https to a host with only public addresses', async () => {
    const check = await checkWebhookUrl(
      'https://hooks.example.com/tasks?v=1',
      strict(resolvingTo(publicIPv4, publicIPv6)),
    );
    expect(check).toEqual({ ok: true });
  });

  it.each([
    ['not a URL', 'is not a valid absolute URL'],
    ['/relative/path', 'is not a valid absolute URL'],
    ['https://user:secret@hooks.example.com/', 'must not contain credentials'],
    ['https://token@hooks.example.com/', 'must not contain credentials'],
    ['http://hooks.example.com/', 'must use https'],
    ['ftp://hooks.example.com/', 'must use https'],
    ['file:///etc/passwd', 'must use https'],
  ])('refuses %s: %s', async (url, reason) => {
    expect(await checkWebhookUrl(url, strict(resolvingTo(publicIPv4)))).toEqual({
      ok: false,
      reason,
    });
  });

  it.each([
    ['10.0.0.5', 'a private address'],
    ['172.16.4.1', 'a private address'],
    ['192.168.1.10', 'a private address'],
    ['127.0.0.1', 'a loopback address'],
    ['169.254.169.254', 'a link-local address'],
    ['100.64.0.1', 'a carrier-grade NAT address'],
    ['0.0.0.0', 'an unspecified address'],
    ['224.0.0.1', 'a multicast address'],
    ['255.255.255.255', 'a broadcast address'],
    ['240.0.0.1', 'a reserved address'],
    ['::1', 'a loopback address'],
    ['::', 'an unspecified address'],
    ['fe80::1', 'a link-local address'],
    ['fe80::1%eth0', 'a link-local address'],
    ['fd12:3456::1', 'a unique-local address'],
    ['ff02::1', 'a multicast address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['::ffff:169.254.169.254', 'a link-local address'],
    ['::ffff:10.0.0.1', 'a private address'],
    ['64:ff9b::a00:1', 'a private address'],
    ['::7f00:1', 'a reserved address'],
    ['2002:a00:1::1', 'a non-public address'],
    ['2001:0:a00:1::1', 'a non-public address'],
    ['not-an-address', 'an unrecognised address'],
  ])('refuses a host resolving to %s (%s), without naming the address', async (address, kind) => {
    const check = await checkWebhookUrl(
      'https://hooks.example.com/',
      strict(resolvingTo(publicIPv4, address)),
    );
    expect(check).toEqual({ ok: false, reason: `resolves to ${kind}` });
  });

  it.each([
    ['::ffff:93.184.215.14', 'an IPv4-mapped public address'],
    ['64:ff9b::5db8:d70e', 'a NAT64 address of a public IPv4 address'],
  ])('accepts %s, %s', async (address) => {
    expect(
      await checkWebhookUrl('https://hooks.example.com/', strict(resolvingTo(address))),
    ).toEqual({ ok: true });
  });

  it.each([
    ['https://127.0.0.1/', 'is a loopback address (127.0.0.1)'],
    ['https://2130706433/', 'is a loopback address (127.0.0.1)'],
    ['https://0x7f.1/', 'is a loopback address (127.0.0.1)'],
    ['https://169.254.169.254/latest/meta-data/', 'is a link-local address (169.254.169.254)'],
    ['https://[::1]:8443/', 'is a loopback address (::1)'],
    ['https://[::ffff:10.1.2.3]/', 'is a private address (::ffff:a01:203)'],
  ])('checks the literal address of %s without resolving it', async (url, reason) => {
    const resolve = vi.fn(resolvingTo(publicIPv4));
    expect(await checkWebhookUrl(url, strict(resolve))).toEqual({ ok: false, reason });
    expect(resolve).not.toHaveBeenCalled();
  });

  it('accepts a public literal address', async () => {
    expect(await checkWebhookUrl(`https://${publicIPv4}/`, strict(notResolving))).toEqual({
      ok: true,
    });
  });

  it.each([
    ['fails', notResolving],
    ['finds no address', resolvingTo()],
  ])('refuses a host whose lookup %s', async (_, resolve) => {
    expect(await checkWebhookUrl('https://nowhere.invalid/', strict(resolve))).toEqual({
      ok: false,
      reason: 'host nowhere.invalid does not resolve',
    });
  });

  describe('with allowPrivate', () => {
    const lenient = (resolve: ResolveHost) => ({ allowPrivate: true, resolve });

    it.each(['http://127.0.0.1:3000/hook', 'https://[::1]/', 'http://10.0.0.5/'])(
      'accepts %s',
      async (url) => {
        expect(await checkWebhookUrl(url, lenient(notResolving))).toEqual({ ok: true });
      },
    );

    it('accepts a name resolving to loopback', async () => {
      expect(
        await checkWebhookUrl('http://localhost:3000/', lenient(resolvingTo('127.0.0.1'))),
      ).toEqual({ ok: true });
    });

    it.each([
      ['http://user:pass@localhost/', 'must not contain credentials'],
      ['ftp://localhost/', 'must use https or http'],
      ['http://nowhere.invalid/', 'host nowhere.invalid does not resolve'],
    ])('still refuses %s', async (url, reason) => {
      expect(await checkWebhookUrl(url, lenient(notResolving))).toEqual({ ok: false, reason });
    });
  });
});

describe('createGuardedLookup', () => {
  interface LookupAnswer {
    error: NodeJS.ErrnoException | null;
    address: string | LookupAddress[];
    family: number | undefined;
  }

  const lookUp = (resolve: ResolveHost, options: LookupOptions) =>
    new Promise<LookupAnswer>((settle) => {
      createGuardedLookup(resolve)('hooks.example.com', options, (error, address, family) => {
        settle({ error, address, family });
      });
    });

  it('answers with every address when asked for all (autoSelectFamily)', async () => {
    expect(await lookUp(resolvingTo(publicIPv6, publicIPv4), { all: true })).toEqual({
      error: null,
      address: [
        { address: publicIPv6, family: 6 },
        { address: publicIPv4, family: 4 },
      ],
      family: undefined,
    });
  });

  it('answers with the first address of the asked family when asked for one', async () => {
    const resolve = resolvingTo(publicIPv6, publicIPv4);
    expect(await lookUp(resolve, {})).toEqual({ error: null, address: publicIPv6, family: 6 });
    expect(await lookUp(resolve, { family: 4 })).toEqual({
      error: null,
      address: publicIPv4,
      family: 4,
    });
    expect(await lookUp(resolve, { family: 'IPv4', all: true })).toMatchObject({
      address: [{ address: publicIPv4, family: 4 }],
    });
  });

  it.each([{ all: true }, {}])('refuses when any address is not public (%o)', async (options) => {
    const { error } = await lookUp(resolvingTo(publicIPv4, '10.0.0.1'), options);
    expect(error).toMatchObject({
      code: 'EWEBHOOKADDRESS',
      message: 'address not allowed: a private address',
    });
  });

  it('passes on resolution failures, and reports a family with no address as not found', async () => {
    expect((await lookUp(notResolving, { all: true })).error).toMatchObject({
      code: 'ENOTFOUND',
    });
    expect((await lookUp(resolvingTo(publicIPv4), { family: 6 })).error).toMatchObject({
      code: 'ENOTFOUND',
    });
  });

  describe('as the lookup of http.request', () => {
    let server: http.Server | undefined;

    afterEach(async () => {
      await new Promise((closed) => server?.close(closed));
    });

    it.each([true, false])(
      'keeps the socket from connecting to a refused address (autoSelectFamily: %s)',
      async (autoSelectFamily) => {
        let connections = 0;
        server = http.createServer((_, response) => {
          response.end();
        });
        server.on('connection', () => (connections += 1));
        await new Promise<void>((listening) => server?.listen(0, '127.0.0.1', listening));
        const { port } = server.address() as AddressInfo;

        // Not an inline literal: @types/node 20 does not list autoSelectFamily, which http
        // passes on to net.connect, among the request options.
        const requestOptions = {
          agent: false,
          autoSelectFamily,
          lookup: createGuardedLookup(resolvingTo('127.0.0.1')),
        };
        const failure = await new Promise<unknown>((settle) => {
          http
            .get(`http://rebound.example.com:${port}/`, requestOptions)
            .on('response', () => {
              settle('connected');
            })
            .on('error', settle);
        });
        expect(failure).toMatchObject({ code: 'EWEBHOOKADDRESS' });
        expect(connections).toBe(0);
      },
    );
  });
});
