/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { FieldView } from '../../src/admin/settings-service.ts';
import { SECTION_TITLES, type SectionId } from '../../src/admin/settings-fields.ts';
import { Check, Csrf, Field, FieldError, Select, TextArea } from '../components/form.tsx';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { type BackupSummary, BackupsSection, type TargetFormState } from './settings-backups.tsx';

/** A section after a refused save: its messages and what was typed. */
export interface SectionState {
  section: SectionId;
  errors: Record<string, string>;
  values: Record<string, string>;
}

function Locked({ reason }: { reason: string }) {
  return (
    <small class="locked">
      <strong>Locked:</strong> {reason}. Change it there, or remove it there to edit it here.
    </small>
  );
}

function SettingField({ f, state }: { f: FieldView; state?: SectionState | undefined }) {
  const { def } = f;
  const error = state?.errors[def.name];
  const text = state?.values[def.name] ?? f.text;
  const help = def.help ?? '';
  if (f.lockedBy) {
    return (
      <div class="setting locked" data-setting={def.name} data-locked="true">
        <label for={`f-${def.name}`}>{def.label}</label>
        <input id={`f-${def.name}`} name={def.name} value={def.input === 'secret' ? (f.secretSet ? '(set, not shown)' : '(not set)') : def.input === 'checkbox' ? (text ? 'on' : 'off') : text} disabled aria-describedby={`f-${def.name}-lock`} />
        <span id={`f-${def.name}-lock`}>
          <Locked reason={f.lockedBy} />
        </span>
      </div>
    );
  }
  switch (def.input) {
    case 'checkbox':
      return <Check name={def.name} label={def.label} checked={text === 'on'} help={help} error={error} />;
    case 'select':
      return <Select name={def.name} label={def.label} options={def.options ?? []} selected={text} error={error} help={help} />;
    case 'textarea':
      return <TextArea name={def.name} label={def.label} value={text} error={error} help={help} rows={3} maxlength={4000} />;
    case 'secret':
      return (
        <fieldset data-setting={def.name}>
          <legend>{def.label}</legend>
          <p data-secret-state={f.secretSet ? 'set' : 'unset'}>{f.secretSet ? 'A value is saved. It is never shown again; type a new one to replace it.' : 'Nothing saved.'}</p>
          <Field name={def.name} label={f.secretSet ? `${def.label} (replaces the saved one)` : def.label} type="password" autocomplete="new-password" error={error} maxlength={512} />
          {f.secretSet ? <Check name={`${def.name}_clear`} label={`Remove the saved ${def.label}`} checked={false} /> : null}
        </fieldset>
      );
    default:
      return <Field name={def.name} label={def.label} value={text} error={error} help={help} inputmode={def.input === 'number' ? 'numeric' : 'text'} maxlength={400} />;
  }
}

function SectionForm({ id, fields, csrf, state }: { id: SectionId; fields: FieldView[]; csrf: string; state?: SectionState | undefined }) {
  const mine = state?.section === id ? state : undefined;
  const editable = fields.some((f) => !f.lockedBy);
  return (
    <form method="post" action={`/admin/settings/${id}`} novalidate>
      <Csrf token={csrf} />
      {mine ? <FieldError id={`section-${id}`} error={Object.keys(mine.errors).length ? 'Nothing was saved: correct the marked fields.' : undefined} /> : null}
      {fields.map((f) => (
        <SettingField f={f} state={mine} />
      ))}
      {editable ? <button type="submit">Save {SECTION_TITLES[id]} settings</button> : null}
    </form>
  );
}

export function AdminSettingsPage(p: {
  csrf: string;
  sections: Record<SectionId, FieldView[]>;
  state?: SectionState | undefined;
  flash?: FlashMsg | undefined;
  testAddress: string;
  mailConfigured: boolean;
  smsConfigured: boolean;
  backups: BackupSummary;
  targetForm?: TargetFormState | undefined;
}) {
  const { csrf, sections, state } = p;
  return (
    <>
      <h1>Instance settings</h1>
      <FlashBox flash={p.flash} />
      <nav aria-label="Settings sections">
        <ul>
          {(['general', 'mail', 'sms', 'security'] as const).map((s) => (
            <li>
              <a href={`#${s}`}>{SECTION_TITLES[s]}</a>
            </li>
          ))}
          <li>
            <a href="#backups">Backups</a>
          </li>
          <li>
            <a href="/admin/retention">Retention</a>
          </li>
        </ul>
      </nav>
      <p>
        A setting given as a command-line flag or environment variable wins over the value saved here; such settings are shown as locked and name where they are set. Every change is recorded in the
        audit log (secrets as "changed", never their value).
      </p>

      <section id="general" aria-labelledby="h-general">
        <h2 id="h-general">General</h2>
        <SectionForm id="general" fields={sections.general} csrf={csrf} state={state} />
      </section>

      <section id="mail" aria-labelledby="h-mail">
        <h2 id="h-mail">Mail</h2>
        <SectionForm id="mail" fields={sections.mail} csrf={csrf} state={state} />
        <form method="post" action="/admin/settings/mail/test" class="inline-action">
          <Csrf token={csrf} />
          <button type="submit" class="secondary" disabled={!p.mailConfigured}>
            Send test email to {p.testAddress}
          </button>
        </form>
        {p.mailConfigured ? null : <p><small>Save an SMTP host first: without one, mail waits in the dev outbox (Mail page).</small></p>}
      </section>

      <section id="sms" aria-labelledby="h-sms">
        <h2 id="h-sms">SMS provider</h2>
        <SectionForm id="sms" fields={sections.sms} csrf={csrf} state={state} />
        <form method="post" action="/admin/settings/sms/test">
          <Csrf token={csrf} />
          <Field name="to" label="Send a test SMS to" help="An E.164 number such as +41791234567." inputmode="tel" autocomplete="off" maxlength={16} />
          <button type="submit" class="secondary" disabled={!p.smsConfigured}>
            Send test SMS
          </button>
        </form>
      </section>

      <section id="security" aria-labelledby="h-security">
        <h2 id="h-security">Security</h2>
        <p data-setting="adminRequire2fa">
          <strong>Two-factor sign-in for instance owners and admins:</strong> always required (not a setting: an administrator's account reaches everything).
        </p>
        <SectionForm id="security" fields={sections.security} csrf={csrf} state={state} />
      </section>

      <BackupsSection csrf={csrf} b={p.backups} form={p.targetForm} />
    </>
  );
}
