/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { EventRow } from '../../src/events/repo.ts';
import type { PasscodeState, ShareLinkView } from '../../src/events/service.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { ActionButton, Csrf, Field, type FormState } from '../components/form.tsx';
import { Flash, FlashBox, type FlashMsg } from '../components/flash.tsx';
import { ShownOnce } from '../components/shown-once.tsx';
import { localWhen } from './shared.tsx';
import { TableBox } from '../components/table.tsx';

/** The passcode's state as the overview says it, with its end in the event's zone. */
export function passcodeText(e: EventRow, state: PasscodeState): string {
  if (state === 'not set') return 'not set';
  if (state === 'expired') return `expired ${localWhen(e.passcode_expires_at, e.timezone)}`;
  return e.passcode_expires_at ? `set, valid until ${localWhen(e.passcode_expires_at, e.timezone)}` : 'set, no expiry';
}

export function PasscodeSection(p: { csrf: string; base: string; e: EventRow; state: PasscodeState } & FormState) {
  const { e, errors = {}, values = {} } = p;
  const isSet = p.state !== 'not set';
  return (
    <article id="passcode">
      <h2>Event passcode</h2>
      <p>
        {e.access_mode === 'passcode'
          ? 'Visitors must enter this passcode to see the event and register.'
          : 'The passcode is only asked for when the access mode is "Passcode required" (change it in the event\'s settings).'}{' '}
        Current passcode: <strong data-testid="passcode-state">{passcodeText(e, p.state)}</strong>.
      </p>
      <form method="post" action={`${p.base}/passcode`}>
        <Csrf token={p.csrf} />
        <Field name="passcode" label={isSet ? 'New passcode' : 'Passcode'} type="password" error={errors.passcode} required minlength={6} maxlength={200} autocomplete="new-password" help="At least 6 characters. Share it with your invitees; it is stored only as a hash." />
        <Field name="expires_at" label="Valid until (optional)" type="datetime-local" value={values.expires_at} error={errors.expires_at} help={`In the event's time zone (${e.timezone}). Empty: until removed.`} />
        <button type="submit">{isSet ? 'Change passcode' : 'Set passcode'}</button>
      </form>
      {isSet ? <ActionButton action={`${p.base}/passcode/remove`} label="Remove passcode" csrf={p.csrf} confirm="Remove the passcode? Nobody can open a passcode event until a new one is set." /> : null}
    </article>
  );
}

export function ShareLinksPage(p: {
  csrf: string;
  org: OrgRow;
  role: OrgRole;
  e: EventRow;
  links: ShareLinkView[];
  passcodeState: PasscodeState;
  passcodeForm: FormState;
  created?: { label: string; url: string } | undefined;
  flash?: FlashMsg | undefined;
} & FormState) {
  const { e, errors = {}, values = {} } = p;
  const base = `/orgs/${p.org.slug}/events/${e.id}/share-links`;
  return (
    <>
      <h1>Access to {e.title}</h1>
      <FlashBox flash={p.flash} />
      <PasscodeSection csrf={p.csrf} base={`/orgs/${p.org.slug}/events/${e.id}`} e={e} state={p.passcodeState} errors={p.passcodeForm.errors} values={p.passcodeForm.values} />
      <h2 id="share-links">Share links</h2>
      {e.access_mode !== 'passcode' ? (
        <Flash kind="error">This event is not protected: anyone with its address can open it, so share links add nothing. Set the access mode to "Passcode required" to use them.</Flash>
      ) : null}
      {p.created ? (
        <ShownOnce title={`Share link "${p.created.label}" created`} note="Copy the link now: it is shown only this once. Send the password separately." testid="new-share-link" secret={p.created.url} />
      ) : null}
      {p.links.length === 0 ? (
        <p>No share links yet.</p>
      ) : (
        <TableBox label="Share links">
        <table>
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Uses</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {p.links.map((l) => (
              <tr data-link={l.id}>
                <td>{l.label}</td>
                <td>{localWhen(l.created_at, e.timezone)}</td>
                <td>{l.expires_at ? localWhen(l.expires_at, e.timezone) : 'never'}</td>
                <td>{l.uses}</td>
                <td>{l.state}</td>
                <td>{l.state === 'revoked' ? null : <ActionButton action={`${base}/${l.id}/revoke`} label="Revoke" csrf={p.csrf} confirm={`Revoke the share link ${l.label}?`} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </TableBox>
      )}
      <article>
        <h2>Create a share link</h2>
        <p>Each link has its own password. Whoever opens the link and types the password can see the event and register. Every use is counted and audited.</p>
        <form method="post" action={base}>
          <Csrf token={p.csrf} />
          <Field name="label" label="Label" value={values.label} error={errors.label} required maxlength={80} help="Who the link is for, e.g. 'Partner university'." />
          <Field name="password" label="Password" type="password" error={errors.password} required minlength={8} maxlength={256} autocomplete="new-password" help="At least 8 characters." />
          <Field name="expires_at" label="Valid until (optional)" type="datetime-local" value={values.expires_at} error={errors.expires_at} help={`In the event's time zone (${e.timezone}). Empty: until revoked.`} />
          <button type="submit">Create share link</button>
        </form>
      </article>
    </>
  );
}
