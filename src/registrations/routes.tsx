/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { type C, EV, actx, can, noControl, noReg, org, regOr404, wantsPartial, withEvent, withRegistration } from './route-helpers.tsx';
import { AttendeeDetailPage } from '../../views/registrations/detail.tsx';
import { HoldsSection } from '../../views/privacy/retention.tsx';
import { formValuesOf } from '../../views/registrations/answers.tsx';
import { AttendeeResults, AttendeesPage } from '../../views/registrations/list.tsx';
import { MessagePage } from '../../views/registrations/message.tsx';
import { type AnswerFilterGroup, type ListState, eventBase, listQuery, statuses } from '../../views/registrations/shared.tsx';
import type { FlashMsg } from '../../views/components/flash.tsx';
import type { RouteTable } from '../http/route-permissions.ts';
import { errorResponse } from '../http/error-page.tsx';
import { parseForm } from '../http/forms.ts';
import { requireRecentAuth } from '../http/reauth.ts';
import { render } from '../http/render.tsx';
import type { AppEnv } from '../http/types.ts';
import { fieldOptions } from '../events/fields.ts';
import { loadEvent } from '../events/load.ts';
import type { EventRow, FieldRow } from '../events/repo.ts';
import { type RevealReason, revealReasons } from './attendees.ts';
import { chosenListColumns } from './column-routes.tsx';
import { exportFileName, streamCsv, streamJson } from './export.ts';
import type { AttendeeFilter, RegistrationRow } from './repo.ts';
import { attendeeAccesses } from '../audit/attendee-accesses.tsx';

const PAGE_SIZE = 50;
const statusSchema = z.enum(statuses as [RegistrationRow['status'], ...RegistrationRow['status'][]]);

/** The list filter from a query string or hidden fields; anything malformed falls back to "any". */
const filterSchema = z.object({
  q: z.string().trim().max(100).refine(noControl).catch(''),
  status: z.union([statusSchema, z.literal('')]).catch(''),
  checked: z.enum(['', 'yes', 'no']).catch(''),
  answer: z.string().max(300).catch(''),
});
const pageSchema = z.coerce.number().int().min(1).max(1_000_000).catch(1);

/** Select and checkbox fields can be filtered on; sensitive ones cannot (a filter would disclose them). */
const filterable = (fields: FieldRow[]) => fields.filter((f) => !f.builtin && !f.sensitive && (f.type === 'single_select' || f.type === 'multi_select' || f.type === 'checkbox'));

function answerFilterGroups(fields: FieldRow[]): AnswerFilterGroup[] {
  return filterable(fields).map((f) => ({
    label: f.label,
    options: f.type === 'checkbox' ? [{ value: `${f.key}:yes`, label: `${f.label}: yes` }, { value: `${f.key}:no`, label: `${f.label}: no` }] : fieldOptions(f).map((o) => ({ value: `${f.key}:${o}`, label: o })),
  }));
}

/** The validated list state and the repository filter it stands for. */
function readFilter(input: Record<string, unknown>, fields: FieldRow[]): { state: ListState; filter: AttendeeFilter } {
  const state: ListState = filterSchema.parse(input);
  const filter: AttendeeFilter = {};
  if (state.q) filter.q = state.q;
  if (state.status) filter.status = state.status;
  if (state.checked) filter.checkedIn = state.checked === 'yes';
  if (state.answer) {
    const i = state.answer.indexOf(':');
    const key = state.answer.slice(0, i);
    const value = state.answer.slice(i + 1);
    const f = i > 0 ? filterable(fields).find((x) => x.key === key) : undefined;
    if (f?.type === 'checkbox' && (value === 'yes' || value === 'no')) filter.answer = { key, value: value === 'yes' ? 1 : 0 };
    else if (f && fieldOptions(f).includes(value)) filter.answer = { key, value };
    else state.answer = '';
  }
  return { state, filter };
}

/** The filter for the audit trail: its shape, never the search text (which may be a name). */
const auditFilter = (s: ListState) => ({ status: s.status || null, checked: s.checked || null, search: s.q !== '', answer: s.answer || null });

function describeFilter(s: ListState): string {
  const parts: string[] = [];
  if (s.status) parts.push(`status ${s.status}`);
  if (s.checked) parts.push(s.checked === 'yes' ? 'checked in' : 'not checked in');
  if (s.answer) parts.push(`answer ${s.answer.replace(':', ' = ')}`);
  if (s.q) parts.push(`matching “${s.q}”`);
  return parts.length ? parts.join(', ') : 'all attendees';
}


const detailFlashes: Record<string, FlashMsg> = {
  saved: { kind: 'ok', text: 'Changes saved.' },
  cancelled: { kind: 'ok', text: 'Registration cancelled. The attendee was emailed; a waiting-list seat was offered if one was freed.' },
  resent: { kind: 'ok', text: 'Email queued again.' },
  held: { kind: 'ok', text: 'Hold placed: retention and erasure requests skip this registration until the hold ends.' },
  released: { kind: 'ok', text: 'Hold released.' },
  'consent-withdrawn': { kind: 'ok', text: "Consent withdrawn at the attendee's request; the record shows who did it and when." },
};

/** Attendee list, detail, edit, bulk message and exports of one event (the check-in desk: checkin-routes.tsx). */
export function attendeeRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  // ---- list ------------------------------------------------------------------------------------

  /**
   * The list page, or its htmx part, for a filter. The search text (a name, an address) comes
   * only from a POST body, never from the address: it would stay in the history, proxy logs and
   * the Referer (ASVS V14.2.1). The other filters hold no personal data and stay linkable.
   */
  const listPage = (c: C, e: EventRow, input: Record<string, unknown>, flash?: FlashMsg) => {
    const ctx = c.get('app');
    const fields = ctx.events.fields(e);
    const { state, filter } = readFilter(input, fields);
    const { rows, total, page } = ctx.attendees.list(e, filter, pageSchema.parse(input.page), PAGE_SIZE, actx(c), auditFilter(state));
    const columns = chosenListColumns(c, e, fields);
    const results = { org: c.get('org'), event: e, fields, rows, total, page, pageSize: PAGE_SIZE, state, canWrite: can(c, 'attendees.write'), csrf: c.get('csrfToken') ?? '', columns };
    c.header('Vary', 'HX-Request');
    if (wantsPartial(c)) {
      // The address follows the filter, except for the search text, which never goes in one.
      c.header('HX-Push-Url', `${eventBase(c.get('org'), e)}/attendees${listQuery(state, page)}`);
      return c.html(<AttendeeResults {...results} />);
    }
    const c0 = ctx.attendees.counts(e);
    return render(c, `Attendees · ${e.title}`, <AttendeesPage {...results} counts={{ ...c0, capacity: e.capacity }} answerFilters={answerFilterGroups(fields)} canExport={can(c, 'attendees.export')} flash={flash} />);
  };

  r.get(`${EV}/attendees`, org('attendees.read'), (c) =>
    withEvent(c, (e) => {
      const done = c.req.query('done');
      const n = z.coerce.number().int().min(0).catch(0).parse(c.req.query('n'));
      const flash: FlashMsg | undefined =
        done === 'messaged' ? { kind: 'ok', text: `Message queued for ${n} attendee${n === 1 ? '' : 's'}.` } : done === 'columns' ? { kind: 'ok', text: 'Columns saved.' } : undefined;
      return listPage(c, e, { ...c.req.query(), q: '' }, flash);
    }),
  );

  r.post(`${EV}/attendees`, org('attendees.read'), async (c) => {
    const form = await parseForm(c, z.object({}).loose());
    return withEvent(c, (e) => listPage(c, e, form.ok ? form.data : form.values));
  });

  // ---- bulk message (before `:regId`, which would otherwise match "message") ----------------------

  const messagePage = (c: C, e: EventRow, state: ListState, filter: AttendeeFilter, extra: { flash?: FlashMsg; errors?: Record<string, string>; values?: Record<string, string> } = {}, status: ContentfulStatusCode = 200) =>
    render(
      c,
      `Message attendees · ${e.title}`,
      <MessagePage csrf={c.get('csrfToken')} org={c.get('org')} event={e} state={state} filterSummary={describeFilter(state)} recipients={c.get('app').attendees.recipientCount(e, filter)} {...extra} />,
      status,
    );

  r.get(`${EV}/attendees/message`, org('attendees.write'), (c) =>
    withEvent(c, (e) => {
      const { state, filter } = readFilter({ ...c.req.query(), q: '' }, c.get('app').events.fields(e));
      return messagePage(c, e, state, filter);
    }),
  );

  r.post(`${EV}/attendees/message`, org('attendees.write'), async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    const ctx = c.get('app');
    const form = await parseForm(
      c,
      z
        .object({
          subject: z.string().trim().min(1, 'Enter a subject.').max(200, 'At most 200 characters.').refine(noControl, 'Contains characters that are not allowed.'),
          body: z
            .string()
            .trim()
            .min(1, 'Enter the message.')
            .max(5000, 'At most 5000 characters.')
            .refine((v) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(v), 'Contains characters that are not allowed.'),
        })
        .loose(),
    );
    const body = form.ok ? form.data : form.values;
    const { state, filter } = readFilter(body as Record<string, unknown>, ctx.events.fields(e));
    // From the list with a search: open the form for that filter (the search stays in the body).
    if (body.compose === '1') return messagePage(c, e, state, filter);
    if (!form.ok) return messagePage(c, e, state, filter, { errors: form.errors, values: form.values }, 400);
    const values = { subject: form.data.subject, body: form.data.body };
    const outcome = ctx.attendees.message(e, filter, form.data.subject, form.data.body, actx(c));
    if (!outcome.ok) {
      if (outcome.error === 'throttled') c.header('Retry-After', String(outcome.retryAfterS));
      return messagePage(c, e, state, filter, { flash: { kind: 'error', text: outcome.message }, values }, outcome.error === 'throttled' ? 429 : 400);
    }
    const back = new URLSearchParams(listQuery(state));
    back.set('done', 'messaged');
    back.set('n', String(outcome.n));
    return c.redirect(`${eventBase(c.get('org'), e)}/attendees?${back.toString()}`, 303);
  });

  // ---- exports -----------------------------------------------------------------------------------

  for (const format of ['csv', 'json'] as const) {
    r.get(`${EV}/attendees/export.${format}`, org('attendees.export'), (c) =>
      withEvent(c, (e) => {
        const ctx = c.get('app');
        const fields = ctx.events.fields(e);
        const chosen = c.req.query('choose') === '1' ? [...new Set(c.req.queries('fields') ?? [])] : null;
        const unknown = (chosen ?? []).filter((k) => !fields.some((f) => f.key === k));
        if (unknown.length > 0) return errorResponse(c, 400, 'Unknown field', `This event's form has no field named ${unknown.slice(0, 3).join(', ')}.`);
        const statusQ = c.req.query('status') ?? '';
        const status = statusQ === '' ? undefined : statusSchema.safeParse(statusQ).data;
        if (statusQ !== '' && !status) return errorResponse(c, 400, 'Unknown status', 'Choose one of the listed statuses.');
        const fieldSensitive = (chosen ?? []).some((k) => fields.find((f) => f.key === k)?.sensitive === 1);
        if (fieldSensitive) {
          // Taking sensitive answers out of the system in bulk needs a freshly confirmed identity.
          const redirect = requireRecentAuth(c, `${c.req.path}?${new URL(c.req.url).searchParams.toString()}`);
          if (redirect) return redirect;
        }
        const { columns: cols, rows } = ctx.attendees.export(e, fields, { chosen, status, format }, actx(c));
        c.header('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8');
        c.header('Content-Disposition', `attachment; filename="${exportFileName(e, format, ctx.now())}"`);
        c.header('Cache-Control', 'no-store');
        return stream(
          c,
          async (s) => {
            const write = format === 'csv' ? streamCsv(cols, rows()) : streamJson(cols, rows());
            for (const chunk of write) {
              if (s.aborted) return;
              await s.write(chunk);
            }
          },
          async (err) => {
            ctx.log.error({ requestId: c.get('requestId'), err }, 'attendee export failed mid-stream');
          },
        );
      }),
    );
  }

  // ---- detail, edit, cancel, resend ------------------------------------------------------------------

  const detailPage = (c: C, e: EventRow, reg: RegistrationRow, reveal: boolean, extra: { flash?: FlashMsg | undefined; errors?: Record<string, string>; values?: Record<string, string | string[]> } = {}, status: ContentfulStatusCode = 200) =>
    render(
      c,
      `${reg.name || reg.attendee_code} · ${e.title}`,
      <AttendeeDetailPage
        csrf={c.get('csrfToken')}
        org={c.get('org')}
        event={e}
        fields={c.get('app').events.fields(e)}
        reg={reg}
        reveal={reveal}
        canWrite={can(c, 'attendees.write')}
        accesses={can(c, 'audit.read') ? attendeeAccesses(c.get('app'), c.get('org'), reg) : undefined}
        holds={<HoldsSection csrf={c.get('csrfToken')} holds={c.get('app').holds.list(e.org_id, reg.id)} action={`/orgs/${c.get('org').slug}/events/${e.id}/attendees/${reg.id}/holds`} canWrite={can(c, 'attendees.write')} erased={reg.erased_at !== null} />}
        {...extra}
      />,
      status,
    );

  /** Viewing the record is audited; revealing its sensitive answers is a second, separate entry with its reason. */
  const auditedView = (c: C, e: EventRow, reveal: RevealReason | null): RegistrationRow | undefined => {
    const ctx = c.get('app');
    const fields = ctx.events
      .fields(e)
      .filter((f) => f.sensitive && !f.builtin)
      .map((f) => f.key);
    return regOr404(c, (id) => ctx.attendees.view(e, id, actx(c), reveal ? { fields, reason: reveal } : undefined));
  };

  r.get(`${EV}/attendees/:regId`, org('attendees.read'), (c) =>
    withEvent(c, (e) => {
      const reg = auditedView(c, e, null);
      if (!reg) return noReg(c);
      return detailPage(c, e, reg, false, { flash: detailFlashes[c.req.query('done') ?? ''] });
    }),
  );

  // Revealing is a POST with a reason: a link (GET) could be followed by a crawler, a prefetch or
  // another site, and would leave the reveal unexplained.
  const reasonSchema = z.object({ reason: z.enum(Object.keys(revealReasons).filter((k) => k !== 'editing') as [RevealReason, ...RevealReason[]], 'Choose why you need to see the sensitive answers.') });
  r.post(`${EV}/attendees/:regId/reveal`, org('attendees.read'), async (c) => {
    const form = await parseForm(c, reasonSchema.loose());
    return withEvent(c, (e) => {
      if (!form.ok) {
        const reg = auditedView(c, e, null);
        return reg ? detailPage(c, e, reg, false, { flash: { kind: 'error', text: form.errors.reason ?? 'Choose a reason.' } }, 400) : noReg(c);
      }
      const reg = auditedView(c, e, form.data.reason);
      return reg ? detailPage(c, e, reg, true) : noReg(c);
    });
  });

  r.post(`${EV}/attendees/:regId`, org('attendees.write'), (c) =>
    withRegistration(c, async (e, reg) => {
      const ctx = c.get('app');
      const body = await c.req.parseBody({ all: true });
      const revealed = body._revealed === '1';
      const raw: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(body)) {
        if (k === '_csrf' || k === '_keep_sensitive' || k === '_revealed') continue;
        if (typeof v === 'string') raw[k] = v;
        else if (Array.isArray(v)) raw[k] = v.filter((x): x is string => typeof x === 'string');
      }
      // A masked form never carried the sensitive answers: keep the stored ones rather than erase them.
      if (body._keep_sensitive === '1') {
        const stored = formValuesOf(ctx.events.fields(e), reg);
        for (const f of ctx.events.fields(e)) if (f.sensitive && !f.builtin && !(f.key in raw) && stored[f.key] !== undefined) raw[f.key] = stored[f.key]!;
      }
      const res = ctx.registrations.updateAnswers(e, reg, raw, actx(c), 'organizer');
      if (!res.ok) {
        // The form came from a revealed page: show it revealed again, so nothing typed is lost (audited as editing).
        const viewed = auditedView(c, e, revealed ? 'editing' : null) ?? reg;
        return detailPage(c, e, viewed, revealed, { flash: { kind: 'error', text: res.message }, errors: res.errors ?? {}, values: raw }, 400);
      }
      return c.redirect(`${eventBase(c.get('org'), e)}/attendees/${reg.id}?done=saved`, 303);
    }),
  );

  r.post(`${EV}/attendees/:regId/withdraw-consent`, org('attendees.write'), async (c) => {
    const form = await parseForm(c, z.object({ field: z.string().max(40) }).loose());
    return withRegistration(c, (e, reg) => {
      const res = form.ok ? c.get('app').registrations.withdrawConsent(e, reg, form.data.field, actx(c)) : { ok: false as const, message: 'Choose a consent to withdraw.' };
      if (!res.ok) return detailPage(c, e, auditedView(c, e, null) ?? reg, false, { flash: { kind: 'error', text: res.message } }, 409);
      return c.redirect(`${eventBase(c.get('org'), e)}/attendees/${reg.id}?done=consent-withdrawn`, 303);
    });
  });

  r.post(`${EV}/attendees/:regId/cancel`, org('attendees.write'), (c) =>
    withRegistration(c, (e, reg) => {
      const ctx = c.get('app');
      const res = ctx.registrations.cancel(e, reg, actx(c), 'organizer');
      if (!res.ok) return detailPage(c, e, auditedView(c, e, null) ?? reg, false, { flash: { kind: 'error', text: res.message } }, 409);
      return c.redirect(`${eventBase(c.get('org'), e)}/attendees/${reg.id}?done=cancelled`, 303);
    }),
  );

  r.post(`${EV}/attendees/:regId/resend`, org('attendees.write'), (c) =>
    withRegistration(c, (e, reg) => {
      const ctx = c.get('app');
      ctx.registrations.resend(e, reg, actx(c));
      return c.redirect(`${eventBase(c.get('org'), e)}/attendees/${reg.id}?done=resent`, 303);
    }),
  );

  return app;
}
