import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { TargetNotAllowedError } from '../shared/errors';

/**
 * Which hosts an outgoing call may reach (SSRF): never link-local addresses
 * (the instance metadata services live there), unspecified or multicast
 * addresses, hosts written in non-canonical IPv4 forms, or URLs with
 * user:password; loopback and private ranges only where the operator allows
 * them (see privateTargetsPolicy).
 */

/** `forbidden`: never reached. `private`: loopback and private ranges, reached only when allowed. */
export type AddressClass = 'public' | 'private' | 'forbidden';

function v4Parts(ip: string): number[] {
  return ip.split('.').map(Number);
}

function classifyV4(ip: string): { cls: AddressClass; what: string } {
  const [a, b] = v4Parts(ip) as [number, number];
  if (ip === '169.254.169.254' || ip === '169.254.170.2')
    return { cls: 'forbidden', what: 'an instance metadata address' };
  if (a === 169 && b === 254) return { cls: 'forbidden', what: 'a link-local address' };
  if (a === 0) return { cls: 'forbidden', what: 'an unspecified ("this network") address' };
  if (a >= 224) return { cls: 'forbidden', what: 'a multicast, reserved or broadcast address' };
  if (a === 127) return { cls: 'private', what: 'a loopback address' };
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168))
    return { cls: 'private', what: 'a private address' };
  if (a === 100 && b >= 64 && b <= 127) return { cls: 'private', what: 'a shared (carrier-grade NAT) address' };
  return { cls: 'public', what: 'a public address' };
}

/** The eight 16-bit groups of an IPv6 address (an embedded dotted IPv4 tail included). */
function v6Groups(ip: string): number[] {
  let text = ip.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = v4Parts(dotted[1]!) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = parse(head);
  const t = parse(tail);
  return tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** What an IP address (v4 or v6, as getaddrinfo or a URL gives it) is, for the policy. */
export function classifyAddress(ip: string): { cls: AddressClass; what: string } {
  const family = isIP(ip.replace(/^\[|\]$/g, ''));
  if (family === 4) return classifyV4(ip);
  if (family !== 6) return { cls: 'forbidden', what: 'not an IP address' };
  const g = v6Groups(ip.replace(/^\[|\]$/g, ''));
  const embeddedV4 = () => `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64) reach an IPv4 address.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || (g[5] === 0 && (g[6]! > 0 || g[7]! > 1))))
    return classifyV4(embeddedV4());
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classifyV4(embeddedV4());
  if (g.every((x) => x === 0)) return { cls: 'forbidden', what: 'the unspecified address' };
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return { cls: 'private', what: 'a loopback address' };
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && g[7] === 0x254)
    return { cls: 'forbidden', what: 'an instance metadata address' };
  if ((g[0]! & 0xffc0) === 0xfe80) return { cls: 'forbidden', what: 'a link-local address' };
  if ((g[0]! & 0xff00) === 0xff00) return { cls: 'forbidden', what: 'a multicast address' };
  if ((g[0]! & 0xfe00) === 0xfc00) return { cls: 'private', what: 'a unique local (private) address' };
  return { cls: 'public', what: 'a public address' };
}

const CANONICAL_V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The host as written in the URL text (before WHATWG parsing turns 127.1 or 2130706433 into 127.0.0.1). */
function writtenHost(url: string): string | undefined {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url.trim())?.[1];
  if (authority === undefined) return undefined;
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  if (hostPort.startsWith('[')) return hostPort.slice(0, hostPort.indexOf(']') + 1);
  return hostPort.replace(/:\d*$/, '');
}

/**
 * What is wrong with a target URL as written, with no DNS lookup: an answer
 * for `connectors validate` and a first check before any connection. `private`
 * problems are refused unless the policy allows private targets.
 */
export function targetProblem(url: string): { cls: Exclude<AddressClass, 'public'>; reason: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { cls: 'forbidden', reason: 'is not a valid URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return { cls: 'forbidden', reason: 'must be an http(s) URL' };
  if (parsed.username || parsed.password)
    return { cls: 'forbidden', reason: 'must not carry user:password (use the auth settings and secrets)' };
  const written = writtenHost(url);
  if (written !== undefined && !written.startsWith('[')) {
    const labels = written.replace(/\.$/, '').split('.');
    // WHATWG URL reads a host whose last label is a number as IPv4 (and accepts 0x7f.1, 127.1, 2130706433).
    if (/^(0x[0-9a-f]*|\d+)$/i.test(labels.at(-1) ?? '') && !CANONICAL_V4.test(written)) {
      return {
        cls: 'forbidden',
        reason: `writes its IPv4 host "${written}" in a non-canonical form; write it as four decimal numbers`,
      };
    }
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    const { cls, what } = classifyAddress(host);
    return cls === 'public' ? undefined : { cls, reason: `points at ${what} (${host})` };
  }
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost'))
    return { cls: 'private', reason: `points at a loopback address (${host})` };
  return undefined;
}

/** Whether private targets are reachable: by the stack's setting, and for "opt-in" by the connector's network.allowPrivate. */
export type PrivateTargets = 'refuse' | 'opt-in' | 'allow';

export function privateTargetsPolicy(value: string | undefined): PrivateTargets {
  if (value === undefined || value === '' || value === 'refuse') return 'refuse';
  if (value === 'opt-in' || value === 'allow') return value;
  throw new Error(`INTERNAL_TARGETS must be "refuse", "opt-in" or "allow", not ${JSON.stringify(value)}`);
}

/** The rules of one call: given by the invoke layer to the transports. */
export interface TargetRules {
  allowPrivate: boolean;
  /** Why private targets are refused, for the message. */
  privateHint: string;
}

export function rulesFor(policy: PrivateTargets, connectorAllowsPrivate: boolean | undefined): TargetRules {
  const allowPrivate = policy === 'allow' || (policy === 'opt-in' && connectorAllowsPrivate === true);
  const privateHint =
    policy === 'opt-in'
      ? 'set "network": {"allowPrivate": true} on the connector to reach it'
      : 'private and loopback targets are refused by this deployment (stack context allowPrivateTargets=true, then "network": {"allowPrivate": true} on the connector)';
  return { allowPrivate, privateHint };
}

/** Throws TargetNotAllowedError when the URL, as written, may not be called under these rules. */
export function checkTargetUrl(url: string, rules: TargetRules, what = 'The target'): void {
  const problem = targetProblem(url);
  if (!problem || (problem.cls === 'private' && rules.allowPrivate)) return;
  let origin = url;
  try {
    const u = new URL(url);
    origin = `${u.protocol}//${u.host}`;
  } catch {
    // keep the text
  }
  throw new TargetNotAllowedError(
    `${what} ${origin} ${problem.reason}${problem.cls === 'private' ? `: ${rules.privateHint}` : ''}`,
  );
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * dns.lookup for sockets (the `lookup` option of an http.Agent): every address
 * a name resolves to is checked before the connection is opened, so a DNS
 * name (or a redirect) pointing at a refused range is refused too.
 */
export function guardedLookup(rules: TargetRules, resolve: typeof dnsLookup = dnsLookup) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      for (const { address } of addresses) {
        const { cls, what } = classifyAddress(address);
        if (cls === 'forbidden' || (cls === 'private' && !rules.allowPrivate)) {
          return callback(
            new TargetNotAllowedError(
              `${hostname} resolves to ${what} (${address})${cls === 'private' ? `: ${rules.privateHint}` : ''}`,
            ),
            '',
          );
        }
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      callback(null, first.address, first.family);
    });
  };
}
