/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Csrf, Field } from '../components/form.tsx';
import { Flash } from '../components/flash.tsx';
import { type Form, PW_HELP } from './shared.ts';
import { Layout } from '../components/layout.tsx';

export function SetupInvalidPage({ reason }: { reason: 'invalid' | 'expired' | 'used' | 'done' }) {
  const text = {
    invalid: 'This setup link is not valid. Copy the whole link from the server console, or restart the server to print a new one.',
    expired: 'This setup link has expired (links are valid for 24 hours). Restart the server to print a new one.',
    used: 'This setup link has already been used. Each link works once; restart the server to print a new one if setup is not finished.',
    done: 'This instance already has an owner. Sign in instead.',
  }[reason];
  return (
    <Layout title="Setup link">
      <article>
        <h1>Setup link not usable</h1>
        <p>{text}</p>
      </article>
    </Layout>
  );
}

export function SetupForm({ csrf, errors = {}, values = {}, message }: Form) {
  return (
    <article>
      <h1>Set up Tessera</h1>
      <p>Create the instance owner account. You will set up two-factor authentication right after.</p>
      {message ? <Flash kind="error">{message}</Flash> : null}
      <form method="post" action="/setup">
        <Csrf token={csrf} />
        <Field name="name" label="Your name" value={values.name} error={errors.name} required autocomplete="name" maxlength={120} />
        <Field name="email" label="Email address" type="email" value={values.email} error={errors.email} required autocomplete="email" maxlength={254} />
        <Field name="password" label="Password" type="password" error={errors.password} required autocomplete="new-password" minlength={12} maxlength={256} help={PW_HELP} />
        <button type="submit">Create owner account</button>
      </form>
    </article>
  );
}
