import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { AppEnv } from './types.ts';

/**
 * Client address and scheme. Behind a proxy (--trust-proxy) the right-most X-Forwarded-For entry
 * is the one our own proxy added; anything left of it came from the client and can be forged.
 */
export function readClientInfo(c: Context<AppEnv>, opts: { trustProxy: boolean; tls: boolean }): void {
  let ip: string | null = null;
  try {
    ip = getConnInfo(c).remote.address ?? null;
  } catch {
    ip = null;
  }
  let secure = opts.tls;
  if (opts.trustProxy) {
    const xff = c.req.header('x-forwarded-for');
    const last = xff?.split(',').map((s) => s.trim()).filter(Boolean).at(-1);
    if (last) ip = last;
    const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
    if (proto === 'https') secure = true;
    else if (proto === 'http') secure = false;
  }
  if (ip?.startsWith('::ffff:')) ip = ip.slice(7);
  c.set('clientIp', ip);
  c.set('secure', secure);
}
