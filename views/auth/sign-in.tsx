/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { ActionButton, Csrf, Field } from '../components/form.tsx';
import { Flash } from '../components/flash.tsx';
import { type Form, PW_HELP } from './shared.ts';

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

export function ForgotForm({ csrf, sent, message }: Form & { sent: boolean }) {
  return (
    <article>
      <h1>Reset your password</h1>
      {message ? <Flash kind="error">{message}</Flash> : null}
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

export function ResetForm({ csrf, errors = {}, message }: Form) {
  return (
    <article>
      <h1>Choose a new password</h1>
      {message ? <Flash kind="error">{message}</Flash> : null}
      <form method="post" action="/password/reset">
        <Csrf token={csrf} />
        <Field name="password" label="New password" type="password" error={errors.password} required autocomplete="new-password" minlength={12} maxlength={256} help={PW_HELP} />
        <button type="submit">Set new password</button>
      </form>
      <p>After this you sign in again with your new password and, if you use it, your authenticator app.</p>
    </article>
  );
}

/** The page behind an emailed confirmation link: a button, so a mail scanner's GET changes nothing. */
export function ConfirmEmailForm({ csrf, change }: { csrf: string; change: boolean }) {
  return (
    <article>
      <h1>Confirm your email address</h1>
      <p>{change ? 'Press the button to use this address for your Tessera account from now on.' : 'Press the button to confirm that this address is yours.'}</p>
      <form method="post" action={change ? '/email/confirm?change=1' : '/email/confirm'}>
        <Csrf token={csrf} />
        <button type="submit">Confirm email address</button>
      </form>
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
