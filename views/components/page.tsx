/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import { Layout } from './layout.tsx';

export interface Viewer {
  name: string;
  instanceRole: 'owner' | 'admin' | null;
  signedIn: boolean;
}

/** The layout with the signed-in navigation; every page of the app renders through this. */
export function Page({ title, viewer, csrf, children }: { title: string; viewer: Viewer | null; csrf: string; children?: Child }) {
  const nav = viewer?.signedIn ? (
    <ul>
      <li>
        <a href="/orgs">Organizations</a>
      </li>
      {viewer.instanceRole ? (
        <li>
          <a href="/admin/users">Admin</a>
        </li>
      ) : null}
      <li>
        <a href="/account">Account</a>
      </li>
      <li>
        <form method="post" action="/logout" class="inline-action">
          <input type="hidden" name="_csrf" value={csrf} />
          <button type="submit" class="outline">
            Sign out
          </button>
        </form>
      </li>
    </ul>
  ) : (
    <ul>
      <li>
        <a href="/login">Sign in</a>
      </li>
    </ul>
  );
  return (
    <Layout title={title} csrfToken={csrf} nav={nav}>
      {children}
    </Layout>
  );
}
