/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type OrgRole, type Permission, orgRoles, permissions, roleDescriptions, roleHas } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { TableBox } from '../components/table.tsx';

/** The role → permission table, read-only; the same one the guard enforces. */
export function PermissionsTable() {
  const perms = Object.keys(permissions) as Permission[];
  return (
    <>
      <TableBox label="Roles and permissions">
      <table>
        <thead>
          <tr>
            <th scope="col">Permission</th>
            {orgRoles.map((r) => (
              <th scope="col">{r}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {perms.map((perm) => (
            <tr>
              <th scope="row">
                <code>{perm}</code>
                <br />
                <small>{permissions[perm]}</small>
              </th>
              {orgRoles.map((r) => (
                <td>{roleHas(r, perm) ? <span aria-label="yes">✓</span> : <span aria-label="no">–</span>}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      </TableBox>
      <dl>
        {orgRoles.map((r) => (
          <>
            <dt>{r}</dt>
            <dd>{roleDescriptions[r]}</dd>
          </>
        ))}
      </dl>
    </>
  );
}

export function PermissionsPage({ org, role }: { org: OrgRow; role: OrgRole }) {
  return (
    <>
      <h1>Roles and permissions</h1>
      <p>
        What each role may do in {org.name}. Your role is <strong>{role}</strong>.
      </p>
      <PermissionsTable />
    </>
  );
}
