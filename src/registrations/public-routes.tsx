/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { ConfirmEmailPage, ConfirmationPage, ManagePage } from '../../views/registrations/public.tsx';
import { qrSvg } from '../auth/totp.ts';
import { type Answers, answerText } from '../events/fields.ts';
import type { EventRow } from '../events/repo.ts';
import type { RouteTable } from '../http/route-permissions.ts';
import { orgSuspended, orgUnavailable } from '../orgs/unavailable.ts';
import { errorResponse } from '../http/error-page.tsx';
import { answerFormBody, asValues } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import { clearLinkCookie, readLinkCookie, setLinkCookie } from '../http/link-cookie.ts';
import { renderBranded } from '../http/render.tsx';
import type { AppEnv } from '../http/types.ts';
import type { RegistrationRow } from './repo.ts';

type C = Context<AppEnv>;

/** Answers as form values, to prefill the manage page's edit form. */
function valuesOf(reg: RegistrationRow): Record<string, string | string[]> {
  const answers = JSON.parse(reg.answers) as Answers;
  const out: Record<string, string | string[]> = { email: reg.email, name: reg.name };
  for (const [k, v] of Object.entries(answers)) {
    if (Array.isArray(v)) out[k] = v;
    else if (typeof v === 'boolean') out[k] = v ? 'on' : '';
    else if (typeof v === 'object') out[k] = v.accepted ? 'on' : '';
    else out[k] = answerText(v);
  }
  return out;
}

/** Where the manage link leads once its token is in the cookie: an address with no secret in it. */
export const MY_REGISTRATION = '/my-registration';

/**
 * The attendee's personal links: see, change or cancel the registration, the ticket, double
 * opt-in. A link from the email (`/r/<token>`, `/r/<token>/confirm`) is exchanged for a
 * short-lived cookie and a redirect to `/my-registration…` (see http/link-cookie.ts), so the
 * token does not stay in the address bar, the history or a Referer.
 */
export function attendeeLinkRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  const fromCookie = (c: C, kind: 'manage' | 'confirm') => {
    const token = readLinkCookie(c, kind);
    return token ? c.get('app').links.byToken(kind, token) : undefined;
  };
  /**
   * The registration behind a personal link, or the answer instead of it: no link (expired), or
   * its organization suspended, where attendees cannot act either (orgs/directory.ts).
   */
  const linked = <T extends { reg: RegistrationRow }>(c: C, found: T | undefined, missing: (c: C) => Response | Promise<Response>): T | { res: Response | Promise<Response> } => {
    if (!found) return { res: missing(c) };
    return orgSuspended(c, found.reg.org_id) ? { res: orgUnavailable(c) } : found;
  };
  const invalidLink = (c: C) => errorResponse(c, 404, 'Link not valid', 'This personal link is not valid any more. Ask the organizer to send it again.');
  const expired = (c: C) => errorResponse(c, 404, 'Open your personal link again', 'This page is open for 30 minutes after you follow the personal link from your email. Open that link again to see your registration.');

  const managePage = async (c: C, found: { reg: RegistrationRow; event: EventRow }, extra: { errors?: Record<string, string>; message?: string; values?: Record<string, string | string[]>; notice?: string } = {}, status: 200 | 422 = 200) => {
    const app = c.get('app');
    const qr = found.reg.status === 'confirmed' ? `${MY_REGISTRATION}/ticket.svg` : null;
    return renderBranded(c, app.branding.forOrg(found.event.org_id), 'Your registration', <ManagePage e={found.event} reg={found.reg} fields={app.events.fields(found.event)} qr={qr} action={MY_REGISTRATION} values={extra.values ?? valuesOf(found.reg)} errors={extra.errors} message={extra.message} notice={extra.notice} csrf={c.get('csrfToken')} />, status);
  };
  const ticket = async (c: C, found: { reg: RegistrationRow } | undefined) => {
    if (found && orgSuspended(c, found.reg.org_id)) return orgUnavailable(c);
    if (!found || found.reg.status !== 'confirmed') return invalidLink(c);
    const svg = await qrSvg(c.get('app').links.link(found.reg, 'ticket'));
    // Personal data (the ticket opens the attendee's check-in): never cached (ASVS V14.3.2).
    return c.body(svg, 200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'no-store' });
  };

  // The link from the email: swap the token for the cookie, then show the clean page.
  r.get('/r/:token', { kind: 'public' }, (c) => {
    const token = c.req.param('token') ?? '';
    const l = linked(c, c.get('app').links.byToken('manage', token), invalidLink);
    if ('res' in l) return l.res;
    setLinkCookie(c, 'manage', token);
    return c.redirect(MY_REGISTRATION, 303);
  });

  r.get(MY_REGISTRATION, { kind: 'public' }, async (c) => {
    const found = linked(c, fromCookie(c, 'manage'), expired);
    if ('res' in found) return found.res;
    c.get('app').registrations.viewedByAttendee(found.reg, auditCtx(c, found.reg.org_id));
    const notice = { saved: 'Your changes are saved.', cancelled: 'Your registration is cancelled.' }[c.req.query('done') ?? ''];
    return managePage(c, found, notice ? { notice } : {});
  });

  // The confirmation page right after registering shows the QR before any cookie exists: the
  // token is in the image address only (never in the history), and the answer is not cached.
  r.get('/r/:token/ticket.svg', { kind: 'public' }, (c) => ticket(c, c.get('app').links.byToken('manage', c.req.param('token') ?? '')));
  r.get(`${MY_REGISTRATION}/ticket.svg`, { kind: 'public' }, (c) => ticket(c, fromCookie(c, 'manage')));

  r.post(MY_REGISTRATION, { kind: 'public' }, async (c) => {
    const found = linked(c, fromCookie(c, 'manage'), expired);
    if ('res' in found) return found.res;
    const raw = await answerFormBody(c);
    const res = c.get('app').registrations.updateAnswers(found.event, found.reg, raw, auditCtx(c, found.reg.org_id), 'attendee');
    if (!res.ok) return managePage(c, found, { errors: res.errors ?? {}, message: res.message, values: asValues(raw) }, 422);
    return c.redirect(`${MY_REGISTRATION}?done=saved`, 303);
  });

  // The registration's own data page (GDPR Art. 15): the manage link proves this registration.
  r.get(`${MY_REGISTRATION}/privacy`, { kind: 'public' }, (c) => {
    const found = linked(c, fromCookie(c, 'manage'), expired);
    if ('res' in found) return found.res;
    setLinkCookie(c, 'privacy-session', c.get('app').selfService.openFromRegistration(found.reg));
    return c.redirect('/privacy/me', 303);
  });

  r.post(`${MY_REGISTRATION}/cancel`, { kind: 'public' }, (c) => {
    const found = linked(c, fromCookie(c, 'manage'), expired);
    if ('res' in found) return found.res;
    c.get('app').registrations.cancel(found.event, found.reg, auditCtx(c, found.reg.org_id), 'attendee');
    return c.redirect(`${MY_REGISTRATION}?done=cancelled`, 303);
  });

  // Email scanners open links: the GETs only show a button; the POST confirms.
  r.get('/r/:token/confirm', { kind: 'public' }, (c) => {
    const token = c.req.param('token') ?? '';
    const l = linked(c, c.get('app').links.byToken('confirm', token), invalidLink);
    if ('res' in l) return l.res;
    setLinkCookie(c, 'confirm', token);
    return c.redirect(`${MY_REGISTRATION}/confirm`, 303);
  });

  r.get(`${MY_REGISTRATION}/confirm`, { kind: 'public' }, (c) => {
    const found = linked(c, fromCookie(c, 'confirm'), expired);
    if ('res' in found) return found.res;
    return renderBranded(c, c.get('app').branding.forOrg(found.event.org_id), 'Confirm', <ConfirmEmailPage e={found.event} action={`${MY_REGISTRATION}/confirm`} csrf={c.get('csrfToken')} />);
  });

  r.post(`${MY_REGISTRATION}/confirm`, { kind: 'public' }, async (c) => {
    const app = c.get('app');
    const found = linked(c, fromCookie(c, 'confirm'), expired);
    if ('res' in found) return found.res;
    const res = app.registrations.confirm(found.event, found.reg, auditCtx(c, found.reg.org_id));
    if (!res.ok) return errorResponse(c, 409, 'Event full', res.message);
    clearLinkCookie(c, 'confirm');
    // The confirmed attendee lands on their own page next: hand over the manage cookie too.
    setLinkCookie(c, 'manage', app.links.managePath(res.reg).slice('/r/'.length));
    return renderBranded(c, app.branding.forOrg(found.event.org_id), 'Registration', <ConfirmationPage e={found.event} reg={res.reg} qrSrc={res.reg.status === 'confirmed' ? `${MY_REGISTRATION}/ticket.svg` : null} manageUrl={app.links.managePath(res.reg)} />);
  });

  return app;
}
