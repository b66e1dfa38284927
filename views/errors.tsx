/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Layout } from './layout.tsx';

export function ErrorPage({ status, title, message, requestId }: { status: number; title: string; message: string; requestId: string }) {
  return (
    <Layout title={title}>
      <article>
        <h1>{title}</h1>
        <p>{message}</p>
        <p>
          <small>
            Error {status}. If you contact your administrator, quote request id <span class="request-id">{requestId}</span>.
          </small>
        </p>
        <p>
          <a href="/">Back to the start page</a>
        </p>
      </article>
    </Layout>
  );
}
