/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type OrgRole, permissions, rolePermissions } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import type { ApiTokenView } from '../../src/orgs/service.ts';
import { ActionButton, Csrf, Field, FieldError, type FormState } from '../components/form.tsx';
import { Empty, FlashBox, type FlashMsg } from '../components/flash.tsx';
import { ShownOnce } from '../components/shown-once.tsx';
import { TableBox } from '../components/table.tsx';
import { Ago } from '../components/time.tsx';

export function TokensPage(p: {
  csrf: string;
  org: OrgRow;
  role: OrgRole;
  tokens: ApiTokenView[];
  now: number;
  owners: Map<string, string>;
  created?: { name: string; token: string } | undefined;
  flash?: FlashMsg | undefined;
  selected?: string[];
} & FormState) {
  const { csrf, org, role, errors = {}, values = {} } = p;
  const base = `/orgs/${org.slug}/tokens`;
  const selected = new Set(p.selected ?? []);
  return (
    <>
      <h1>API tokens of {org.name}</h1>
      <FlashBox flash={p.flash} />
      {p.created ? (
        <ShownOnce title={`Token "${p.created.name}" created`} note="Copy it now: it is shown only this once." testid="new-token" secret={p.created.token}>
          <p>
            Send it as <code>Authorization: Bearer …</code> to <code>/api/v1/orgs/{org.slug}</code>.
          </p>
        </ShownOnce>
      ) : null}
      {p.tokens.length === 0 ? (
        <Empty>
          <p>No API tokens yet. Create one below for a script or another system.</p>
        </Empty>
      ) : (
        <TableBox label="API tokens">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Created by</th>
              <th scope="col">Permissions</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {p.tokens.map((t) => (
              <tr data-token={t.id}>
                <td>{t.name}</td>
                <td>{p.owners.get(t.user_id) ?? 'former member'}</td>
                <td>{(JSON.parse(t.permissions) as string[]).join(', ')}</td>
                <td>
                  <Ago t={t.created_at} now={p.now} />
                </td>
                <td>
                  <Ago t={t.expires_at} now={p.now} empty="never" />
                </td>
                <td>
                  <Ago t={t.last_used_at} now={p.now} empty="never" />
                </td>
                <td>{t.state}</td>
                <td>{t.state === 'active' ? <ActionButton action={`${base}/${t.id}/revoke`} label="Revoke" csrf={csrf} confirm={`Revoke the token ${t.name}?`} /> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </TableBox>
      )}
      <article>
        <h2>Create a token</h2>
        <p>A token acts for you, with at most the permissions of your role. It stops working when revoked, when it expires, or when your role changes.</p>
        <form method="post" action={base}>
          <Csrf token={csrf} />
          <Field name="name" label="Name" value={values.name} error={errors.name} required maxlength={80} help="What the token is for, e.g. the name of the script that uses it." />
          <fieldset aria-describedby={errors.permissions ? 'f-permissions-error' : undefined}>
            <legend>Permissions</legend>
            {rolePermissions[role].map((perm) => (
              <label for={`f-perm-${perm}`}>
                <input id={`f-perm-${perm}`} type="checkbox" name="permissions" value={perm} checked={selected.has(perm)} />
                <code>{perm}</code> — {permissions[perm]}
              </label>
            ))}
            <FieldError id="f-permissions" error={errors.permissions} />
          </fieldset>
          <Field name="days" label="Valid for (days)" type="number" value={values.days ?? '90'} error={errors.days} required inputmode="numeric" help="1 to 365 days." />
          <button type="submit">Create token</button>
        </form>
      </article>
    </>
  );
}
