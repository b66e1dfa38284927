/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type OrgRole, roleDescriptions } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { OrgNav } from './nav.tsx';

export function OrgDashboard({ org, role, counts }: { org: OrgRow; role: OrgRole; counts: { members: number; invitations: number } | null }) {
  return (
    <>
      <h1>{org.name}</h1>
      <p>
        Your role: <strong data-testid="my-role">{role}</strong> — {roleDescriptions[role]}
      </p>
      <OrgNav org={org} role={role} />
      {counts ? (
        <p>
          {counts.members} member{counts.members === 1 ? '' : 's'}, {counts.invitations} open invitation{counts.invitations === 1 ? '' : 's'}.
        </p>
      ) : null}
      <ul>
        <li>Two-factor authentication for members: {org.require_2fa ? 'required' : 'not required'}</li>
        <li>Staff network restriction: {org.ip_allowlist === '[]' ? 'none' : 'only allowed addresses'}</li>
      </ul>
    </>
  );
}
