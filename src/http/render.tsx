/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { Page, type Viewer } from '../../views/components/page.tsx';
import type { AppEnv } from './types.ts';

export function viewerOf(c: Context<AppEnv>): Viewer | null {
  const u = c.get('user');
  const s = c.get('session');
  return u ? { name: u.name, instanceRole: u.instance_role, signedIn: !!s && s.mfa_pending === 0 } : null;
}

/** Renders a page inside the app layout with the viewer's navigation and CSRF token. */
export function render(c: Context<AppEnv>, title: string, body: Child, status: ContentfulStatusCode = 200) {
  return c.html(
    <Page title={title} viewer={viewerOf(c)} csrf={c.get('csrfToken')}>
      {body}
    </Page>,
    status,
  );
}
