/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type AnswerValue, fieldOptions } from '../../src/events/fields.ts';
import type { FieldRow } from '../../src/events/repo.ts';
import type { RegistrationRow } from '../../src/registrations/repo.ts';
import { FieldError } from '../components/form.tsx';
import { MASK, parseAnswersJson } from './shared.tsx';

/** Raw form values for a stored registration, so the edit form starts from what is stored. */
export function formValuesOf(fields: FieldRow[], reg: RegistrationRow): Record<string, string | string[]> {
  const answers = parseAnswersJson(reg);
  const out: Record<string, string | string[]> = {};
  for (const f of fields) {
    if (f.builtin === 'email') out[f.key] = reg.email;
    else if (f.builtin === 'name') out[f.key] = reg.name;
    else {
      const v = formValue(answers[f.key]);
      if (v !== undefined) out[f.key] = v;
    }
  }
  return out;
}

function formValue(v: AnswerValue | undefined): string | string[] | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return 'on';
  if (Array.isArray(v)) return v;
  if (typeof v === 'object') return v.accepted ? 'on' : undefined;
  return String(v);
}

const inputTypes: Partial<Record<FieldRow['type'], string>> = { email: 'email', phone: 'tel', number: 'text', date: 'date', short_text: 'text' };

export function AnswerInput({ f, value, error, masked }: { f: FieldRow; value: string | string[] | undefined; error?: string | undefined; masked: boolean }) {
  const id = `a-${f.key}`;
  const describedBy = error ? `${id}-error` : undefined;
  const err = <FieldError id={id} error={error} />;
  const label = (
    <>
      {f.label}
      {f.required ? ' *' : ''}
      {f.sensitive ? <small> (sensitive)</small> : null}
    </>
  );
  if (masked) {
    return (
      <div class="masked-field">
        <p>
          {label}: <span class="masked">{MASK}</span> <small>Reveal sensitive answers to change this field.</small>
        </p>
        {err}
      </div>
    );
  }
  const single = Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
  const many = Array.isArray(value) ? value : value ? [value] : [];
  switch (f.type) {
    case 'long_text':
      return (
        <label for={id}>
          {label}
          <textarea id={id} name={f.key} rows={3} maxlength={5000} aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy}>
            {single}
          </textarea>
          {err}
        </label>
      );
    case 'single_select':
      return (
        <label for={id}>
          {label}
          <select id={id} name={f.key} aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy}>
            <option value="">—</option>
            {fieldOptions(f).map((o) => (
              <option value={o} selected={o === single}>
                {o}
              </option>
            ))}
          </select>
          {err}
        </label>
      );
    case 'multi_select':
      return (
        <fieldset aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy}>
          <legend>{label}</legend>
          {fieldOptions(f).map((o, i) => (
            <label for={`${id}-${i}`}>
              <input id={`${id}-${i}`} type="checkbox" name={f.key} value={o} checked={many.includes(o)} />
              {o}
            </label>
          ))}
          {err}
        </fieldset>
      );
    case 'checkbox':
    case 'consent':
      return (
        <label for={id}>
          <input id={id} type="checkbox" name={f.key} value="on" checked={single === 'on'} aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy} />
          {label}
          {f.type === 'consent' && f.consent_text ? <small> {f.consent_text}</small> : null}
          {err}
        </label>
      );
    default:
      return (
        <label for={id}>
          {label}
          <input id={id} type={inputTypes[f.type] ?? 'text'} name={f.key} value={single} aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy} inputmode={f.type === 'number' ? 'decimal' : undefined} />
          {err}
        </label>
      );
  }
}
