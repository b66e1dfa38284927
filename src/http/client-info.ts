import { getConnInfo } from '@hono/node-server/conninfo';
import ipaddr from 'ipaddr.js';
import type { Context } from 'hono';
import type { AppEnv } from './types.ts';

/** The right-most entry of a comma-separated proxy header: the one our own proxy appended. */
function rightMost(header: string | undefined): string | undefined {
  return header?.split(',').map((s) => s.trim()).filter(Boolean).at(-1);
}

const DOTTED = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Runs on every request: the forms Node gives (dotted, ::ffff:-mapped, ::1) skip the parser. */
export function isLoopback(address: string | null): boolean {
  if (address === null) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (DOTTED.test(v4)) return v4.startsWith('127.');
  if (address === '::1') return true;
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'loopback';
}

/**
 * Client address and scheme. Behind a proxy (--trust-proxy) the right-most X-Forwarded-For and
 * X-Forwarded-Proto entries are the ones our own proxy appended; anything left of them came from
 * the client and can be forged (ASVS V4.1.3).
 *
 * `local` (the caller is on this machine) decides who may read /metrics and the /readyz details.
 * It needs the real client, not the hop: behind a proxy every connection comes from loopback, so
 * the socket alone would make the whole internet local.
 */
export function readClientInfo(c: Context<AppEnv>, opts: { trustProxy: boolean; tls: boolean }): void {
  let peer: string | null = null;
  try {
    peer = getConnInfo(c).remote.address ?? null;
  } catch {
    peer = null;
  }
  let ip = peer;
  let secure = opts.tls;
  let local = isLoopback(peer);
  if (opts.trustProxy) {
    const xff = rightMost(c.req.header('x-forwarded-for'));
    if (xff) ip = xff;
    // A proxy that names the client some other way (nginx's X-Real-IP, RFC 7239 Forwarded) but not
    // in X-Forwarded-For hides who it is: never treat that request as local.
    else if (c.req.header('x-real-ip') !== undefined || c.req.header('forwarded') !== undefined) local = false;
    local &&= isLoopback(ip);
    const proto = rightMost(c.req.header('x-forwarded-proto'))?.toLowerCase();
    if (proto === 'https') secure = true;
    else if (proto === 'http') secure = false;
  }
  if (ip?.startsWith('::ffff:')) ip = ip.slice(7);
  c.set('clientIp', ip);
  c.set('secure', secure);
  c.set('localCaller', local);
}
