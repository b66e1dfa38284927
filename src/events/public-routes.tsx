/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { EventPage, OrgPublicPage, PasscodePage } from '../../views/events/public.tsx';
import { ConfirmationPage, SentPage } from '../../views/registrations/public.tsx';
import { QueueGonePage, QueuePage } from '../../views/registrations/queue.tsx';
import { qrSvg } from '../auth/totp.ts';
import { escapeHtml } from '../html-escape.ts';
import type { RouteTable } from '../http/route-permissions.ts';
import { orgSuspended, orgUnavailable } from '../orgs/unavailable.ts';
import { errorResponse } from '../http/error-page.tsx';
import { auditCtx } from '../http/guard.ts';
import { clearLinkCookie, readLinkCookie, setLinkCookie } from '../http/link-cookie.ts';
import { retryAfterSeconds } from '../http/rate-limit.ts';
import { answerFormBody, asValues } from '../http/forms.ts';
import { renderBranded } from '../http/render.tsx';
import type { AppEnv } from '../http/types.ts';
import { eventIcs } from './ics.ts';
import { renderMarkdown } from './markdown.ts';
import type { Place } from '../registrations/queue.ts';
import type { RegistrationRow } from '../registrations/repo.ts';
import type { Abandoned, RegisterResult } from '../registrations/service.ts';
import type { ReadCache, Stamp } from './read-cache.ts';
import type { EventRow } from './repo.ts';

type C = Context<AppEnv>;

/** Where a share link leads once its token is in the cookie. */
const SHARE = '/share';

const grantCookie = (e: Pick<EventRow, 'id'>) => `__Host-tessera_ev_${e.id.replace(/-/g, '')}`;
/** The place in an opening-rush queue: a random ticket, in a cookie so it never shows in a URL or log. */
const queueCookie = (e: Pick<EventRow, 'id'>) => `__Host-tessera_q_${e.id.replace(/-/g, '')}`;

/**
 * The confirmation page after an anonymous registration is the same for every attendee of an
 * event version but for a few values. During a registration rush rendering it was 8% of the
 * main thread, so it is rendered once per event version and status with markers in those
 * places, and each answer joins the pieces with the attendee's values, escaped as JSX would.
 */
const SLOTS = { csrf: '\u0001csrf\u0001', email: '\u0001email\u0001', code: '\u0001code\u0001', qr: '\u0001qr\u0001', manage: '\u0001manage\u0001' } as const;
type Slot = keyof typeof SLOTS;
const slotPattern = /\u0001(csrf|email|code|qr|manage)\u0001/;

async function confirmationFromFrame(confirmationFrames: Map<string, (string | Slot)[]>, c: Context<AppEnv>, e: EventRow, reg: RegistrationRow, manage: string): Promise<Response> {
  const csrf = c.get('csrfToken') ?? '';
  const confirmed = reg.status === 'confirmed';
  const brand = c.get('app').branding.forOrg(e.org_id);
  const key = `${e.id}|${e.updated_at}|${reg.status}|${csrf ? 1 : 0}|${brand?.version}`;
  let frame = confirmationFrames.get(key);
  if (!frame) {
    const marked = { ...reg, email: SLOTS.email, attendee_code: SLOTS.code };
    // The layout takes the token from the context: a marker there for this render only.
    if (csrf) c.set('csrfToken', SLOTS.csrf);
    const html = await (await renderBranded(c, brand, 'Registration', <ConfirmationPage e={e} reg={marked} qrSrc={confirmed ? SLOTS.qr : null} manageUrl={SLOTS.manage} />, 201)).text();
    c.set('csrfToken', csrf);
    // split() with a capture group keeps the slot names at the odd positions.
    frame = html.split(slotPattern).map((piece, i) => (i % 2 === 1 ? (piece as Slot) : piece));
    if (confirmationFrames.size > 1000) confirmationFrames.clear();
    confirmationFrames.set(key, frame);
  }
  const values: Record<Slot, string> = { csrf, email: reg.email, code: reg.attendee_code, qr: `${manage}/ticket.svg`, manage };
  const body = frame.map((piece, i) => (i % 2 === 1 ? escapeHtml(values[piece as Slot]) : piece)).join('');
  return c.html(body, 201);
}
const HTML = { 'Content-Type': 'text/html; charset=UTF-8' };

/**
 * An event page as an anonymous visitor sees it, kept by slug: the same bytes for everyone
 * until the database changes (anything: seats, the organization's brand, a notice), a second
 * has passed, or registration opens or closes (`open`, checked on every hit). As bytes, Node
 * writes it as it is, with no re-encoding.
 */
export interface AnonymousPage {
  e: Readonly<EventRow>;
  open: string;
  bytes: Uint8Array<ArrayBuffer>;
}
const openState = (open: { ok: true } | { ok: false; message: string }) => (open.ok ? '' : open.message);
function description(descriptionCache: Map<string, string>, e: EventRow): string {
  const key = `${e.id}:${e.updated_at}`;
  let html = descriptionCache.get(key);
  if (html === undefined) {
    if (descriptionCache.size > 500) descriptionCache.clear();
    html = renderMarkdown(e.description_md);
    descriptionCache.set(key, html);
  }
  return html;
}

/** The attendee-facing side: public event pages, access by passcode or share link, registration, manage links. */
export function publicEventRoutes(table: RouteTable, pages: ReadCache<AnonymousPage>): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);
  // Per app instance, not per module: two servers in one process (tests) never share pages.
  /**
   * Descriptions change rarely and are read on every public page view; remember their rendering
   * per event version (id + updated_at) instead of parsing Markdown on each request.
   */
  const descriptionCache = new Map<string, string>();

  /** Confirmation page frames per event version and status (see confirmationFromFrame). */
  const confirmationFrames = new Map<string, (string | Slot)[]>();
  /** The "ticket sent" page per event version: the same bytes for every anonymous registration. */
  const sentPages = new Map<string, Uint8Array<ArrayBuffer>>();

  const sentPage = async (c: C, e: EventRow) => {
    const anonymous = !c.get('user');
    const brand = c.get('app').branding.forOrg(e.org_id);
    const key = `${e.id}|${e.updated_at}|${brand?.version}`;
    const hit = anonymous ? sentPages.get(key) : undefined;
    if (hit) return c.body(hit, 201, HTML);
    if (anonymous) c.set('csrfToken', '');
    const res = await renderBranded(c, brand, 'Registration', <SentPage e={e} />, 201);
    if (anonymous) {
      if (sentPages.size > 1000) sentPages.clear();
      sentPages.set(key, new Uint8Array(await res.clone().arrayBuffer()));
    }
    return res;
  };

  const notFound = (c: C) => errorResponse(c, 404, 'Event not found', 'There is no public event at this address. Check the link you were given.');
  /** An instance admin suspended the organization (orgs/directory.ts). */
  const unavailable = orgUnavailable;

  /** The event if this browser may see it; otherwise the passcode page (or 404). */
  const visible = (c: C): { e: EventRow } | { res: Response | Promise<Response> } => {
    const app = c.get('app');
    const e = app.events.publicEvent(c.req.param('slug') ?? '');
    if (!e) return { res: notFound(c) };
    if (app.orgDirectory.isSuspended(e.org_id)) return { res: unavailable(c) };
    // Only passcode events have a grant cookie to read; the others skip the cookie parse.
    const grant = e.access_mode === 'passcode' ? getCookie(c, grantCookie(e)) : undefined;
    if (!app.events.hasAccess(e, grant)) return { res: renderBranded(c, app.branding.forOrg(e.org_id), e.title, <PasscodePage e={e} action={`/e/${e.slug}/passcode`} csrf={c.get('csrfToken')} />, 401) };
    return { e };
  };

  const eventPage = async (c: C, e: EventRow, extra: { values?: Record<string, string | string[]>; errors?: Record<string, string>; message?: string } = {}, status: 200 | 400 | 409 | 422 | 429 = 200, stamp?: Stamp) => {
    const app = c.get('app');
    const open = app.registrations.registrationOpen(e);
    // Shared bytes must hold nothing of this visitor (an anonymous form needs no token).
    if (stamp) c.set('csrfToken', '');
    const org = app.orgs.byId(e.org_id);
    const brand = org && app.branding.publicBrand(org);
    const notice = app.notices.current(e).notice;
    const res = await renderBranded(c, brand, e.title, <EventPage e={e} descriptionHtml={description(descriptionCache, e)} fields={app.events.fields(e)} seatsLeft={app.registrations.seatsLeft(e)} open={open} erasure={app.retention.schedule(e.org_id, e.id)} csrf={c.get('csrfToken')} notice={notice} privacyLink={org ? `/o/${org.slug}/privacy` : undefined} {...extra} />, status);
    if (stamp) pages.put(e.slug, { e, open: openState(open), bytes: new Uint8Array(await res.clone().arrayBuffer()) }, stamp);
    return res;
  };

  r.get('/o/:orgSlug', { kind: 'public' }, (c) => {
    const app = c.get('app');
    const org = app.orgs.bySlug(c.req.param('orgSlug') ?? '');
    if (!org) return errorResponse(c, 404, 'Not found', 'There is no organization at this address.');
    if (app.orgDirectory.isSuspended(org.id)) return unavailable(c);
    return renderBranded(c, app.branding.publicBrand(org), org.name, <OrgPublicPage name={org.name} events={app.events.publicEvents(org.id)} />);
  });

  r.get('/e/:slug', { kind: 'public' }, (c) => {
    const anonymous = !c.get('user');
    if (anonymous) {
      const hit = pages.peek(c.req.param('slug') ?? '');
      if (hit && hit.open === openState(c.get('app').registrations.registrationOpen(hit.e))) return c.body(hit.bytes, 200, HTML);
    }
    // Taken before anything the page shows is read: a write in between makes the copy stale.
    const stamp = anonymous ? pages.stamp() : undefined;
    const v = visible(c);
    if ('res' in v) return v.res;
    // A passcode event's page is only for browsers holding a grant: never shared.
    return eventPage(c, v.e, {}, 200, v.e.access_mode === 'passcode' ? undefined : stamp);
  });

  r.get('/e/:slug/event.ics', { kind: 'public' }, (c) => {
    const v = visible(c);
    if ('res' in v) return v.res;
    const app = c.get('app');
    return c.body(eventIcs(v.e, `${app.baseUrl()}/e/${v.e.slug}`, new Date(app.now())), 200, {
      'Content-Type': 'text/calendar; charset=utf-8',
      'Content-Disposition': `attachment; filename="${v.e.slug}.ics"`,
    });
  });

  r.post('/e/:slug/passcode', { kind: 'public' }, async (c) => {
    const app = c.get('app');
    const e = app.events.publicEvent(c.req.param('slug') ?? '');
    if (!e) return notFound(c);
    if (app.orgDirectory.isSuspended(e.org_id)) return unavailable(c);
    const body = z.object({ passcode: z.string().max(200).default('') }).safeParse(await answerFormBody(c));
    const res = await app.events.tryPasscode(e, body.success ? body.data.passcode : '', auditCtx(c, e.org_id));
    if (!res.ok) {
      if (res.retryAfterMs) c.header('Retry-After', String(Math.ceil(res.retryAfterMs / 1000)));
      return renderBranded(c, app.branding.forOrg(e.org_id), e.title, <PasscodePage e={e} action={`/e/${e.slug}/passcode`} message={res.message} csrf={c.get('csrfToken')} />, res.error === 'throttled' ? 429 : 401);
    }
    setCookie(c, grantCookie(e), res.grant, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: 12 * 3600 });
    return c.redirect(`/e/${e.slug}`, 303);
  });

  const noShareLink = (c: C) => errorResponse(c, 404, 'Link not valid', 'This share link does not exist, has expired, or was revoked. Ask the organizer for a new one.');
  const sharePage = (c: C, e: EventRow, message?: string, status: 200 | 401 | 429 = 200) =>
    renderBranded(c, c.get('app').branding.forOrg(e.org_id), e.title, <PasscodePage e={e} action={SHARE} label="Password for this link" message={message} csrf={c.get('csrfToken')} />, status);
  const sharedLink = (c: C) => {
    const token = readLinkCookie(c, 'share');
    return token ? c.get('app').events.findShareLink(token) : undefined;
  };

  // The share link: swap its token for a short-lived cookie and show the password form at a
  // clean address, so the link is not left in the history or sent on as a Referer.
  r.get('/s/:token', { kind: 'public' }, (c) => {
    const token = c.req.param('token') ?? '';
    const found = c.get('app').events.findShareLink(token);
    if (!found) return noShareLink(c);
    if (orgSuspended(c, found.event.org_id)) return unavailable(c);
    setLinkCookie(c, 'share', token);
    return c.redirect(SHARE, 303);
  });

  r.get(SHARE, { kind: 'public' }, (c) => {
    const found = sharedLink(c);
    if (!found) return noShareLink(c);
    return orgSuspended(c, found.event.org_id) ? unavailable(c) : sharePage(c, found.event);
  });

  r.post(SHARE, { kind: 'public' }, async (c) => {
    const app = c.get('app');
    const found = sharedLink(c);
    if (!found) return noShareLink(c);
    if (orgSuspended(c, found.event.org_id)) return unavailable(c);
    const body = z.object({ passcode: z.string().max(200).default('') }).safeParse(await answerFormBody(c));
    const res = await app.events.tryShareLink(found.link, found.event, body.success ? body.data.passcode : '', auditCtx(c, found.event.org_id));
    if (!res.ok) {
      if (res.retryAfterMs) c.header('Retry-After', String(Math.ceil(res.retryAfterMs / 1000)));
      return sharePage(c, found.event, res.message, res.error === 'throttled' ? 429 : 401);
    }
    clearLinkCookie(c, 'share');
    setCookie(c, grantCookie(found.event), res.grant, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: 12 * 3600 });
    return c.redirect(`/e/${found.event.slug}`, 303);
  });

  /** The answer to a registration, direct or collected from the queue. */
  const registrationAnswer = (c: C, e: EventRow, raw: Record<string, unknown>, res: RegisterResult | Abandoned) => {
    const app = c.get('app');
    if (!res.ok) {
      // Abandoned: the person left before their turn; whatever we send, nobody reads it.
      const status = res.error === 'invalid' ? 422 : res.error === 'throttled' ? 429 : res.error === 'duplicate' || res.error === 'full' ? 409 : 400;
      if ('retryAfterMs' in res && res.retryAfterMs) c.header('Retry-After', retryAfterSeconds(res.retryAfterMs));
      const message = res.error === 'abandoned' ? 'Nothing was saved.' : res.message;
      return eventPage(c, e, { values: asValues(raw), errors: ('errors' in res && res.errors) || {}, message }, status);
    }
    // Unless the organizer chose convenience over discretion, nothing on the page depends on
    // whether the address was new: the ticket and links travel only by email.
    if (!e.show_ticket) return sentPage(c, e);
    const manage = app.links.managePath(res.reg);
    if (!c.get('user')) return confirmationFromFrame(confirmationFrames, c, e, res.reg, manage);
    return renderBranded(c, app.branding.forOrg(e.org_id), 'Registration', <ConfirmationPage e={e} reg={res.reg} qrSrc={res.reg.status === 'confirmed' ? `${manage}/ticket.svg` : null} manageUrl={manage} />, 201);
  };

  const queuePage = (c: C, e: EventRow, place: Place) => {
    c.header('Refresh', String(place.refreshSeconds));
    c.header('Cache-Control', 'no-store');
    return renderBranded(c, c.get('app').branding.forOrg(e.org_id), `In the queue: ${e.title}`, <QueuePage e={e} place={place} />, 202);
  };

  r.post('/e/:slug/register', { kind: 'public' }, async (c) => {
    const v = visible(c);
    if ('res' in v) return v.res;
    const app = c.get('app');
    const raw = await answerFormBody(c);
    const admission = await app.registrationQueue.register(v.e, raw, auditCtx(c, v.e.org_id), c.req.raw.signal);
    if (admission.kind !== 'queued') return registrationAnswer(c, v.e, raw, admission.result);
    setCookie(c, queueCookie(v.e), admission.ticket, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: 3600 });
    return queuePage(c, v.e, admission.place);
  });

  r.get('/e/:slug/queue', { kind: 'public' }, (c) => {
    const v = visible(c);
    if ('res' in v) return v.res;
    const ticket = getCookie(c, queueCookie(v.e));
    const status = ticket ? c.get('app').registrationQueue.status(ticket) : ({ state: 'gone' } as const);
    if (status.state === 'gone' || status.eventId !== v.e.id) return renderBranded(c, c.get('app').branding.forOrg(v.e.org_id), v.e.title, <QueueGonePage e={v.e} />, 404);
    if (status.state === 'waiting') return queuePage(c, v.e, status.place);
    deleteCookie(c, queueCookie(v.e), { path: '/', secure: true });
    return registrationAnswer(c, v.e, status.values, status.result);
  });

  return app;
}
