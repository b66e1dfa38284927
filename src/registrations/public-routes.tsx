/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { ConfirmEmailPage, ConfirmationPage, ManagePage } from '../../views/registrations/public.tsx';
import { qrSvg } from '../auth/totp.ts';
import { type Answers, answerText } from '../events/fields.ts';
import type { EventRow } from '../events/repo.ts';
import { routes } from '../http/route-permissions.ts';
import { errorResponse } from '../http/error-page.tsx';
import { answerFormBody, asValues } from '../http/forms.ts';
import { auditCtx, guard } from '../http/guard.ts';
import { render } from '../http/render.tsx';
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
    else if (typeof v === 'object') out[k] = 'on';
    else out[k] = answerText(v);
  }
  return out;
}

/** The attendee's personal links: see, change or cancel the registration, the ticket, double opt-in. */
export function attendeeLinkRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = routes(app, guard);

  const byManage = (c: C) => c.get('app').links.byToken('manage', c.req.param('token') ?? '');
  const invalidLink = (c: C) => errorResponse(c, 404, 'Link not valid', 'This personal link is not valid any more. Ask the organizer to send it again.');

  const managePage = async (c: C, found: { reg: RegistrationRow; event: EventRow }, extra: { errors?: Record<string, string>; message?: string; values?: Record<string, string | string[]>; notice?: string } = {}, status: 200 | 422 = 200) => {
    const app = c.get('app');
    const qr = found.reg.status === 'confirmed' ? `/r/${c.req.param('token')}/ticket.svg` : null;
    return render(c, 'Your registration', <ManagePage e={found.event} reg={found.reg} fields={app.events.fields(found.event)} qr={qr} action={`/r/${c.req.param('token')}`} values={extra.values ?? valuesOf(found.reg)} errors={extra.errors} message={extra.message} notice={extra.notice} csrf={c.get('csrfToken')} />, status);
  };

  r.get('/r/:token', { kind: 'public' }, async (c) => {
    const found = byManage(c);
    if (!found) return invalidLink(c);
    c.get('app').registrations.viewedByAttendee(found.reg, auditCtx(c, found.reg.org_id));
    const notice = { saved: 'Your changes are saved.', cancelled: 'Your registration is cancelled.' }[c.req.query('done') ?? ''];
    return managePage(c, found, notice ? { notice } : {});
  });

  // The ticket QR as its own image: the registration POST does not pay for drawing it.
  r.get('/r/:token/ticket.svg', { kind: 'public' }, async (c) => {
    const found = byManage(c);
    if (!found || found.reg.status !== 'confirmed') return invalidLink(c);
    const svg = await qrSvg(c.get('app').links.link(found.reg, 'ticket'));
    return c.body(svg, 200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'private, max-age=3600' });
  });

  r.post('/r/:token', { kind: 'public' }, async (c) => {
    const found = byManage(c);
    if (!found) return invalidLink(c);
    const raw = await answerFormBody(c);
    const res = c.get('app').registrations.updateAnswers(found.event, found.reg, raw, auditCtx(c, found.reg.org_id), 'attendee');
    if (!res.ok) return managePage(c, found, { errors: res.errors ?? {}, message: res.message, values: asValues(raw) }, 422);
    return c.redirect(`/r/${c.req.param('token')}?done=saved`, 303);
  });

  r.post('/r/:token/cancel', { kind: 'public' }, (c) => {
    const found = byManage(c);
    if (!found) return invalidLink(c);
    c.get('app').registrations.cancel(found.event, found.reg, auditCtx(c, found.reg.org_id), 'attendee');
    return c.redirect(`/r/${c.req.param('token')}?done=cancelled`, 303);
  });

  // Email scanners open links: the GET only shows a button; the POST confirms.
  r.get('/r/:token/confirm', { kind: 'public' }, (c) => {
    const found = c.get('app').links.byToken('confirm', c.req.param('token') ?? '');
    if (!found) return invalidLink(c);
    return render(c, 'Confirm', <ConfirmEmailPage e={found.event} action={`/r/${c.req.param('token')}/confirm`} csrf={c.get('csrfToken')} />);
  });

  r.post('/r/:token/confirm', { kind: 'public' }, async (c) => {
    const app = c.get('app');
    const found = app.links.byToken('confirm', c.req.param('token') ?? '');
    if (!found) return invalidLink(c);
    const res = app.registrations.confirm(found.event, found.reg, auditCtx(c, found.reg.org_id));
    if (!res.ok) return errorResponse(c, 409, 'Event full', res.message);
    const manage = app.links.managePath(res.reg);
    return render(c, 'Registration', <ConfirmationPage e={found.event} reg={res.reg} qrSrc={res.reg.status === 'confirmed' ? `${manage}/ticket.svg` : null} manageUrl={manage} />);
  });

  return app;
}
