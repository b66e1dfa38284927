/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { SessionRow, UserRow } from '../../src/auth/repo.ts';
import { ActionButton, Csrf, Field } from '../components/form.tsx';
import { FlashBox } from '../components/flash.tsx';
import { type Form, PW_HELP } from './shared.ts';
import { maskPhone } from './two-factor.tsx';
import { TableBox } from '../components/table.tsx';
import { Ago } from '../components/time.tsx';

export function AccountPage({ csrf, user, recoveryLeft, flash, errors = {}, values = {} }: Form & { user: UserRow; recoveryLeft: number; flash?: { kind: 'ok' | 'error'; text: string } | undefined }) {
  return (
    <>
      <h1>Your account</h1>
      <FlashBox flash={flash} />
      <article>
        <h2>Profile</h2>
        <p>
          <strong>{user.name}</strong> · {user.email} {user.email_verified_at ? '(confirmed)' : '(not confirmed yet: check your inbox)'}
        </p>
        <details>
          <summary>Change email address</summary>
          <form method="post" action="/account/email">
            <Csrf token={csrf} />
            <Field name="email" label="New email address" type="email" required value={values.email} error={errors.email} maxlength={254} help="We send a confirmation link to the new address; the change applies when you open it." />
            <button type="submit">Send confirmation link</button>
          </form>
        </details>
        <details>
          <summary>Change password</summary>
          <form method="post" action="/account/password">
            <Csrf token={csrf} />
            <Field name="current" label="Current password" type="password" required autocomplete="current-password" error={errors.current} maxlength={256} />
            <Field name="password" label="New password" type="password" required autocomplete="new-password" minlength={12} maxlength={256} error={errors.password} help={`${PW_HELP} Your other sessions will be signed out.`} />
            <button type="submit">Change password</button>
          </form>
        </details>
      </article>
      <article>
        <h2>Two-factor authentication</h2>
        <p>
          SMS codes: {user.phone_verified_at ? <>on ({maskPhone(user.phone ?? '')})</> : 'off'} · <a href="/account/phone">Manage SMS codes</a>
        </p>
        {user.totp_secret ? (
          <>
            <p>
              On since {user.totp_enabled_at?.slice(0, 10)}. Recovery codes left: <strong data-testid="recovery-left">{recoveryLeft}</strong>.
            </p>
            <ActionButton action="/account/2fa/recovery-codes" label="New recovery codes" csrf={csrf} confirm="Replace all recovery codes? The old ones stop working." />
            <ActionButton action="/account/2fa/disable" label="Turn off two-factor authentication" csrf={csrf} variant="contrast" confirm="Turn off two-factor authentication?" />
          </>
        ) : (
          <p>
            Off. <a href="/account/2fa/setup">Set up two-factor authentication</a>
          </p>
        )}
      </article>
      <article>
        <h2>Sessions</h2>
        <p>
          <a href="/account/sessions">See where you are signed in</a>
        </p>
      </article>
    </>
  );
}

export function SessionsPage({ csrf, sessions, currentId, now }: { csrf: string; sessions: SessionRow[]; currentId: string; now: number }) {
  return (
    <>
      <h1>Your sessions</h1>
      <TableBox label="Your sessions">
      <table>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">IP address</th>
            <th scope="col">Last seen</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr>
              <td>{s.user_agent ?? 'unknown device'}</td>
              <td>{s.ip ?? '–'}</td>
              <td>
                  <Ago t={s.last_seen_at} now={now} />
                </td>
              <td>{s.id === currentId ? <strong>This session</strong> : <ActionButton action={`/account/sessions/${s.id}/revoke`} label="Sign out" csrf={csrf} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </TableBox>
      {sessions.length > 1 ? <ActionButton action="/account/sessions/revoke-others" label="Sign out all other sessions" csrf={csrf} variant="contrast" /> : null}
    </>
  );
}
