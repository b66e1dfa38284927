/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { raw } from 'hono/html';
import { ActionButton, Csrf, Field } from '../components/form.tsx';
import { Flash } from '../components/flash.tsx';
import type { Form } from './shared.ts';

export function TotpSetup({ csrf, secret, qr, message, forced }: Form & { secret: string; qr: string; forced: boolean }) {
  return (
    <article>
      <h1>Set up two-factor authentication</h1>
      {/* A first step, not a fault: said plainly, not in an error box. */}
      {forced ? <Flash kind="info">Your account needs a second sign-in step before you continue. It takes a minute.</Flash> : null}
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
      <p data-testid="sms-risk">
        <small>SMS is the weaker second factor: messages can be intercepted, and a number can be taken over by a SIM swap or redirected by the carrier. Only a number you confirm with a texted code is used.</small>
      </p>
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
