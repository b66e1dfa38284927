/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { Csrf, Field, type FormState } from '../components/form.tsx';
import { TableBox } from '../components/table.tsx';

export function OrgsPage({ csrf, orgs, canCreate, errors = {}, values = {} }: { csrf: string; orgs: (OrgRow & { role: OrgRole })[]; canCreate: boolean } & FormState) {
  return (
    <>
      <h1>Your organizations</h1>
      {orgs.length === 0 ? (
        <p>You are not a member of any organization yet. An invitation from an organization's administrator brings you in.</p>
      ) : (
        <TableBox label="Your organizations">
        <table>
          <thead>
            <tr>
              <th scope="col">Organization</th>
              <th scope="col">Your role</th>
            </tr>
          </thead>
          <tbody>
            {orgs.map((o) => (
              <tr>
                <td>
                  <a href={`/orgs/${o.slug}`}>{o.name}</a>
                </td>
                <td>{o.role}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </TableBox>
      )}
      {canCreate ? (
        <article>
          <h2>Create organization</h2>
          <form method="post" action="/orgs">
            <Csrf token={csrf} />
            <Field name="name" label="Name" value={values.name} error={errors.name} required maxlength={120} />
            <Field
              name="slug"
              label="Address"
              value={values.slug}
              error={errors.slug}
              required
              minlength={3}
              maxlength={40}
              pattern="[a-z0-9][a-z0-9\-]{1,38}[a-z0-9]"
              help="Used in links: /orgs/<address>. 3–40 lowercase letters, digits and hyphens."
            />
            <button type="submit">Create organization</button>
          </form>
        </article>
      ) : null}
    </>
  );
}
