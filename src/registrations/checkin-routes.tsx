/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { CheckinCard, CheckinCounts, CheckinCountsOob, CheckinPage, CheckinResults } from '../../views/registrations/checkin.tsx';
import { eventBase } from '../../views/registrations/shared.tsx';
import type { FlashMsg } from '../../views/components/flash.tsx';
import { type RouteTable, isHtmx } from '../http/route-permissions.ts';
import { parseForm } from '../http/forms.ts';
import { render } from '../http/render.tsx';
import type { AppEnv } from '../http/types.ts';
import type { EventRow } from '../events/repo.ts';
import { type C, EV, UUID, actx, can, noControl, org, wantsPartial, withEvent, withRegistration } from './route-helpers.tsx';

/** The check-in desk of one event: look up by code or name, check in, undo, live counts. */
export function checkinRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  const qSchema = z.string().trim().max(200).refine(noControl).catch('');
  const lookupCards = (c: C, e: EventRow, q: string) => {
    const attendees = c.get('app').attendees;
    return q ? attendees.lookup(e, q).map((reg) => attendees.card(reg)) : [];
  };
  const checkinCounts = (c: C, e: EventRow) => {
    const n = c.get('app').attendees.counts(e);
    return { checkedIn: n.checkedIn, confirmed: n.confirmed };
  };
  const checkinPage = (c: C, e: EventRow, q: string, message?: { id: string; flash: FlashMsg }, status: ContentfulStatusCode = 200) =>
    render(
      c,
      `Check-in · ${e.title}`,
      <CheckinPage csrf={c.get('csrfToken')} org={c.get('org')} event={e} canList={can(c, 'attendees.read')} q={q} results={lookupCards(c, e, q)} counts={checkinCounts(c, e)} message={message} />,
      status,
    );

  // Searches POST: a name typed at the desk must not stay in the address, the history or a proxy
  // log (ASVS V14.2.1). After a check-in without JavaScript the page comes back by registration
  // id, an internal identifier.
  r.get(`${EV}/checkin`, org('checkin.perform'), (c) =>
    withEvent(c, (e) => {
      const done = c.req.query('done');
      const id = c.req.query('reg') ?? '';
      const reg = UUID.test(id) ? c.get('app').attendees.get(e, id) : undefined;
      if (!reg) return checkinPage(c, e, '');
      const message = done === 'in' || done === 'undone' ? { id, flash: { kind: 'ok' as const, text: done === 'in' ? 'Checked in.' : 'Check-in undone.' } } : undefined;
      return checkinPage(c, e, reg.attendee_code, message);
    }),
  );

  const searchBody = async (c: C) => {
    const form = await parseForm(c, z.object({ q: z.string().optional() }).loose());
    return qSchema.parse(form.ok ? form.data.q : '');
  };

  r.post(`${EV}/checkin`, org('checkin.perform'), async (c) => {
    const q = await searchBody(c);
    return withEvent(c, (e) => checkinPage(c, e, q));
  });

  r.post(`${EV}/checkin/lookup`, org('checkin.perform'), async (c) => {
    const q = await searchBody(c);
    return withEvent(c, (e) => c.html(<CheckinResults org={c.get('org')} event={e} results={lookupCards(c, e, q)} csrf={c.get('csrfToken')} q={q} />));
  });

  // A fragment for the htmx poll; opened as a page (a bookmark, a pasted address) it is the whole check-in page, counts included.
  r.get(`${EV}/checkin/counts`, org('checkin.perform'), (c) =>
    withEvent(c, (e) => (isHtmx(c) ? c.html(<CheckinCounts {...checkinCounts(c, e)} />) : checkinPage(c, e, ''))),
  );

  for (const undo of [false, true]) {
    r.post(`${EV}/checkin/:regId${undo ? '/undo' : ''}`, org('checkin.perform'), (c) =>
      withRegistration(c, async (e, reg) => {
        const ctx = c.get('app');
        const form = await parseForm(c, z.object({ q: z.string().optional() }).loose());
        const q = qSchema.parse(form.ok ? form.data.q : '');
        const res = ctx.attendees.checkIn(e, reg.id, undo, actx(c));
        const after = ctx.attendees.get(e, reg.id) ?? reg;
        const flash: FlashMsg = res.ok ? { kind: 'ok', text: undo ? 'Check-in undone.' : `Checked in: ${after.name || after.attendee_code}.` } : { kind: 'error', text: res.message };
        if (wantsPartial(c)) {
          return c.html(
            <>
              <CheckinCard org={c.get('org')} event={e} card={ctx.attendees.card(after)} csrf={c.get('csrfToken')} q={q} message={flash} />
              <CheckinCountsOob {...checkinCounts(c, e)} />
            </>,
            res.ok ? 200 : 409,
          );
        }
        if (!res.ok) return checkinPage(c, e, q || reg.attendee_code, { id: reg.id, flash }, 409);
        const back = new URLSearchParams({ done: undo ? 'undone' : 'in', reg: reg.id });
        return c.redirect(`${eventBase(c.get('org'), e)}/checkin?${back.toString()}`, 303);
      }),
    );
  }

  return app;
}
