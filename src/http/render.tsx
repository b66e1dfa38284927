/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { OrgBrandMark, OrgBrandStyle } from '../../views/components/org-brand.tsx';
import { Page, type Viewer } from '../../views/components/page.tsx';
import { placeOfPath } from '../../views/components/place.ts';
import type { ShellPlace } from '../../views/components/shell.tsx';
import type { PublicBrand } from '../orgs/branding.ts';
import type { AppEnv } from './types.ts';

export function viewerOf(c: Context<AppEnv>): Viewer | null {
  const u = c.get('user');
  const s = c.get('session');
  return u ? { name: u.name, instanceRole: u.instance_role, signedIn: !!s && s.mfa_pending === 0 } : null;
}

/**
 * Where in the app this request is, for the app shell: null for routes the route table declares
 * public (they set no `access`: an event page looks the same to a signed-in organizer as to
 * anyone) and for visitors.
 * The organization and event come from what the guard and `loadEvent` already put on the context.
 */
export function placeOf(c: Context<AppEnv>, viewer: Viewer | null): ShellPlace | null {
  const user = c.get('user');
  if (!viewer?.signedIn || !user) return null;
  const access = c.get('access');
  if (!access || access.kind === 'public' || access.kind === 'mfa-pending') return null;
  const org = c.get('org');
  const membership = c.get('membership');
  const event = c.get('event');
  return {
    ...placeOfPath(c.req.path),
    path: c.req.path,
    orgs: c.get('app').orgs.forUser(user.id),
    org: org && membership ? { slug: org.slug, name: org.name, role: membership.role } : undefined,
    event: event ? { id: event.id, title: event.title } : undefined,
  };
}

/** Renders a page in the app shell (signed-in pages) or the public frame, with the CSRF token. */
export function render(c: Context<AppEnv>, title: string, body: Child, status: ContentfulStatusCode = 200) {
  const viewer = viewerOf(c);
  return c.html(
    <Page title={title} viewer={viewer} csrf={c.get('csrfToken')} place={placeOf(c, viewer)}>
      {body}
    </Page>,
    status,
  );
}

/**
 * A public page of one organization: its name and logo in the header and its accent stylesheet
 * (a file, not an inline style: the CSP allows none). Without a brand, the product's frame.
 */
export function renderBranded(c: Context<AppEnv>, brand: PublicBrand | undefined, title: string, body: Child, status: ContentfulStatusCode = 200) {
  if (!brand) return render(c, title, body, status);
  const viewer = viewerOf(c);
  return c.html(
    <Page title={title} viewer={viewer} csrf={c.get('csrfToken')} place={placeOf(c, viewer)} brand={<OrgBrandMark brand={brand} />} head={<OrgBrandStyle brand={brand} />}>
      {body}
    </Page>,
    status,
  );
}
