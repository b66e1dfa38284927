/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { ADD_OWNER_REASONS, type OrgSummary } from '../../src/orgs/directory.ts';
import { ActionButton, Csrf, Field } from '../components/form.tsx';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { when } from '../components/when.ts';

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Every organization of the instance, for instance admins. */
export function AdminOrgsPage({ csrf, orgs, flash, errors, values }: { csrf: string; orgs: OrgSummary[]; flash?: FlashMsg | undefined; errors?: Record<string, string> | undefined; values?: Record<string, string> | undefined }) {
  return (
    <>
      <h1>Organizations</h1>
      <FlashBox flash={flash} />
      <div class="overflow-auto">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Owners</th>
            <th scope="col">Members</th>
            <th scope="col">Storage (approx.)</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {orgs.map((o) => (
            <tr data-org={o.id}>
              <td>
                <a href={`/orgs/${o.slug}`}>{o.name}</a>
                <br />
                <small>/{o.slug}</small>
              </td>
              <td>{o.owners.length ? o.owners.map((u) => `${u.name} <${u.email}>`).join(', ') : '–'}</td>
              <td>{o.members}</td>
              <td>{size(o.storage_bytes)}</td>
              <td data-status>{o.suspended_at ? `suspended since ${when(o.suspended_at)}` : 'active'}</td>
              <td>
                <details>
                  <summary>Rename…</summary>
                  <form method="post" action={`/admin/orgs/${o.id}/rename`}>
                    <Csrf token={csrf} />
                    <Field name="name" label="New name" value={values?.org === o.id && values.form !== 'owner' ? values.name ?? o.name : o.name} error={values?.org === o.id && values.form !== 'owner' ? errors?.name : undefined} maxlength={120} required />
                    <button type="submit">Rename</button>
                  </form>
                </details>
                <details open={values?.org === o.id && values.form === 'owner'}>
                  <summary>Add an owner…</summary>
                  <form method="post" action={`/admin/orgs/${o.id}/owners`}>
                    <Csrf token={csrf} />
                    <Field name="email" type="email" label="Email of an existing account" value={values?.org === o.id && values.form === 'owner' ? values.email : undefined} error={values?.org === o.id && values.form === 'owner' ? errors?.email : undefined} maxlength={254} required />
                    <label>
                      Why
                      <select name="reason" required aria-invalid={values?.org === o.id && values.form === 'owner' && errors?.reason ? 'true' : undefined}>
                        {ADD_OWNER_REASONS.map(([v, label]) => (
                          <option value={v}>{label}</option>
                        ))}
                      </select>
                      {values?.org === o.id && values.form === 'owner' && errors?.reason ? <small class="field-error">{errors.reason}</small> : null}
                    </label>
                    <small>For when its owners are gone. Recorded in the organization's audit log; you are asked for your password again.</small>
                    <button type="submit" class="secondary">Add owner</button>
                  </form>
                </details>
                {o.suspended_at ? (
                  <ActionButton action={`/admin/orgs/${o.id}/unsuspend`} label="Lift suspension" csrf={csrf} />
                ) : (
                  <ActionButton action={`/admin/orgs/${o.id}/suspend`} label="Suspend" csrf={csrf} variant="contrast" confirm={`Suspend ${o.name}? Its members can no longer work in it and its public pages say unavailable.`} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <article>
        <h2>Create an organization</h2>
        <form method="post" action="/orgs">
          <Csrf token={csrf} />
          <Field name="name" label="Name" required maxlength={120} />
          <Field name="slug" label="Address" help="3–40 lowercase letters, digits and dashes: /orgs/<address>" required maxlength={40} />
          <button type="submit">Create organization</button>
        </form>
        <p>
          <small>You become its first owner; invite its people from its members page. New organizations start with the security settings' 2FA default.</small>
        </p>
      </article>
    </>
  );
}
