/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import { Layout } from './layout.tsx';
import { AppShell, type ShellPlace, type Viewer } from './shell.tsx';

export type { Viewer } from './shell.tsx';

/**
 * Every page renders through this: signed-in pages of the app inside the app shell (navigation
 * from `place`), public and signed-out pages in the slim public frame.
 */
export function Page({ title, viewer, csrf, place, brand, head, children }: { title: string; viewer: Viewer | null; csrf: string; place?: ShellPlace | null | undefined; brand?: Child; head?: Child; children?: Child }) {
  if (viewer?.signedIn && place) {
    return (
      <AppShell title={title} csrf={csrf} viewer={viewer} place={place}>
        {children}
      </AppShell>
    );
  }
  const nav = viewer?.signedIn ? (
    <ul>
      <li>
        <a href="/orgs">Your organizations</a>
      </li>
    </ul>
  ) : brand ? null : (
    <ul>
      <li>
        <a href="/login">Sign in</a>
      </li>
    </ul>
  );
  return (
    <Layout title={title} csrfToken={csrf} nav={nav} brand={brand} head={head}>
      {children}
    </Layout>
  );
}
