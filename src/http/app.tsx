/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { writeRefusal } from '../db/writer.ts';
import { HTTPException } from 'hono/http-exception';
import { ErrorPage } from '../../views/components/errors.tsx';
import { HomePage } from '../../views/auth/home.tsx';
import type { AppContext } from '../app-context.ts';
import { adminRoutes } from '../admin/routes.tsx';
import { auditRoutes } from '../audit/routes.tsx';
import { privacyRoutes } from '../privacy/routes.tsx';
import { authRoutes } from '../auth/routes.tsx';
import { attendeeLinkRoutes } from '../registrations/public-routes.tsx';
import { attendeeColumnRoutes } from '../registrations/column-routes.tsx';
import { attendeeRoutes } from '../registrations/routes.tsx';
import { checkinRoutes } from '../registrations/checkin-routes.tsx';
import { privacyPublicRoutes } from '../privacy/public-routes.tsx';
import { privacyRequestRoutes } from '../privacy/request-routes.tsx';
import { securityRoutes } from '../audit/security-routes.tsx';
import { publicEventRoutes } from '../events/public-routes.tsx';
import { ReadCache } from '../events/read-cache.ts';
import { eventAccessRoutes } from '../events/access-routes.tsx';
import { eventFormRoutes } from '../events/form-routes.tsx';
import { eventAdminRoutes } from '../events/routes.tsx';
import { inviteRoutes } from '../orgs/invite-routes.tsx';
import { brandingRoutes } from '../orgs/branding-routes.tsx';
import { orgRoutes } from '../orgs/routes.tsx';
import { accessLog } from './access-log.ts';
import { csrfProtection } from './csrf.ts';
import { writesRefusedResponse } from './error-page.tsx';
import { limitBody } from './form-body.ts';
import { identifyCaller } from './session.ts';
import { RouteTable } from './route-permissions.ts';
import { guard } from './guard.ts';
import { healthRoutes } from './health.ts';
import type { LogShipper } from '../logship/service.ts';
import type { RestoreTester } from '../backup/restore-test.ts';
import { requestContext } from './request-context.ts';
import { staticRoutes } from './static.ts';
import type { AppEnv } from './types.ts';

/** The app and its route table (who may call each route), both built fresh for each server. */
export function createApp(
  ctx: AppContext,
  opts: { tls: boolean; restoreTester?: RestoreTester; logShipping?: LogShipper},
): { app: Hono<AppEnv>; routes: RouteTable } {
  const app = new Hono<AppEnv>();
  const table = new RouteTable(guard);

  // Few, merged steps: each step of Hono's middleware chain costs about a microsecond per request.
  // The access log is outermost so its duration covers everything; it reads the request id
  // and client address after the inner steps have set them.
  app.use(accessLog(ctx.accessLog, ctx.metrics));
  app.use(requestContext(ctx, { trustProxy: ctx.cfg.trustProxy, tls: opts.tls }));
  app.use(
    limitBody(ctx.cfg.bodyLimitKb * 1024, (c) => {
      // The unread body is still on the socket: close it rather than let a client reuse it.
      c.header('Connection', 'close');
      return c.html(
        <ErrorPage status={413} title="Request too large" message={`The submitted data is larger than the ${ctx.cfg.bodyLimitKb} KiB this server accepts. Nothing was saved.`} requestId={c.get('requestId')} />,
        413,
      );
    }),
  );

  // Static files and probes need no session; mount them before the session middleware.
  app.route('/', staticRoutes(table));
  app.route('/', healthRoutes(table, ctx, opts.restoreTester, opts.logShipping));
  // Who is calling, then the CSRF check that depends on it: one step.
  const csrf = csrfProtection();
  app.use((c, next) => {
    identifyCaller(c);
    return csrf(c, next);
  });

  table.on(app).get('/', { kind: 'public' }, (c) => {
    const session = c.get('session');
    if (session && !session.mfa_pending) return c.redirect('/orgs', 303);
    return c.html(<HomePage needsSetup={!ctx.auth.instanceHasOwner()} />);
  });
  // In this order: the first capability that declares a path answers it.
  const capabilities: ((t: RouteTable) => Hono<AppEnv>)[] = [
    authRoutes,
    // The anonymous event pages, per server: two servers in one process (tests) never share them.
    (t) => publicEventRoutes(t, new ReadCache(ctx.db)),
    attendeeLinkRoutes,
    privacyPublicRoutes,
    orgRoutes,
    brandingRoutes,
    inviteRoutes,
    (t) => adminRoutes(t, opts.restoreTester),
    auditRoutes,
    privacyRoutes,
    eventAdminRoutes,
    eventAccessRoutes,
    eventFormRoutes,
    attendeeRoutes,
    checkinRoutes,
    privacyRequestRoutes,
    attendeeColumnRoutes,
    securityRoutes,
  ];
  for (const routesOf of capabilities) app.route('/', routesOf(table));

  app.notFound((c) =>
    c.html(<ErrorPage status={404} title="Page not found" message="There is nothing at this address. Check the link, or start again from the home page." requestId={c.get('requestId') ?? ''} />, 404),
  );
  app.onError((thrown, c) => {
    const rid = c.get('requestId') ?? '';
    // A write that failed because of a fault (full disk, failed sync, read-only connection) is a
    // state of the instance, not a bug: logged and alerted where it was raised.
    const refused = writeRefusal(ctx.faults, thrown);
    if (refused) return writesRefusedResponse(c, refused);
    const err = thrown;
    if (err instanceof HTTPException && err.status < 500) {
      return c.html(<ErrorPage status={err.status} title="Request not accepted" message={err.message || 'The request could not be processed.'} requestId={rid} />, err.status);
    }
    // The technical log gets the stack; the person gets the request id, never internals.
    ctx.log.error({ requestId: rid, err }, 'request failed');
    return c.html(<ErrorPage status={500} title="Something went wrong" message="The server could not complete this request. Nothing you submitted was half-saved: please try again." requestId={rid} />, 500);
  });
  return { app, routes: table };
}
