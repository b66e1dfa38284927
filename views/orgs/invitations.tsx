/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type OrgRole, roleDescriptions } from '../../src/orgs/permissions.ts';
import { ActionButton, Csrf, Field, type FormState } from '../components/form.tsx';
import { Flash } from '../components/flash.tsx';

export function InviteInvalid() {
  return (
    <article>
      <h1>Invitation not usable</h1>
      <Flash kind="error">This invitation link is invalid, expired, revoked or already used.</Flash>
      <p>Ask the person who invited you to send a new invitation.</p>
    </article>
  );
}

type InviteInfo = { csrf: string; orgName: string; role: OrgRole; email: string };

export function InviteJoin({ csrf, orgName, role }: InviteInfo) {
  return (
    <article>
      <h1>Join {orgName}</h1>
      <p>
        You were invited to {orgName} as <strong>{role}</strong>: {roleDescriptions[role]}
      </p>
      <form method="post" action="/invite">
        <Csrf token={csrf} />
        <button type="submit">
          Join {orgName} as {role}
        </button>
      </form>
    </article>
  );
}

export function InviteWrongAccount({ csrf, orgName, email, signedInAs }: InviteInfo & { signedInAs: string }) {
  return (
    <article>
      <h1>This invitation is for someone else</h1>
      <p>
        The invitation to {orgName} was sent to <strong>{email}</strong>, but you are signed in as <strong>{signedInAs}</strong>.
      </p>
      <p>Sign out, then open the invitation link again and sign in (or register) with the invited address.</p>
      <ActionButton action="/logout" label="Sign out" csrf={csrf} />
    </article>
  );
}

export function InviteSignIn({ orgName, role, email }: InviteInfo) {
  return (
    <article>
      <h1>Join {orgName}</h1>
      <p>
        You were invited to {orgName} as <strong>{role}</strong>. An account for <strong>{email}</strong> already exists: sign in to accept the invitation.
      </p>
      <p>
        <a role="button" href={`/login?next=${encodeURIComponent('/invite')}`}>
          Sign in to accept
        </a>
      </p>
    </article>
  );
}

export function InviteRegister({ csrf, orgName, role, email, errors = {}, values = {} }: InviteInfo & FormState) {
  return (
    <article>
      <h1>Join {orgName}</h1>
      <p>
        You were invited to {orgName} as <strong>{role}</strong>. Create your account to accept.
      </p>
      <form method="post" action="/invite">
        <Csrf token={csrf} />
        <label for="f-email">
          Email address
          <input id="f-email" type="email" value={email} readonly aria-describedby="f-email-help" />
          <small id="f-email-help">The address the invitation was sent to.</small>
        </label>
        <Field name="name" label="Your name" value={values.name} error={errors.name} required autocomplete="name" maxlength={120} />
        <Field
          name="password"
          label="Password"
          type="password"
          error={errors.password}
          required
          autocomplete="new-password"
          minlength={12}
          maxlength={256}
          help="At least 12 characters. A few unrelated words make a strong, memorable password."
        />
        <button type="submit">Create account and join</button>
      </form>
    </article>
  );
}
