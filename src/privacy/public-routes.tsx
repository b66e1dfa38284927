/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { ErasedPage, OpenLinkPage, PersonPage, RequestLinkPage } from '../../views/privacy/self-service.tsx';
import { orgSuspended, orgUnavailable } from '../orgs/unavailable.ts';
import { errorResponse } from '../http/error-page.tsx';
import { parseForm } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import { clearLinkCookie, exchangeLinkToken, readLinkCookie, setLinkCookie } from '../http/link-cookie.ts';
import { retryAfterSeconds } from '../http/rate-limit.ts';
import { render, renderBranded } from '../http/render.tsx';
import type { RouteTable } from '../http/route-permissions.ts';
import type { AppEnv } from '../http/types.ts';
import type { Subject } from './self-service.ts';

type C = Context<AppEnv>;

/** Where the session opened by the emailed link (or a manage link) shows the person's data. */
export const MY_DATA = '/privacy/me';
const LONG_TEXT_BAD = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/**
 * The attendee's data page (GDPR Art. 15–17, 20), without JavaScript: the organization's
 * "email me a link" form, the single-use link (token → cookie → a button that uses it), and the
 * page itself at a clean address with downloads, correction and erasure.
 */
export function privacyPublicRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  const expired = (c: C) => errorResponse(c, 404, 'Open your link again', 'This page stays open for 30 minutes after you open the link we emailed you. Ask for a new link on the organization’s privacy page.');
  const subject = (c: C): Subject | undefined => {
    const token = readLinkCookie(c, 'privacy-session');
    return token ? c.get('app').selfService.session(token) : undefined;
  };
  /** The person's session, or the answer instead: expired, or the organization suspended. */
  const subjectOr = (c: C): Subject | { res: Response | Promise<Response> } => {
    const s = subject(c);
    if (!s) return { res: expired(c) };
    return orgSuspended(c, s.orgId) ? { res: orgUnavailable(c) } : s;
  };
  /** An emailed link of a suspended organization opens nothing. */
  const linkSuspended = (c: C, token: string | undefined) => {
    const orgId = token ? c.get('app').selfService.linkOrgId(token) : undefined;
    return orgId !== undefined && orgSuspended(c, orgId);
  };
  const person = (c: C, s: Subject, notice?: string) => {
    const v = c.get('app').selfService.view(s, auditCtx(c, s.orgId));
    return v ? renderBranded(c, c.get('app').branding.forOrg(s.orgId), 'Your data', <PersonPage v={v} csrf={c.get('csrfToken') ?? ''} notice={notice} />) : expired(c);
  };

  r.get('/o/:orgSlug/privacy', { kind: 'public' }, (c) => {
    const org = c.get('app').orgs.bySlug(c.req.param('orgSlug') ?? '');
    if (!org) return errorResponse(c, 404, 'Not found', 'There is no organization at this address.');
    if (orgSuspended(c, org.id)) return orgUnavailable(c);
    return renderBranded(c, c.get('app').branding.publicBrand(org), `Your data at ${org.name}`, <RequestLinkPage orgName={org.name} action={`/o/${org.slug}/privacy`} csrf={c.get('csrfToken') ?? ''} />);
  });

  r.post('/o/:orgSlug/privacy', { kind: 'public' }, async (c) => {
    const app = c.get('app');
    const org = app.orgs.bySlug(c.req.param('orgSlug') ?? '');
    if (!org) return errorResponse(c, 404, 'Not found', 'There is no organization at this address.');
    if (orgSuspended(c, org.id)) return orgUnavailable(c);
    const form = await parseForm(c, z.object({ email: z.string().trim().max(254).pipe(z.email('Enter a valid email address.')) }));
    const page = (extra: { sent?: boolean; error?: string; email?: string }, status: 200 | 400 | 429) => renderBranded(c, app.branding.publicBrand(org), `Your data at ${org.name}`, <RequestLinkPage orgName={org.name} action={`/o/${org.slug}/privacy`} csrf={c.get('csrfToken') ?? ''} {...extra} />, status);
    if (!form.ok) return page({ error: form.errors.email ?? 'Enter a valid email address.', email: form.values.email ?? '' }, 400);
    const res = app.selfService.requestLink(org, form.data.email, auditCtx(c, org.id));
    if (!res.ok) {
      c.header('Retry-After', retryAfterSeconds(res.retryAfterMs));
      return page({ error: res.message, email: form.data.email }, 429);
    }
    return page({ sent: true }, 200);
  });

  r.get('/privacy/open', { kind: 'public' }, (c) => {
    const exchanged = exchangeLinkToken(c, 'privacy', '/privacy/open');
    if (exchanged) return exchanged;
    const token = readLinkCookie(c, 'privacy');
    if (linkSuspended(c, token)) return orgUnavailable(c);
    return render(c, 'Your data', <OpenLinkPage csrf={c.get('csrfToken') ?? ''} usable={!!token && c.get('app').selfService.linkUsable(token)} />, token ? 200 : 404);
  });

  r.post('/privacy/open', { kind: 'public' }, (c) => {
    const token = readLinkCookie(c, 'privacy');
    if (linkSuspended(c, token)) return orgUnavailable(c);
    const session = token ? c.get('app').selfService.openLink(token, auditCtx(c)) : undefined;
    clearLinkCookie(c, 'privacy');
    if (!session) return render(c, 'Your data', <OpenLinkPage csrf={c.get('csrfToken') ?? ''} usable={false} />, 404);
    setLinkCookie(c, 'privacy-session', session);
    return c.redirect(MY_DATA, 303);
  });

  r.get(MY_DATA, { kind: 'public' }, (c) => {
    const s = subjectOr(c);
    if ('res' in s) return s.res;
    const done = { corrected: 'Your correction request was sent to the organizer. They answer within one month.', linked: 'We emailed you a link to your full data page.' }[c.req.query('done') ?? ''];
    return person(c, s, done);
  });

  for (const format of ['json', 'csv'] as const) {
    r.get(`${MY_DATA}/export.${format}`, { kind: 'public' }, (c) => {
      const s = subjectOr(c);
      if ('res' in s) return s.res;
      const app = c.get('app');
      const v = app.selfService.view(s, auditCtx(c, s.orgId));
      if (!v) return expired(c);
      const body = app.selfService.export(v, format, auditCtx(c, s.orgId));
      return c.body(body, 200, {
        'Content-Type': format === 'json' ? 'application/json; charset=utf-8' : 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="my-data.${format}"`,
        'Cache-Control': 'no-store',
      });
    });
  }

  r.post(`${MY_DATA}/correction`, { kind: 'public' }, async (c) => {
    const s = subjectOr(c);
    if ('res' in s) return s.res;
    const form = await parseForm(c, z.object({ text: z.string().trim().min(1, 'Write what should be corrected.').max(2000, 'At most 2000 characters.').refine((v) => !LONG_TEXT_BAD.test(v), 'Contains characters that are not allowed.') }));
    if (!form.ok) return errorResponse(c, 400, 'Correction not sent', form.errors.text ?? 'Write what should be corrected.');
    c.get('app').selfService.correction(s, form.data.text, auditCtx(c, s.orgId));
    return c.redirect(`${MY_DATA}?done=corrected`, 303);
  });

  // From a registration's page: the full data page needs the address proved by an emailed link.
  r.post(`${MY_DATA}/link`, { kind: 'public' }, (c) => {
    const app = c.get('app');
    const s = subjectOr(c);
    if ('res' in s) return s.res;
    const org = app.orgs.byId(s.orgId);
    if (!org) return expired(c);
    const res = app.selfService.requestLink(org, s.email, auditCtx(c, s.orgId));
    if (!res.ok) return errorResponse(c, 429, 'Too many links', res.message);
    return c.redirect(`${MY_DATA}?done=linked`, 303);
  });

  r.post(`${MY_DATA}/erase`, { kind: 'public' }, async (c) => {
    const s = subjectOr(c);
    if ('res' in s) return s.res;
    if (s.registrationId) return errorResponse(c, 403, 'Email link needed', 'To erase your data, open the link we email you from this page first.');
    const form = await parseForm(c, z.object({ confirm: z.literal('yes', 'Tick the box to confirm.') }));
    if (!form.ok) return errorResponse(c, 400, 'Nothing was erased', 'Tick the box to confirm that you want your data erased.');
    const app = c.get('app');
    const org = app.orgs.byId(s.orgId);
    const { receipt } = app.selfService.erase(s.orgId, s.email, 'self-service', auditCtx(c, s.orgId));
    clearLinkCookie(c, 'privacy-session');
    return renderBranded(c, app.branding.forOrg(s.orgId), 'Your data was erased', <ErasedPage orgName={org?.name ?? ''} receipt={receipt} />);
  });

  return app;
}
