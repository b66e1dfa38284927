/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type OrgRole, type Permission, roleHas } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';

const orgPages: { path: string; label: string; permission: Permission }[] = [
  { path: '', label: 'Dashboard', permission: 'org.read' },
  { path: '/events', label: 'Events', permission: 'events.read' },
  { path: '/members', label: 'Members', permission: 'members.read' },
  { path: '/settings', label: 'Settings', permission: 'org.settings' },
  { path: '/tokens', label: 'API tokens', permission: 'tokens.manage' },
  { path: '/audit', label: 'Audit log', permission: 'audit.read' },
  { path: '/security', label: 'Security', permission: 'audit.read' },
  { path: '/privacy/requests', label: 'Data requests', permission: 'privacy.requests' },
  { path: '/permissions', label: 'Roles and permissions', permission: 'org.read' },
];

/** The organization's sub-navigation: only the pages this role can open. */
export function OrgNav({ org, role }: { org: OrgRow; role: OrgRole }) {
  return (
    <nav aria-label={`${org.name} pages`}>
      <ul>
        {orgPages
          .filter((p) => roleHas(role, p.permission))
          .map((p) => (
            <li>
              <a href={`/orgs/${org.slug}${p.path}`}>{p.label}</a>
            </li>
          ))}
      </ul>
    </nav>
  );
}
