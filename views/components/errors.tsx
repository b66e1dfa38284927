/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Flash } from './flash.tsx';
import { Layout } from './layout.tsx';

/** What every error page ends with: the request id to quote, and a way back. */
function ErrorFooter({ status, requestId }: { status: number; requestId: string }) {
  return (
    <>
      <p>
        <small>
          Error {status}. If you contact your administrator, quote request id <span class="request-id">{requestId}</span>.
        </small>
      </p>
      <p>
        <a href="/">Back to the start page</a>
      </p>
    </>
  );
}

export function ErrorPage({ status, title, message, requestId }: { status: number; title: string; message: string; requestId: string }) {
  return (
    <Layout title={title}>
      <article>
        <h1>{title}</h1>
        <p>{message}</p>
        <ErrorFooter status={status} requestId={requestId} />
      </article>
    </Layout>
  );
}

/** The server cannot save changes right now; reading still works. `reason` says why and what to do. */
export function WritesRefusedPage({ reason, requestId }: { reason: string; requestId: string }) {
  return (
    <Layout title="Changes cannot be saved right now">
      <article>
        <h1>Changes cannot be saved right now</h1>
        <p>{reason}</p>
        <p>Nothing you submitted was saved. Pages you only read still work.</p>
        <ErrorFooter status={503} requestId={requestId} />
      </article>
    </Layout>
  );
}

/** The same for an htmx request: a notice that replaces the part of the page that asked. */
export function WritesRefusedNotice({ reason, requestId }: { reason: string; requestId: string }) {
  return (
    <Flash kind="error">
      <strong>Not saved:</strong> {reason} <small>(request id <span class="request-id">{requestId}</span>)</small>
    </Flash>
  );
}
