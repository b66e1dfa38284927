/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { UserRow } from '../../src/auth/repo.ts';
import { ActionButton, Csrf, Field } from '../components/form.tsx';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { TableBox } from '../components/table.tsx';

export interface AdminUserView {
  user: UserRow;
  locked: boolean;
}

export function AdminUsersPage({ csrf, users, viewerId, flash }: { csrf: string; users: AdminUserView[]; viewerId: string; flash?: FlashMsg | undefined }) {
  return (
    <>
      <h1>Users</h1>
      <FlashBox flash={flash} />
      <TableBox label="Users">
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
                  {u.id === viewerId ? null : <ActionButton action={`/admin/users/${u.id}/sign-out`} label="Sign out everywhere" csrf={csrf} confirm={`Sign ${u.name} out on every device?`} />}
                  {locked ? <ActionButton action={`/admin/users/${u.id}/unlock`} label="Unlock sign-in" csrf={csrf} /> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      </TableBox>
      <article>
        <h2>Sign everyone out</h2>
        <p>After a suspected compromise: ends every session on this instance except yours. Everyone signs in again with their password and second factor.</p>
        <form method="post" action="/admin/sessions/sign-out-all">
          <Csrf token={csrf} />
          <Field name="confirm" label={`Type "${SIGN_OUT_ALL_PHRASE}" to confirm`} required autocomplete="off" maxlength={40} />
          <button type="submit" class="contrast">
            Sign everyone out
          </button>
        </form>
      </article>
    </>
  );
}

export const SIGN_OUT_ALL_PHRASE = 'sign out everyone';
