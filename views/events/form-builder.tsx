/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { fieldOptions, fieldTypes } from '../../src/events/fields.ts';
import type { EventRow, FieldRow, FieldType } from '../../src/events/repo.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { Check, Csrf, Field, type FormState, Select, TextArea } from '../components/form.tsx';
import { Flash, FlashBox, type FlashMsg } from '../components/flash.tsx';
import { RegistrationForm } from './public.tsx';
import { TableBox } from '../components/table.tsx';

const typeOptions = (Object.entries(fieldTypes) as [FieldType, string][]).map(([k, v]) => [k, v] as const);

const yes = (v: number) => (v ? 'yes' : '–');

/** The list of fields with move/remove; htmx swaps just this element, plain forms reload the page. */
export function FieldList(p: { csrf: string; base: string; fields: FieldRow[]; canWrite: boolean; flash?: FlashMsg | undefined }) {
  const target = { 'hx-target': '#field-list', 'hx-swap': 'outerHTML' };
  return (
    <section id="field-list" aria-live="polite">
      <FlashBox flash={p.flash} />
      <TableBox label="Form fields">
      <table>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Field</th>
            <th scope="col">Type</th>
            <th scope="col">Required</th>
            <th scope="col">Personal</th>
            <th scope="col">Sensitive</th>
            <th scope="col">Purpose</th>
            {p.canWrite ? (
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {p.fields.map((f, i) => (
            <tr data-field={f.key}>
              <td>{i + 1}</td>
              <td>
                {f.label}
                {f.builtin === 'email' ? (
                  <>
                    <br />
                    <small>Always collected: the ticket goes here.</small>
                  </>
                ) : null}
                {fieldOptions(f).length ? (
                  <>
                    <br />
                    <small>{fieldOptions(f).join(' · ')}</small>
                  </>
                ) : null}
              </td>
              <td>{fieldTypes[f.type]}</td>
              <td>{yes(f.required)}</td>
              <td>{yes(f.personal)}</td>
              <td>{yes(f.sensitive)}</td>
              <td>{f.purpose || '–'}</td>
              {p.canWrite ? (
                <td>
                  {i > 0 ? (
                    <form method="post" action={`${p.base}/${f.id}/move`} class="inline-action" hx-post={`${p.base}/${f.id}/move`} {...target}>
                      <Csrf token={p.csrf} />
                      <input type="hidden" name="direction" value="up" />
                      <button type="submit" class="secondary" aria-label={`Move ${f.label} up`}>
                        ↑
                      </button>
                    </form>
                  ) : null}
                  {i < p.fields.length - 1 ? (
                    <form method="post" action={`${p.base}/${f.id}/move`} class="inline-action" hx-post={`${p.base}/${f.id}/move`} {...target}>
                      <Csrf token={p.csrf} />
                      <input type="hidden" name="direction" value="down" />
                      <button type="submit" class="secondary" aria-label={`Move ${f.label} down`}>
                        ↓
                      </button>
                    </form>
                  ) : null}
                  <a href={`${p.base}/${f.id}`}>Edit</a>
                  {f.builtin === 'email' ? null : (
                    <form method="post" action={`${p.base}/${f.id}/remove`} class="inline-action" hx-post={`${p.base}/${f.id}/remove`} hx-confirm={`Remove the field ${f.label}? Answers already given stay with the registrations.`} {...target}>
                      <Csrf token={p.csrf} />
                      <button type="submit" class="secondary">
                        Remove
                      </button>
                    </form>
                  )}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      </TableBox>
    </section>
  );
}

/** Shared by "add" and "edit": the type can only be chosen when adding. */
function FieldEditor(p: { csrf: string; action: string; field?: FieldRow | undefined; submit: string } & FormState) {
  const { errors = {}, values = {} } = p;
  const builtinEmail = p.field?.builtin === 'email';
  return (
    <form method="post" action={p.action} novalidate>
      <Csrf token={p.csrf} />
      {p.field ? (
        <p>
          Type: <strong>{fieldTypes[p.field.type]}</strong>
        </p>
      ) : (
        <Select name="type" label="Type" options={typeOptions} selected={values.type ?? 'short_text'} error={errors.type} />
      )}
      <Field name="label" label="Label" value={values.label} error={errors.label} required maxlength={200} help={p.field ? undefined : 'The question as attendees see it.'} />
      <Field name="help" label="Help text (optional)" value={values.help} error={errors.help} maxlength={500} />
      {!p.field || p.field.type === 'single_select' || p.field.type === 'multi_select' ? (
        <TextArea name="options" label={p.field ? 'Options, one per line' : 'Options, one per line (choice fields only)'} value={values.options} error={errors.options} rows={4} maxlength={5000} help="At least two. Up to 50 options of at most 200 characters." />
      ) : null}
      {!p.field || p.field.type === 'consent' ? (
        <TextArea name="consent_text" label={p.field ? 'Consent text' : 'Consent text (consent fields only)'} value={values.consent_text} error={errors.consent_text} rows={3} maxlength={2000} help="What the attendee agrees to. It is stored with each answer exactly as shown." />
      ) : null}
      <Check name="required" label="Required" checked={builtinEmail || values.required === 'on'} disabled={builtinEmail} error={errors.required} />
      <Check name="personal" label="Personal data" checked={builtinEmail || values.personal === 'on'} disabled={builtinEmail} error={errors.personal} help="About an identifiable person. Shown with its purpose on the form." />
      <Check name="sensitive" label="Sensitive" checked={values.sensitive === 'on'} error={errors.sensitive} help="Health, beliefs and the like: masked in lists and left out of exports unless chosen." />
      <Field name="purpose" label="Purpose (why you ask)" value={values.purpose} error={errors.purpose} maxlength={300} help="Shown to attendees next to personal fields." />
      <button type="submit">{p.submit}</button>
    </form>
  );
}

export function FormBuilderPage(p: { csrf: string; org: OrgRow; role: OrgRole; e: EventRow; fields: FieldRow[]; canWrite: boolean; flash?: FlashMsg | undefined } & FormState) {
  const base = `/orgs/${p.org.slug}/events/${p.e.id}/form/fields`;
  const { canWrite } = p;
  return (
    <>
      <h1>Registration form of {p.e.title}</h1>
      <p>Ask only for what the event needs. The email address is always collected; everything else is up to you.</p>
      <FieldList csrf={p.csrf} base={base} fields={p.fields} canWrite={canWrite} flash={p.flash} />
      {canWrite ? (
        <article>
          <h2>Add a field</h2>
          {p.errors && Object.keys(p.errors).length ? <Flash kind="error">The field was not added: please correct the marked entries.</Flash> : null}
          <FieldEditor csrf={p.csrf} action={base} submit="Add field" errors={p.errors} values={p.values ?? { personal: 'on' }} />
        </article>
      ) : null}
      <article>
        <h2>Preview</h2>
        <p>
          <small>How attendees see the form (the buttons do nothing here).</small>
        </p>
        <fieldset disabled class="form-preview">
          <RegistrationForm e={p.e} fields={p.fields} action={`/e/${p.e.slug}/register`} />
        </fieldset>
      </article>
    </>
  );
}

export function FieldEditPage(p: { csrf: string; org: OrgRow; role: OrgRole; e: EventRow; field: FieldRow } & FormState) {
  const base = `/orgs/${p.org.slug}/events/${p.e.id}/form/fields`;
  return (
    <>
      <h1>Edit field "{p.field.label}"</h1>
      {p.errors && Object.keys(p.errors).length ? <Flash kind="error">Nothing was saved: please correct the marked entries.</Flash> : null}
      <FieldEditor csrf={p.csrf} action={`${base}/${p.field.id}`} field={p.field} submit="Save field" errors={p.errors} values={p.values} />
      <p>
        <a href={`/orgs/${p.org.slug}/events/${p.e.id}/form`}>Back to the form</a>
      </p>
    </>
  );
}
