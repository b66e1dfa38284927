import type { Context, MiddlewareHandler } from 'hono';
import type { AuditContext } from '../audit/service.ts';
import { hasSecondFactor } from '../auth/service.ts';
import type { Access } from './route-permissions.ts';
import { errorResponse } from './error-page.tsx';
import { ipAllowed } from '../orgs/ip-allowlist.ts';
import type { AppEnv } from './types.ts';

/** Audit context of the current request: who, from where, which request. */
export function auditCtx(c: Context<AppEnv>, orgId?: string | null): AuditContext {
  const token = c.get('apiToken');
  const user = c.get('user');
  return {
    actor: token ? { type: 'api_token', id: token.id } : { type: user ? 'user' : 'system', id: user?.id ?? null },
    orgId: orgId ?? null,
    ip: c.get('clientIp'),
    userAgent: c.req.header('user-agent') ?? null,
    requestId: c.get('requestId'),
  };
}

const toLogin = (c: Context<AppEnv>) => {
  const next = c.req.method === 'GET' ? `?next=${encodeURIComponent(c.req.path)}` : '';
  return c.redirect(`/login${next}`, 303);
};

const denyMessages = {
  'membership-disabled': 'Your access to this organization has been disabled by one of its administrators.',
  suspended: 'This organization has been suspended by the administrators of this Tessera instance. Nothing can be changed or viewed here until they lift the suspension.',
  ip: 'This organization only accepts staff connections from its allowed network addresses, and yours is not one of them.',
  permission: 'Your role in this organization does not allow this.',
  'token-scope': 'This API token does not carry the permission for this.',
} as const;

/**
 * Enforces a route's declared Access. Also sends people who must set up 2FA (instance staff, or
 * members of an organization that requires it) to enrolment before anything else.
 */
export function guard(access: Access): MiddlewareHandler<AppEnv> {
  if (access.kind === 'public') return (_c, next) => next();
  return async (c, next) => {
    const app = c.get('app');
    const session = c.get('session');
    const user = c.get('user');
    const token = c.get('apiToken');
    const api = access.kind === 'org' && access.api === true;

    if (token && !api) return errorResponse(c, 401, 'Sign in required', 'API tokens work only on /api routes.', true);
    if (api && !token && !session) return errorResponse(c, 401, 'Authentication required', 'Send an API token as Authorization: Bearer.', true);

    if (access.kind === 'mfa-pending') {
      if (!session?.mfa_pending) return c.redirect(session ? '/' : '/login', 303);
      return next();
    }
    if (!token) {
      if (!session || !user) return toLogin(c);
      if (session.mfa_pending) return c.redirect('/login/2fa', 303);
      const needs2fa = !hasSecondFactor(user) && (user.instance_role !== null || app.orgs.userNeeds2fa(user.id));
      if (needs2fa && !(access.kind === 'user' && access.enrol)) return c.redirect('/account/2fa/setup', 303);
    }
    if (access.kind === 'user') return next();
    if (access.kind === 'instance-admin') {
      if (user?.instance_role !== 'owner' && user?.instance_role !== 'admin') {
        app.denials.record(auditCtx(c), c.req.routePath, null, 'instance-admin');
        return errorResponse(c, 403, 'Not allowed', 'This page is for instance administrators.');
      }
      // Security settings: /admin may be limited to the operators' networks.
      if (!ipAllowed(c.get('clientIp'), app.instanceSettings.adminNetworks())) {
        app.audit.record(auditCtx(c), 'access.denied', { type: 'route', id: c.req.routePath }, 'denied', { reason: 'admin-network' });
        return errorResponse(c, 403, 'Not allowed from this network', 'Instance administration is only reachable from the networks listed in the security settings.');
      }
      return next();
    }
    // access.kind === 'org'
    const slug = c.req.param('orgSlug') ?? '';
    const who = token ? { token } : { user: user! };
    const decision = app.orgs.access(slug, who, c.get('clientIp'), access.permission);
    if (!decision.ok) {
      // A member's refusal is the organization's business; an outsider's goes to the instance log.
      if (decision.status === 404) app.denials.record(auditCtx(c), c.req.routePath, decision.org?.id ?? null, decision.reason, { permission: access.permission });
      else app.audit.record(auditCtx(c, decision.org?.id ?? null), 'access.denied', { type: 'route', id: c.req.routePath }, 'denied', { reason: decision.reason, permission: access.permission });
      if (decision.status === 404) return errorResponse(c, 404, 'Not found', 'There is nothing at this address, or you are not a member of this organization.', api);
      return errorResponse(c, 403, 'Not allowed', denyMessages[decision.reason as keyof typeof denyMessages] ?? 'Not allowed.', api);
    }
    c.set('org', decision.org);
    c.set('membership', decision.membership);
    await next();
  };
}
