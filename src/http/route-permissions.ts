import type { Context, Handler, Hono, MiddlewareHandler } from 'hono';
import type { Permission } from '../orgs/permissions.ts';
import type { AppEnv } from './types.ts';

/**
 * Every route states who may call it. `route()` is the only way handlers are registered, and it
 * records the declaration in `declaredRoutes`, so the route × role matrix test can enumerate the
 * app's routes and fail on any route that was added without one.
 */
export type Access =
  | { kind: 'public' }
  /** Signed in (password and second factor done), no organization involved. `enrol`: reachable before 2FA set-up. */
  | { kind: 'user'; enrol?: boolean }
  /** Signed in with the password, second factor still to come (the 2FA step itself). */
  | { kind: 'mfa-pending' }
  | { kind: 'instance-admin' }
  /** Inside `/orgs/:orgSlug/…` or `/api/v1/orgs/:orgSlug/…`: member with this permission. */
  | { kind: 'org'; permission: Permission; api?: boolean };

export const declaredRoutes = new Map<string, Access>();
export const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

export type Guard = (access: Access) => MiddlewareHandler<AppEnv>;

type Method = 'get' | 'post';

export function route(app: Hono<AppEnv>, guard: Guard, method: Method, path: string, access: Access, ...handlers: Handler<AppEnv>[]): void {
  if (access.kind === 'org' && !path.includes(':orgSlug')) throw new Error(`org route ${path} must contain :orgSlug`);
  declaredRoutes.set(routeKey(method, path), access);
  // A public route's guard would only call next(): leave the step out of the chain.
  if (access.kind === 'public') app.on(method.toUpperCase(), path, ...(handlers as [Handler<AppEnv>]));
  else app.on(method.toUpperCase(), path, guard(access), ...(handlers as [Handler<AppEnv>]));
}

/** Route helpers bound to one sub-app, so capability route files read as a list of declarations. */
export function routes(app: Hono<AppEnv>, guard: Guard) {
  return {
    get: (path: string, access: Access, ...h: Handler<AppEnv>[]) => route(app, guard, 'get', path, access, ...h),
    post: (path: string, access: Access, ...h: Handler<AppEnv>[]) => route(app, guard, 'post', path, access, ...h),
  };
}

export function isHtmx(c: Context): boolean {
  return c.req.header('hx-request') === 'true';
}
