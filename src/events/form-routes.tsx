/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { FieldEditPage, FieldList, FormBuilderPage } from '../../views/events/form-builder.tsx';
import type { FlashMsg } from '../../views/components/flash.tsx';
import { isHtmx, type RouteTable } from '../http/route-permissions.ts';
import { errorResponse } from '../http/error-page.tsx';
import { CONTROL_CHARS, type FieldErrors, parseForm } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import { render } from '../http/render.tsx';
import type { AppEnv } from '../http/types.ts';
import { roleHas } from '../orgs/permissions.ts';
import { fieldTypes, selectTypes } from './fields.ts';
import { loadEvent } from './load.ts';
import type { EventRow, FieldRow, FieldType } from './repo.ts';
import type { FieldInput } from './service.ts';
import { type C, type Values, asValues, checkbox, eventUrl, line, multiline, read, roleOf, text, uuid, write, bad } from './route-helpers.ts';

const fieldTypeNames = Object.keys(fieldTypes) as [FieldType, ...FieldType[]];

const fieldSchema = z.object({
  label: text(200),
  help: line(500),
  required: checkbox,
  options: z.string().max(5000, 'At most 5000 characters.').default(''),
  personal: checkbox,
  sensitive: checkbox,
  purpose: line(300),
  consent_text: multiline(2000),
});

/** One option per line: trimmed, empty lines dropped, duplicates and overlong ones refused. */
function parseOptions(raw: string): { ok: true; options: string[] } | { ok: false; message: string } {
  const options = raw
    .split(/\r?\n/)
    .map((o) => o.trim())
    .filter((o) => o !== '');
  if (options.some((o) => o.length > 200)) return { ok: false, message: 'Each option can have at most 200 characters.' };
  if (options.some((o) => CONTROL_CHARS.test(o))) return { ok: false, message: bad };
  if (new Set(options).size !== options.length) return { ok: false, message: 'Each option may appear only once.' };
  if (options.length > 50) return { ok: false, message: 'At most 50 options.' };
  return { ok: true, options };
}

/** Field input for the service, or errors; the option and consent rules depend on the type. */
function fieldInput(type: FieldType, d: z.output<typeof fieldSchema>): { ok: true; input: FieldInput } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  let options: string[] = [];
  if (selectTypes.includes(type)) {
    const o = parseOptions(d.options);
    if (!o.ok) errors.options = o.message;
    else if (o.options.length < 2) errors.options = 'A choice field needs at least two options, one per line.';
    else options = o.options;
  }
  if (type === 'consent' && d.consent_text === '') errors.consent_text = 'Write what the attendee consents to.';
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    input: {
      type,
      label: d.label,
      help: d.help,
      required: d.required,
      options,
      // Sensitive data is personal data by definition.
      personal: d.personal || d.sensitive,
      sensitive: d.sensitive,
      purpose: d.purpose,
      consent_text: type === 'consent' ? d.consent_text : '',
    },
  };
}

const fieldValues = (f: FieldRow): Values => ({
  label: f.label,
  help: f.help,
  required: f.required ? 'on' : '',
  options: (JSON.parse(f.options) as string[]).join('\n'),
  personal: f.personal ? 'on' : '',
  sensitive: f.sensitive ? 'on' : '',
  purpose: f.purpose,
  consent_text: f.consent_text,
});

/** The registration form builder of an event: fields added, edited, removed and moved. */
export function eventFormRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  // ---- registration form builder ------------------------------------------------------------------------------

  const builderPage = (c: C, e: EventRow, extra: { flash?: FlashMsg; errors?: FieldErrors; values?: Values } = {}, status: ContentfulStatusCode = 200) => {
    const flashes: Record<string, string> = { added: 'Field added.', saved: 'Field saved.', removed: 'Field removed.', moved: 'Field moved.' };
    const done = c.req.query('done') ?? '';
    const flash = extra.flash ?? (flashes[done] ? ({ kind: 'ok', text: flashes[done] } as const) : undefined);
    return render(
      c,
      `Registration form · ${e.title}`,
      <FormBuilderPage csrf={c.get('csrfToken')} org={c.get('org')} role={roleOf(c)} e={e} fields={c.get('app').events.fields(e)} canWrite={roleHas(roleOf(c), 'events.write')} flash={flash} errors={extra.errors} values={extra.values} />,
      status,
    );
  };
  const fieldsUrl = (c: C, e: EventRow) => `${eventUrl(c, e)}/form/fields`;

  /** htmx asked for the list only; a plain form gets the whole page (errors) or a redirect. */
  const afterListChange = (c: C, e: EventRow, outcome: { ok: true; done: string } | { ok: false; message: string; status: ContentfulStatusCode }) => {
    if (isHtmx(c)) {
      const flash: FlashMsg = outcome.ok ? { kind: 'ok', text: outcome.done === 'removed' ? 'Field removed.' : 'Field moved.' } : { kind: 'error', text: outcome.message };
      return c.html(<FieldList csrf={c.get('csrfToken')} base={fieldsUrl(c, e)} fields={c.get('app').events.fields(e)} canWrite flash={flash} />, outcome.ok ? 200 : outcome.status);
    }
    if (!outcome.ok) return builderPage(c, e, { flash: { kind: 'error', text: outcome.message } }, outcome.status);
    return c.redirect(`${eventUrl(c, e)}/form?done=${outcome.done}`, 303);
  };

  const loadField = (c: C, e: EventRow): FieldRow | undefined => {
    const id = c.req.param('fieldId') ?? '';
    return uuid.test(id) ? c.get('app').events.field(e, id) : undefined;
  };
  const noField = (c: C) => errorResponse(c, 404, 'Field not found', 'This registration form has no such field.');

  r.get('/orgs/:orgSlug/events/:eventId/form', read, (c) => {
    const l = loadEvent(c);
    return 'response' in l ? l.response : builderPage(c, l.event);
  });

  r.post('/orgs/:orgSlug/events/:eventId/form/fields', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    const form = await parseForm(c, fieldSchema.extend({ type: z.enum(fieldTypeNames, 'Choose a field type from the list.') }));
    if (!form.ok) return builderPage(c, e, { errors: form.errors, values: form.values }, 400);
    const input = fieldInput(form.data.type, form.data);
    if (!input.ok) return builderPage(c, e, { errors: input.errors, values: asValues(form.data) }, 400);
    const res = c.get('app').events.addField(e, input.input, auditCtx(c, e.org_id));
    if (!res.ok) return builderPage(c, e, { errors: res.error === 'options' ? { options: res.message } : { label: res.message }, values: asValues(form.data) }, 409);
    return c.redirect(`${eventUrl(c, e)}/form?done=added`, 303);
  });

  r.get('/orgs/:orgSlug/events/:eventId/form/fields/:fieldId', write, (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const field = loadField(c, l.event);
    if (!field) return noField(c);
    return render(c, `Edit field · ${l.event.title}`, <FieldEditPage csrf={c.get('csrfToken')} org={c.get('org')} role={roleOf(c)} e={l.event} field={field} values={fieldValues(field)} />);
  });

  r.post('/orgs/:orgSlug/events/:eventId/form/fields/:fieldId', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    const field = loadField(c, e);
    if (!field) return noField(c);
    const page = (errors: FieldErrors, values: Values) => render(c, `Edit field · ${e.title}`, <FieldEditPage csrf={c.get('csrfToken')} org={c.get('org')} role={roleOf(c)} e={e} field={field} errors={errors} values={values} />, 400);
    const form = await parseForm(c, fieldSchema);
    if (!form.ok) return page(form.errors, form.values);
    const input = fieldInput(field.type, form.data);
    if (!input.ok) return page(input.errors, asValues(form.data));
    const res = c.get('app').events.updateField(e, field, input.input, auditCtx(c, e.org_id));
    if (!res.ok) return page({ options: res.message }, asValues(form.data));
    return c.redirect(`${eventUrl(c, e)}/form?done=saved`, 303);
  });

  r.post('/orgs/:orgSlug/events/:eventId/form/fields/:fieldId/remove', write, (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const field = loadField(c, l.event);
    if (!field) return noField(c);
    const res = c.get('app').events.removeField(l.event, field, auditCtx(c, l.event.org_id));
    return afterListChange(c, l.event, res.ok ? { ok: true, done: 'removed' } : { ok: false, message: res.message, status: 409 });
  });

  r.post('/orgs/:orgSlug/events/:eventId/form/fields/:fieldId/move', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const field = loadField(c, l.event);
    if (!field) return noField(c);
    const form = await parseForm(c, z.object({ direction: z.enum(['up', 'down'], 'Choose up or down.') }));
    if (!form.ok) return afterListChange(c, l.event, { ok: false, message: 'Choose up or down.', status: 400 });
    c.get('app').events.moveField(l.event, field.id, form.data.direction, auditCtx(c, l.event.org_id));
    return afterListChange(c, l.event, { ok: true, done: 'moved' });
  });

  return app;
}
