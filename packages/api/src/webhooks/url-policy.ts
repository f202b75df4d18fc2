import { promises as dns, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import ipaddr from 'ipaddr.js';

/**
 * Which hosts webhooks may be sent to, after OWASP's SSRF guidance: only public unicast
 * addresses, checked when an endpoint is registered (for a clear 422) and again on the very
 * address each delivery connects to (which is what defeats DNS rebinding).
 */

/** Every address a host name resolves to, IPv4 and IPv6, in the resolver's order. */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>;

const resolveWithSystem: ResolveHost = (hostname) =>
  dns.lookup(hostname, { all: true, verbatim: true });

/** How long a registration waits for the host to resolve. */
const resolveTimeoutMs = 5_000;

export type UrlCheck = { ok: true } | { ok: false; reason: string };

export interface UrlCheckOptions {
  /** Accept `http:` and private, loopback and other non-public addresses (development, tests). */
  allowPrivate: boolean;
  resolve?: ResolveHost;
}

/**
 * Whether a URL may be registered as a webhook endpoint. The reason, for an API user, names what
 * is wrong without internal details: an address the host resolves to is not repeated, since for
 * an internal name that would disclose the internal network.
 */
export async function checkWebhookUrl(url: string, options: UrlCheckOptions): Promise<UrlCheck> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refused('is not a valid absolute URL');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return refused('must not contain credentials');
  }
  const allowedSchemes = options.allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!allowedSchemes.includes(parsed.protocol)) {
    return refused(options.allowPrivate ? 'must use https or http' : 'must use https');
  }
  // No separate check for a missing host: the URL parser refuses http(s) URLs without one.

  const literalAddress = addressOfLiteralHost(parsed.hostname);
  if (literalAddress !== undefined) {
    const refusal = options.allowPrivate ? undefined : describeNonPublicAddress(literalAddress);
    return refusal === undefined ? { ok: true } : refused(`is ${refusal} (${literalAddress})`);
  }

  let addresses: LookupAddress[];
  try {
    // A resolver that never answers must not hold the registration request.
    addresses = await Promise.race([
      (options.resolve ?? resolveWithSystem)(parsed.hostname),
      sleep(resolveTimeoutMs, [] as LookupAddress[], { ref: false }),
    ]);
  } catch {
    addresses = [];
  }
  if (addresses.length === 0) return refused(`host ${parsed.hostname} does not resolve`);
  if (options.allowPrivate) return { ok: true };
  for (const { address } of addresses) {
    const refusal = describeNonPublicAddress(address);
    if (refusal !== undefined) return refused(`resolves to ${refusal}`);
  }
  return { ok: true };
}

const refused = (reason: string): UrlCheck => ({ ok: false, reason });

/**
 * For a delivery to a host given as an IP address, which Node connects to without calling the
 * lookup function: the refusal when that address is not public.
 */
export function refuseLiteralHost(hostname: string): AddressNotAllowedError | undefined {
  const address = addressOfLiteralHost(hostname);
  const refusal = address === undefined ? undefined : describeNonPublicAddress(address);
  return refusal === undefined ? undefined : new AddressNotAllowedError(refusal);
}

/** The address a URL's host names literally, if it does (`[::1]` comes bracketed). */
function addressOfLiteralHost(hostname: string): string | undefined {
  const unbracketed = hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(unbracketed) === 0 ? undefined : unbracketed;
}

/** Thrown through `http.request` when the address about to be connected to is not public. */
export class AddressNotAllowedError extends Error {
  readonly code = 'EWEBHOOKADDRESS';

  constructor(refusal: string) {
    super(`address not allowed: ${refusal}`);
    this.name = 'AddressNotAllowedError';
  }
}

/**
 * A `lookup` for `http.request` that resolves the host, then refuses the connection when any
 * address is not public: the check applies to the addresses the socket is given, so a host
 * that resolved to a public address at registration cannot be rebound to an internal one.
 * Node (20 and later) asks for all addresses when it tries several (`autoSelectFamily`), and
 * for one otherwise.
 */
export function createGuardedLookup(resolve: ResolveHost = resolveWithSystem): LookupFunction {
  return (hostname, options, callback) => {
    const family = familyNumber(options.family);
    void resolve(hostname).then(
      (resolved) => {
        const addresses =
          family === 0 ? resolved : resolved.filter((address) => address.family === family);
        const first = addresses[0];
        if (first === undefined) {
          callback(Object.assign(new Error('host does not resolve'), { code: 'ENOTFOUND' }), '');
          return;
        }
        for (const { address } of addresses) {
          const refusal = describeNonPublicAddress(address);
          if (refusal !== undefined) {
            callback(new AddressNotAllowedError(refusal), '');
            return;
          }
        }
        if (options.all === true) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (error: unknown) => {
        callback(error instanceof Error ? error : new Error('host lookup failed'), '');
      },
    );
  };
}

function familyNumber(family: number | 'IPv4' | 'IPv6' | undefined): number {
  if (family === 'IPv4') return 4;
  if (family === 'IPv6') return 6;
  return family ?? 0;
}

/** Article and name of each non-public range worth naming; others are called non-public. */
const rangeDescriptions: Partial<Record<string, string>> = {
  private: 'a private address',
  loopback: 'a loopback address',
  linkLocal: 'a link-local address',
  uniqueLocal: 'a unique-local address',
  carrierGradeNat: 'a carrier-grade NAT address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  broadcast: 'a broadcast address',
  reserved: 'a reserved address',
};

/** Undefined for a public unicast address; otherwise what kind of address it is, with article. */
function describeNonPublicAddress(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'an unrecognised address';
  const range = rangeOf(ipaddr.parse(address));
  if (range === 'unicast') return undefined;
  return rangeDescriptions[range] ?? 'a non-public address';
}

/** NAT64's well-known prefix (RFC 6052): an IPv6-only network's way to reach IPv4 hosts. */
const nat64Prefix = ipaddr.IPv6.parse('64:ff9b::');
/** Deprecated IPv4-compatible addresses (RFC 4291), which ipaddr.js counts as unicast. */
const ipv4CompatiblePrefix = ipaddr.IPv6.parse('::');

/**
 * The range of the address the connection really reaches: an IPv6 address that embeds an IPv4
 * one (mapped, or NAT64's) is judged by the IPv4 address. 6to4 and Teredo, deprecated and of no
 * use to a webhook receiver, keep their own (non-unicast) range, as does anything else.
 */
function rangeOf(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  if (address instanceof ipaddr.IPv4) return address.range();
  if (address.isIPv4MappedAddress()) return address.toIPv4Address().range();
  if (address.match(nat64Prefix, 96)) return embeddedIPv4(address).range();
  const range = address.range();
  if (range === 'unicast' && address.match(ipv4CompatiblePrefix, 96)) return 'reserved';
  return range;
}

function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 {
  const [high = 0, low = 0] = address.parts.slice(6);
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}
