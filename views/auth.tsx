/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { raw } from 'hono/html';
import type { SessionRow, UserRow } from '../src/auth/repo.ts';
import type { FieldErrors } from '../src/http/forms.ts';
import { ActionButton, Csrf, Field, Flash, FlashBox } from './components.tsx';

type Form = { csrf: string; errors?: FieldErrors; values?: Record<string, string>; message?: string | undefined };

const PW_HELP = 'At least 12 characters. A few unrelated words make a strong, memorable password.';

export function SetupForm({ csrf, token, errors = {}, values = {}, message }: Form & { token: string }) {
  return (
    <article>
      <h1>Set up Tessera</h1>
      <p>Create the instance owner account. You will set up two-factor authentication right after.</p>
      {message ? <Flash kind="error">{message}</Flash> : null}
      <form method="post" action={`/setup?token=${encodeURIComponent(token)}`}>
        <Csrf token={csrf} />
        <Field name="name" label="Your name" value={values.name} error={errors.name} required autocomplete="name" maxlength={120} />
        <Field name="email" label="Email address" type="email" value={values.email} error={errors.email} required autocomplete="email" maxlength={254} />
        <Field name="password" label="Password" type="password" error={errors.password} required autocomplete="new-password" minlength={12} maxlength={256} help={PW_HELP} />
        <button type="submit">Create owner account</button>
      </form>
    </article>
  );
}

export function LoginForm({ csrf, errors = {}, values = {}, message, next, notice }: Form & { next: string; notice?: string | undefined }) {
  return (
    <article>
      <h1>Sign in</h1>
      {notice ? <Flash kind="ok">{notice}</Flash> : null}
      {message ? <Flash kind="error">{message}</Flash> : null}
      <form method="post" action={`/login${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`}>
        <Csrf token={csrf} />
        <Field name="email" label="Email address" type="email" value={values.email} error={errors.email} required autocomplete="username" maxlength={254} autofocus />
        <Field name="password" label="Password" type="password" error={errors.password} required autocomplete="current-password" maxlength={256} />
        <button type="submit">Sign in</button>
      </form>
      <p>
        <a href="/password/forgot">Forgot your password?</a>
      </p>
    </article>
  );
}

export function SecondFactorForm({ csrf, message, notice, sms }: Form & { sms?: boolean; notice?: string | undefined }) {
  return (
    <article>
      <h1>Two-factor authentication</h1>
      <p>Enter the 6-digit code from your authenticator app{sms ? ' or from the SMS we send you' : ''}, or one of your recovery codes.</p>
      {notice ? <Flash kind="ok">{notice}</Flash> : null}
      {message ? <Flash kind="error">{message}</Flash> : null}
      <form method="post" action="/login/2fa">
        <Csrf token={csrf} />
        <Field name="code" label="Code" required autocomplete="one-time-code" inputmode="text" maxlength={40} autofocus />
        <button type="submit">Verify</button>
      </form>
      {sms ? <ActionButton action="/login/2fa/sms" label="Text me a code" csrf={csrf} /> : null}
      <ActionButton action="/logout" label="Cancel and sign out" csrf={csrf} variant="outline" />
    </article>
  );
}

export function TotpSetup({ csrf, secret, qr, message, forced }: Form & { secret: string; qr: string; forced: boolean }) {
  return (
    <article>
      <h1>Set up two-factor authentication</h1>
      {forced ? <Flash kind="error">Your account must use two-factor authentication before you can continue.</Flash> : null}
      <ol>
        <li>Open an authenticator app (Aegis, Google Authenticator, 1Password, …).</li>
        <li>Scan this QR code, or type the key below.</li>
        <li>Enter the 6-digit code the app shows.</li>
      </ol>
      <div class="qr" role="img" aria-label="QR code for your authenticator app">
        {raw(qr)}
      </div>
      <p>
        Key: <code class="token" data-testid="totp-secret">{secret}</code>
      </p>
      {message ? <Flash kind="error">{message}</Flash> : null}
      <form method="post" action="/account/2fa/setup">
        <Csrf token={csrf} />
        <Field name="code" label="Code from the app" required autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]{6,8}" maxlength={8} />
        <button type="submit">Turn on two-factor authentication</button>
      </form>
      <p>
        <small>
          No authenticator app? <a href="/account/phone">Receive codes by SMS instead</a> (less secure than an app: SMS can be intercepted or redirected).
        </small>
      </p>
    </article>
  );
}

export function PhonePage({ csrf, step, message, phone }: Form & { step: 'enter' | 'confirm' | 'done'; phone?: string | null }) {
  return (
    <article>
      <h1>SMS codes</h1>
      <p>Tessera texts you a 6-digit code when you sign in. An authenticator app is safer; use SMS if you cannot use one.</p>
      {message ? <Flash kind="error">{message}</Flash> : null}
      {step === 'done' ? (
        <>
          <p>
            Codes go to <strong>{maskPhone(phone ?? '')}</strong>.
          </p>
          <ActionButton action="/account/phone/remove" label="Stop using SMS codes" csrf={csrf} variant="contrast" confirm="Stop sending sign-in codes by SMS?" />
        </>
      ) : step === 'enter' ? (
        <form method="post" action="/account/phone">
          <Csrf token={csrf} />
          <Field name="phone" label="Mobile number" type="tel" required autocomplete="tel" maxlength={32} help="International format with + and country code, e.g. +41 44 668 18 00." />
          <button type="submit">Text me a code</button>
        </form>
      ) : (
        <form method="post" action="/account/phone/confirm">
          <Csrf token={csrf} />
          <Field name="code" label="Code from the SMS" required autocomplete="one-time-code" inputmode="numeric" maxlength={8} autofocus />
          <button type="submit">Confirm number</button>
        </form>
      )}
    </article>
  );
}

/** Shows only the last digits of a number, like banks do. */
export function maskPhone(phone: string): string {
  return phone.length > 4 ? `${'•'.repeat(Math.max(0, phone.length - 4))}${phone.slice(-4)}` : phone;
}

export function RecoveryCodes({ codes }: { codes: string[] }) {
  return (
    <article>
      <h1>Your recovery codes</h1>
      <p>
        Each code signs you in once if you lose your phone. Store them somewhere safe now: <strong>they are shown only this once.</strong>
      </p>
      <ul class="recovery-codes" data-testid="recovery-codes">
        {codes.map((c) => (
          <li>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <p>
        <a href="/" role="button">
          I have stored them, continue
        </a>
      </p>
    </article>
  );
}

export function ReauthForm({ csrf, message, next, hasTotp, sms }: Form & { next: string; hasTotp: boolean; sms?: boolean }) {
  return (
    <article>
      <h1>Confirm it is you</h1>
      <p>This change needs your password{hasTotp ? ' and a code from your authenticator app' : ''} again.</p>
      {message ? <Flash kind="error">{message}</Flash> : null}
      <form method="post" action={`/account/reauth?next=${encodeURIComponent(next)}`}>
        <Csrf token={csrf} />
        <Field name="password" label="Password" type="password" required autocomplete="current-password" maxlength={256} autofocus />
        {hasTotp ? <Field name="code" label="Authenticator code or recovery code" required autocomplete="one-time-code" maxlength={40} help={sms ? 'A code from SMS works too.' : undefined} /> : null}
        <button type="submit">Confirm</button>
      </form>
      {sms ? <ActionButton action={`/account/reauth/sms?next=${encodeURIComponent(next)}`} label="Text me a code" csrf={csrf} /> : null}
    </article>
  );
}

export function ForgotForm({ csrf, sent }: Form & { sent: boolean }) {
  return (
    <article>
      <h1>Reset your password</h1>
      {sent ? (
        <Flash kind="ok">If an account uses that address, we have sent it a link to choose a new password. The link works once, for 30 minutes.</Flash>
      ) : (
        <form method="post" action="/password/forgot">
          <Csrf token={csrf} />
          <Field name="email" label="Email address" type="email" required autocomplete="email" maxlength={254} />
          <button type="submit">Send reset link</button>
        </form>
      )}
    </article>
  );
}

export function ResetForm({ csrf, token, errors = {}, message }: Form & { token: string }) {
  return (
    <article>
      <h1>Choose a new password</h1>
      {message ? <Flash kind="error">{message}</Flash> : null}
      <form method="post" action="/password/reset">
        <Csrf token={csrf} />
        <input type="hidden" name="token" value={token} />
        <Field name="password" label="New password" type="password" error={errors.password} required autocomplete="new-password" minlength={12} maxlength={256} help={PW_HELP} />
        <button type="submit">Set new password</button>
      </form>
      <p>After this you sign in again with your new password and, if you use it, your authenticator app.</p>
    </article>
  );
}

export function Notice({ title, message, kind = 'ok', link }: { title: string; message: string; kind?: 'ok' | 'error'; link?: { href: string; label: string } }) {
  return (
    <article>
      <h1>{title}</h1>
      <Flash kind={kind}>{message}</Flash>
      {link ? (
        <p>
          <a href={link.href}>{link.label}</a>
        </p>
      ) : null}
    </article>
  );
}

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
  const ago = (t: number) => {
    const m = Math.round((now - t) / 60000);
    return m < 1 ? 'just now' : m < 60 ? `${m} min ago` : `${Math.round(m / 60)} h ago`;
  };
  return (
    <>
      <h1>Your sessions</h1>
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
              <td>{ago(s.last_seen_at)}</td>
              <td>{s.id === currentId ? <strong>This session</strong> : <ActionButton action={`/account/sessions/${s.id}/revoke`} label="Sign out" csrf={csrf} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {sessions.length > 1 ? <ActionButton action="/account/sessions/revoke-others" label="Sign out all other sessions" csrf={csrf} variant="contrast" /> : null}
    </>
  );
}
