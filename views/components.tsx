/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';

export function Csrf({ token }: { token: string }) {
  return <input type="hidden" name="_csrf" value={token} />;
}

export function Flash({ kind, children }: { kind: 'ok' | 'error'; children?: Child }) {
  return (
    <div class={`flash ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
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

/** Label, input, help and error, wired with aria attributes so screen readers announce them. */
/** A field's error message, tied to it through aria-describedby="<id>-error"; nothing without one. */
export function FieldError({ id, error }: { id: string; error?: string | undefined }) {
  return error ? (
    <small id={`${id}-error`} class="field-error">
      {error}
    </small>
  ) : null;
}

/** The one-line result of the last action (saved, refused), when there is one. */
export function FlashBox({ flash }: { flash?: { kind: 'ok' | 'error'; text: string } | undefined }) {
  return flash ? <Flash kind={flash.kind}>{flash.text}</Flash> : null;
}

export function Field(p: FieldProps) {
  const id = `f-${p.name}`;
  const described = [p.help ? `${id}-help` : '', p.error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
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

/** A one-line message at the top of a page after an action. */
export type FlashMsg = { kind: 'ok' | 'error'; text: string };

/** Times are shown in UTC, to the minute: the same on every screen and in the audit export. */
export const when = (t: number | string | null): string => (t === null ? '–' : `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
