/** @jsxRuntime automatic @jsxImportSource hono/jsx */

export function AdminNav() {
  return (
    <nav aria-label="Administration pages">
      <ul>
        <li>
          <a href="/admin/settings">Settings</a>
        </li>
        <li>
          <a href="/admin/users">Users</a>
        </li>
        <li>
          <a href="/admin/orgs">Organizations</a>
        </li>
        <li>
          <a href="/admin/mail">Mail</a>
        </li>
        <li>
          <a href="/admin/permissions">Roles and permissions</a>
        </li>
        <li>
          <a href="/admin/backups">Backups</a>
        </li>
        <li>
          <a href="/admin/retention">Retention</a>
        </li>
        <li>
          <a href="/admin/audit">Audit log</a>
        </li>
        <li>
          <a href="/admin/access-log">Access log</a>
        </li>
      </ul>
    </nav>
  );
}
