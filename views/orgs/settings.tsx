/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { FieldErrors } from '../../src/http/forms.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { MemberView, OrgPrivacyDefaults, OrgRow } from '../../src/orgs/repo.ts';
import { Csrf, Field, FieldError, type FormState } from '../components/form.tsx';
import { Flash, FlashBox, type FlashMsg } from '../components/flash.tsx';
import { BrandingSettings, type BrandingValues } from './branding.tsx';

export function SettingsPage(p: { csrf: string; org: OrgRow; role: OrgRole; members: MemberView[]; allowlist: string; clientIp: string | null; privacy: OrgPrivacyDefaults; branding: BrandingValues; flash?: FlashMsg | undefined } & FormState) {
  const { csrf, org, members, errors = {} } = p;
  const base = `/orgs/${org.slug}/settings`;
  const without = members.filter((m) => !m.totp_enabled);
  return (
    <>
      <h1>Settings of {org.name}</h1>
      <FlashBox flash={p.flash} />
      <article>
        <h2>Two-factor authentication</h2>
        <form method="post" action={`${base}/2fa`}>
          <Csrf token={csrf} />
          <label for="f-require2fa">
            <input id="f-require2fa" type="checkbox" role="switch" name="require2fa" value="on" checked={org.require_2fa === 1} />
            Require two-factor authentication for members
          </label>
          <small>Members without it are sent to set it up before they can open anything else.</small>
          <button type="submit">Save</button>
        </form>
        <h3>Who uses it</h3>
        <table>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">2FA</th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr>
                <td>{m.name}</td>
                <td>{m.totp_enabled ? 'on' : 'off'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p>{without.length === 0 ? 'Every member uses two-factor authentication.' : `${without.length} member${without.length === 1 ? '' : 's'} without it.`}</p>
      </article>
      <article>
        <h2>Allowed network addresses</h2>
        <p>
          When this list is not empty, staff of this organization can only connect from these addresses. Your current address is{' '}
          <code data-testid="client-ip">{p.clientIp ?? 'unknown'}</code>.
        </p>
        <form method="post" action={`${base}/ip-allowlist`}>
          <Csrf token={csrf} />
          <label for="f-allowlist">
            IP addresses and ranges, one per line (empty: no restriction)
            <textarea id="f-allowlist" name="allowlist" rows={5} maxlength={5000} aria-invalid={errors.allowlist ? 'true' : undefined} aria-describedby={errors.allowlist ? 'f-allowlist-help f-allowlist-error' : 'f-allowlist-help'}>
              {p.allowlist}
            </textarea>
            <small id="f-allowlist-help">Examples: 203.0.113.0/24, 198.51.100.7, 2001:db8::/32.</small>
            <FieldError id="f-allowlist" error={errors.allowlist} />
          </label>
          <button type="submit">Save allowed addresses</button>
        </form>
      </article>
      <SessionLengths csrf={csrf} action={`${base}/sessions`} org={org} errors={errors} />
      <PrivacyDefaults csrf={csrf} action={`${base}/privacy`} values={p.privacy} errors={errors} />
      <BrandingSettings csrf={csrf} base={base} values={p.branding} errors={errors} />
    </>
  );
}

function DefaultText(p: { name: keyof OrgPrivacyDefaults; label: string; help: string; value: string; error?: string | undefined; maxlength: number; rows?: number }) {
  const id = `f-${p.name}`;
  const described = p.error ? `${id}-help ${id}-error` : `${id}-help`;
  return (
    <label for={id}>
      {p.label}
      {p.rows ? (
        <textarea id={id} name={p.name} rows={p.rows} maxlength={p.maxlength} aria-invalid={p.error ? 'true' : undefined} aria-describedby={described}>
          {p.value}
        </textarea>
      ) : (
        <input id={id} name={p.name} type="text" value={p.value} maxlength={p.maxlength} aria-invalid={p.error ? 'true' : undefined} aria-describedby={described} />
      )}
      <small id={`${id}-help`}>{p.help}</small>
      <FieldError id={id} error={p.error} />
    </label>
  );
}

function PrivacyDefaults(p: { csrf: string; action: string; values: OrgPrivacyDefaults; errors: FieldErrors }) {
  const { values, errors } = p;
  return (
    <article>
      <h2>Defaults for new events</h2>
      <p>
        The "New event" form starts with these. Each event keeps its own copy: changing them here does not change events that already exist, so edit those events
        one by one if their text should change too.
      </p>
      {errors.organizer_contact || errors.privacy_notice || errors.controller_contact ? <Flash kind="error">Nothing was saved: please correct the marked fields.</Flash> : null}
      <form method="post" action={p.action}>
        <Csrf token={p.csrf} />
        <DefaultText name="organizer_contact" label="Organizer contact (optional)" value={values.organizer_contact} error={errors.organizer_contact} maxlength={300} help="An email address or phone number for questions, on one line." />
        <DefaultText name="privacy_notice" label="Privacy notice (optional)" value={values.privacy_notice} error={errors.privacy_notice} maxlength={5000} rows={4} help="How attendees' data is used and how long it is kept." />
        <DefaultText name="controller_contact" label="Data controller contact (optional)" value={values.controller_contact} error={errors.controller_contact} maxlength={1000} rows={2} help="Who is responsible for the data (name and address)." />
        <button type="submit">Save defaults</button>
      </form>
    </article>
  );
}

/** How long sessions of members who read attendee data may last (defaults: NIST SP 800-63B AAL2). */
function SessionLengths(p: { csrf: string; action: string; org: OrgRow; errors: FieldErrors }) {
  return (
    <article>
      <h2>Session lengths</h2>
      <p>
        Owners, admins and organizers see attendees' personal data. Their sessions end after this long without activity, and after this long in total
        however active. The defaults (30 minutes, 12 hours) follow NIST SP 800-63B for AAL2. Someone in several organizations gets the strictest values.
        Other roles keep the instance's lengths.
      </p>
      <form method="post" action={p.action}>
        <Csrf token={p.csrf} />
        <Field name="idle_minutes" label="Idle timeout (minutes, 5 to 720)" type="number" value={String(p.org.session_idle_minutes)} error={p.errors.idle_minutes} required inputmode="numeric" maxlength={3} />
        <Field name="absolute_hours" label="Maximum session length (hours, 1 to 168)" type="number" value={String(p.org.session_absolute_hours)} error={p.errors.absolute_hours} required inputmode="numeric" maxlength={3} />
        <button type="submit">Save session lengths</button>
      </form>
    </article>
  );
}
