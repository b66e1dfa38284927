import type { Context, Handler, Hono, MiddlewareHandler } from 'hono';
import type { Permission } from '../orgs/permissions.ts';
import type { AppEnv } from './types.ts';

/**
 * Every route states who may call it. The app's `RouteTable` is the only way handlers are
 * registered, and it records each declaration, so the route × role matrix test can enumerate the
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

export const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

export type Guard = (access: Access) => MiddlewareHandler<AppEnv>;

type Method = 'get' | 'post';

/** Route helpers bound to one sub-app, so capability route files read as a list of declarations. */
export interface RouteHelpers {
  get(path: string, access: Access, ...h: Handler<AppEnv>[]): void;
  post(path: string, access: Access, ...h: Handler<AppEnv>[]): void;
}

/** One app's routes and who may call each: built by createApp, one per app (no shared state between servers). */
export class RouteTable {
  readonly #declared = new Map<string, Access>();

  constructor(private readonly guard: Guard) {}

  /** Every declared route, keyed `METHOD /path` (see routeKey). */
  get declared(): ReadonlyMap<string, Access> {
    return this.#declared;
  }

  route(app: Hono<AppEnv>, method: Method, path: string, access: Access, ...handlers: Handler<AppEnv>[]): void {
    if (access.kind === 'org' && !path.includes(':orgSlug')) throw new Error(`org route ${path} must contain :orgSlug`);
    this.#declared.set(routeKey(method, path), access);
    // A public route's guard would only call next(): leave the step out of the chain.
    if (access.kind === 'public') {
      app.on(method.toUpperCase(), path, ...(handlers as [Handler<AppEnv>]));
      return;
    }
    const guard = this.guard(access);
    // The app shell (render.tsx) reads which kind of route answered from the request itself.
    const step: MiddlewareHandler<AppEnv> = (c, next) => {
      c.set('access', access);
      return guard(c, next);
    };
    app.on(method.toUpperCase(), path, step, ...(handlers as [Handler<AppEnv>]));
  }

  on(app: Hono<AppEnv>): RouteHelpers {
    return {
      get: (path, access, ...h) => this.route(app, 'get', path, access, ...h),
      post: (path, access, ...h) => this.route(app, 'post', path, access, ...h),
    };
  }
}

export function isHtmx(c: Context): boolean {
  return c.req.header('hx-request') === 'true';
}
