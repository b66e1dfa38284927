/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { UserRow } from '../../src/auth/repo.ts';
import { type AllowedActions, RESET_2FA_REASONS } from '../../src/auth/user-admin.ts';
import { ActionButton, Csrf, Field } from '../components/form.tsx';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { when } from '../components/when.ts';
import { AdminNav } from './nav.tsx';
import { PendingInvitations, type PendingInvitationView } from './invitations.tsx';

export interface AdminUserView {
  user: UserRow;
  locked: boolean;
  allowed: AllowedActions;
}

function Reset2fa({ u, csrf }: { u: UserRow; csrf: string }) {
  const id = `reason-${u.id}`;
  return (
    <details>
      <summary>Reset 2FA…</summary>
      <form method="post" action={`/admin/users/${u.id}/reset-2fa`}>
        <Csrf token={csrf} />
        <label for={id}>Why?</label>
        <select id={id} name="reason" required>
          <option value="">Choose a reason</option>
          {RESET_2FA_REASONS.map(([v, text]) => (
            <option value={v}>{text}</option>
          ))}
        </select>
        <button type="submit" class="contrast">
          Remove their second factor
        </button>
      </form>
    </details>
  );
}

export function AdminUsersPage({ csrf, users, viewerId, flash, q, invitations }: { csrf: string; users: AdminUserView[]; viewerId: string; flash?: FlashMsg | undefined; q: string; invitations: PendingInvitationView[] }) {
  return (
    <>
      <h1>Users</h1>
      <AdminNav />
      <FlashBox flash={flash} />
      <form method="get" action="/admin/users" role="search">
        <label for="user-search">Search by name or email</label>
        <input id="user-search" type="search" name="q" value={q} maxlength={200} />
        <button type="submit">Search</button>
      </form>
      {users.length === 0 ? <p>No account matches.</p> : null}
      <div class="overflow-auto">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Instance role</th>
            <th scope="col">2FA</th>
            <th scope="col">Status</th>
            <th scope="col">Last sign-in</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.map(({ user: u, locked, allowed }) => {
            const status = [u.disabled_at ? 'disabled' : 'active', locked ? 'locked' : ''].filter(Boolean).join(', ');
            return (
              <tr data-user={u.id}>
                <td>
                  {u.name}
                  {u.id === viewerId ? ' (you)' : ''}
                </td>
                <td>{u.email}</td>
                <td>{u.instance_role ?? '–'}</td>
                <td>{u.totp_secret || u.phone_verified_at ? 'on' : 'off'}</td>
                <td>{status}</td>
                <td>{when(u.last_sign_in_at)}</td>
                <td>
                  {!allowed.disable ? null : u.disabled_at ? (
                    <ActionButton action={`/admin/users/${u.id}/enable`} label="Enable" csrf={csrf} />
                  ) : (
                    <ActionButton action={`/admin/users/${u.id}/disable`} label="Disable" csrf={csrf} variant="contrast" confirm={`Disable ${u.name}? All their sessions and API tokens end now.`} />
                  )}
                  {allowed.signOut ? <ActionButton action={`/admin/users/${u.id}/sign-out`} label="End all sessions" csrf={csrf} confirm={`Sign ${u.name} out on every device?`} /> : null}
                  {locked ? <ActionButton action={`/admin/users/${u.id}/unlock`} label="Unlock sign-in" csrf={csrf} /> : null}
                  {allowed.reset2fa ? <Reset2fa u={u} csrf={csrf} /> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      </div>
      <PendingInvitations csrf={csrf} invitations={invitations} />
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
