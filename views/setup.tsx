/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Layout } from './layout.tsx';

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
