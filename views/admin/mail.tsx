/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { DevMailView } from '../../src/mail/dev-view.ts';
import { Flash } from '../components/flash.tsx';
import { when } from '../components/when.ts';

export function AdminMailPage({ devMode, messages }: { devMode: boolean; messages: DevMailView[] }) {
  return (
    <>
      <h1>Mail</h1>
      {devMode ? (
        <>
          <Flash kind="error">No SMTP server is configured: mail is not sent but kept here. Set --smtp-url (or TESSERA_SMTP_URL) to send it.</Flash>
          <p>
            Most of this mail belongs to organizations (tickets, invitations), so it is shown masked: no recipient, no text, no link. This page is for trying Tessera out; a real operator
            configures SMTP. The instance owner sees their own mail (setup, password reset) in full.
          </p>
          {messages.length === 0 ? <p>No messages yet.</p> : null}
          {messages.map((m) => (
            <article data-mail={m.id}>
              <header>
                {m.masked ? <strong>{m.template}</strong> : <strong>{m.subject}</strong>}
                <br />
                <small>
                  To {m.to} · {m.template} · {m.orgId ? `organization ${m.orgId}` : 'instance'} · {m.status} · {when(m.createdAt)}
                </small>
              </header>
              {m.masked ? null : <pre>{m.text}</pre>}
            </article>
          ))}
        </>
      ) : (
        <p>An SMTP server is configured: mail is delivered, and not kept here.</p>
      )}
    </>
  );
}
