/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { FieldErrors } from '../../src/http/forms.ts';

/** What a form page gets back after a refused submit: the messages per field and what was typed. */
export type FormState = { errors?: FieldErrors | undefined; values?: Record<string, string> | undefined };

export function Csrf({ token }: { token: string }) {
  return <input type="hidden" name="_csrf" value={token} />;
}

interface FieldProps {
  name: string;
  label: string;
  type?: string;
  value?: string;
  error?: string | undefined;
  help?: string;
  required?: boolean;
  autocomplete?: string;
  inputmode?: 'numeric' | 'text' | 'email' | 'tel';
  minlength?: number;
  maxlength?: number;
  pattern?: string;
  autofocus?: boolean;
}

/** A field's error message, tied to it through aria-describedby="<id>-error"; nothing without one. */
export function FieldError({ id, error }: { id: string; error?: string | undefined }) {
  return error ? (
    <small id={`${id}-error`} class="field-error">
      {error}
    </small>
  ) : null;
}

/** The ids of a field's help and error, for aria-describedby; none when it has neither. */
const describedBy = (id: string, help: boolean, error: string | undefined) => [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;

export function TextArea(p: { name: string; label: string; value?: string | undefined; error?: string | undefined; help?: string; rows?: number; maxlength?: number; required?: boolean; extra?: Record<string, string> }) {
  const id = `f-${p.name}`;
  return (
    <label for={id}>
      {p.label}
      <textarea id={id} name={p.name} rows={p.rows ?? 4} maxlength={p.maxlength} required={p.required} aria-invalid={p.error ? 'true' : undefined} aria-describedby={describedBy(id, !!p.help, p.error)} {...(p.extra ?? {})}>
        {p.value ?? ''}
      </textarea>
      {p.help ? <small id={`${id}-help`}>{p.help}</small> : null}
      <FieldError id={id} error={p.error} />
    </label>
  );
}

export function Select(p: { name: string; label: string; options: readonly (readonly [string, string])[]; selected?: string | undefined; error?: string | undefined; help?: string }) {
  const id = `f-${p.name}`;
  // The select sits outside its label so the chosen option does not become part of the label's name;
  // a div keeps the pieces together as one cell of a two-column fieldset.
  return (
    <div class="select-field">
      <label for={id}>{p.label}</label>
      <select id={id} name={p.name} aria-invalid={p.error ? 'true' : undefined} aria-describedby={describedBy(id, !!p.help, p.error)}>
        {p.options.map(([v, text]) => (
          <option value={v} selected={v === p.selected}>
            {text}
          </option>
        ))}
      </select>
      {p.help ? <small id={`${id}-help`}>{p.help}</small> : null}
      <FieldError id={id} error={p.error} />
    </div>
  );
}

export function Check(p: { name: string; label: string; checked: boolean; help?: string; error?: string | undefined; disabled?: boolean }) {
  const id = `f-${p.name}`;
  return (
    <label for={id}>
      <input id={id} type="checkbox" name={p.name} value="on" checked={p.checked} disabled={p.disabled} aria-describedby={describedBy(id, !!p.help, p.error)} />
      {/* A span between the box and the help keeps Pico's "input + small" pull-up rule off the help. */}
      <span>{p.label}</span>
      {p.help ? (
        <>
          <br />
          <small id={`${id}-help`}>{p.help}</small>
        </>
      ) : null}
      {p.error ? <br /> : null}
      <FieldError id={id} error={p.error} />
    </label>
  );
}

/** Label, input, help and error, wired with aria attributes so screen readers announce them. */
export function Field(p: FieldProps) {
  const id = `f-${p.name}`;
  const described = describedBy(id, !!p.help, p.error);
  return (
    <label for={id}>
      {p.label}
      <input
        id={id}
        name={p.name}
        type={p.type ?? 'text'}
        value={p.type === 'password' ? undefined : p.value}
        required={p.required}
        autocomplete={p.autocomplete}
        inputmode={p.inputmode}
        minlength={p.minlength}
        maxlength={p.maxlength}
        pattern={p.pattern}
        autofocus={p.autofocus}
        aria-invalid={p.error ? 'true' : undefined}
        aria-describedby={described}
      />
      {p.help ? <small id={`${id}-help`}>{p.help}</small> : null}
      <FieldError id={id} error={p.error} />
    </label>
  );
}

/** A one-button form for actions (revoke, disable...): POST with the CSRF token. */
export function ActionButton({ action, label, csrf, confirm, variant, hidden }: { action: string; label: string; csrf: string; confirm?: string; variant?: 'secondary' | 'contrast' | 'outline'; hidden?: Record<string, string> }) {
  return (
    <form method="post" action={action} class="inline-action" data-confirm={confirm}>
      <Csrf token={csrf} />
      {hidden ? Object.entries(hidden).map(([k, v]) => <input type="hidden" name={k} value={v} />) : null}
      <button type="submit" class={variant ?? 'secondary'}>
        {label}
      </button>
    </form>
  );
}
