/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { UserRow } from '../src/auth/repo.ts';
import type { OutboxRow } from '../src/mail/repo.ts';
import { ActionButton, Flash } from './components.tsx';
import { type FlashMsg, PermissionsTable, when } from './orgs.tsx';

export function AdminNav() {
  return (
    <nav aria-label="Administration pages">
      <ul>
        <li>
          <a href="/admin/users">Users</a>
        </li>
        <li>
          <a href="/admin/mail">Mail</a>
        </li>
        <li>
          <a href="/admin/permissions">Roles and permissions</a>
        </li>
      </ul>
    </nav>
  );
}

export interface AdminUserView {
  user: UserRow;
  locked: boolean;
}

export function AdminUsersPage({ csrf, users, viewerId, flash }: { csrf: string; users: AdminUserView[]; viewerId: string; flash?: FlashMsg | undefined }) {
  return (
    <>
      <h1>Users</h1>
      <AdminNav />
      {flash ? <Flash kind={flash.kind}>{flash.text}</Flash> : null}
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Instance role</th>
            <th scope="col">2FA</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.map(({ user: u, locked }) => {
            const status = [u.disabled_at ? 'disabled' : 'active', locked ? 'locked' : ''].filter(Boolean).join(', ');
            return (
              <tr data-user={u.id}>
                <td>
                  {u.name}
                  {u.id === viewerId ? ' (you)' : ''}
                </td>
                <td>{u.email}</td>
                <td>{u.instance_role ?? '–'}</td>
                <td>{u.totp_secret ? 'on' : 'off'}</td>
                <td>{status}</td>
                <td>
                  {u.id === viewerId ? null : u.disabled_at ? (
                    <ActionButton action={`/admin/users/${u.id}/enable`} label="Enable" csrf={csrf} />
                  ) : (
                    <ActionButton action={`/admin/users/${u.id}/disable`} label="Disable" csrf={csrf} variant="contrast" confirm={`Disable ${u.name}? All their sessions and API tokens end now.`} />
                  )}
                  {locked ? <ActionButton action={`/admin/users/${u.id}/unlock`} label="Unlock sign-in" csrf={csrf} /> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

export function AdminMailPage({ devMode, messages }: { devMode: boolean; messages: OutboxRow[] }) {
  return (
    <>
      <h1>Mail</h1>
      <AdminNav />
      {devMode ? (
        <>
          <Flash kind="error">No SMTP server is configured: mail is not sent but kept here, so you can open the links yourself. Set --smtp-url (or TESSERA_SMTP_URL) to send it.</Flash>
          {messages.length === 0 ? <p>No messages yet.</p> : null}
          {messages.map((m) => (
            <article data-mail={m.id}>
              <header>
                <strong>{m.subject}</strong>
                <br />
                <small>
                  To {m.to_address} · {when(m.created_at)}
                </small>
              </header>
              <pre>{m.text_body}</pre>
            </article>
          ))}
        </>
      ) : (
        <p>An SMTP server is configured: mail is delivered, and not kept here.</p>
      )}
    </>
  );
}

export function AdminPermissionsPage() {
  return (
    <>
      <h1>Roles and permissions</h1>
      <AdminNav />
      <p>What each organization role may do. The same table applies in every organization.</p>
      <PermissionsTable />
    </>
  );
}
