/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Layout } from '../components/layout.tsx';

export function HomePage({ needsSetup }: { needsSetup: boolean }) {
  return (
    <Layout title="Welcome">
      <article>
        <h1>Tessera</h1>
        <p>Self-hosted event registration and attendee management, with your attendees' data encrypted on your own server.</p>
        {needsSetup ? (
          <p>
            This instance has no owner yet. Open the one-time <strong>setup link</strong> printed on the server console when Tessera started
            (it looks like <code>/setup?token=…</code> and is valid for 24 hours). Restarting the server prints a fresh link.
          </p>
        ) : (
          <p>
            <a href="/login" role="button">
              Sign in
            </a>
          </p>
        )}
      </article>
    </Layout>
  );
}
