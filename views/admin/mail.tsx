/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { OutboxRow } from '../../src/mail/service.ts';
import { Flash } from '../components/flash.tsx';
import { when } from '../components/when.ts';
import { AdminNav } from './nav.tsx';

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
