/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import { Document } from './layout.tsx';
import { type PathPlace, adminSections, eventSections, orgSections, visible } from './place.ts';

export interface Viewer {
  name: string;
  instanceRole: 'owner' | 'admin' | null;
  signedIn: boolean;
}

/** What the shell needs to know about the request; `render` fills it from the request context. */
export interface ShellPlace extends PathPlace {
  path: string;
  orgs: { slug: string; name: string }[];
  org?: { slug: string; name: string; role: OrgRole } | undefined;
  event?: { id: string; title: string } | undefined;
}

type Crumb = { label: string; href: string };

const current = (href: string, path: string) => (href === path ? 'page' : undefined);

/** Organization › Section › Event › Event section (› this page, when it is deeper than its section). */
export function crumbsOf(place: ShellPlace, title: string): Crumb[] {
  const out: Crumb[] = [];
  if (place.adminSection) {
    out.push({ label: 'Administration', href: '/admin/users' });
    const s = adminSections.find((a) => a.section === place.adminSection);
    if (s) out.push({ label: s.label, href: s.path });
  } else if (place.org) {
    const base = `/orgs/${place.org.slug}`;
    out.push({ label: place.org.name, href: base });
    const s = orgSections.find((o) => o.section === place.orgSection);
    if (s && s.section !== 'dashboard') out.push({ label: s.label, href: `${base}${s.path}` });
    if (place.event) {
      const eb = `${base}/events/${place.event.id}`;
      out.push({ label: place.event.title, href: eb });
      const es = eventSections.find((e) => e.section === place.eventSection);
      if (es && es.section !== 'overview') out.push({ label: es.label, href: `${eb}${es.path}` });
    }
  }
  if (out.length > 0 && out[out.length - 1]!.href !== place.path) out.push({ label: title.split(' · ')[0]!, href: place.path });
  return out;
}

function Breadcrumbs({ crumbs, path }: { crumbs: Crumb[]; path: string }) {
  if (crumbs.length < 2) return null;
  return (
    <nav aria-label="breadcrumb" class="crumbs">
      <ul>
        {crumbs.map((c, i) => (
          <li>{i === crumbs.length - 1 ? <span aria-current={current(c.href, path) ?? 'location'}>{c.label}</span> : <a href={c.href}>{c.label}</a>}</li>
        ))}
      </ul>
    </nav>
  );
}

/** A section link; the one for the place we are in is marked for eyes and screen readers. */
function Item({ href, label, on, path }: { href: string; label: string; on: boolean; path: string }) {
  return (
    <li>
      <a href={href} aria-current={on ? (href === path ? 'page' : 'location') : undefined}>
        {label}
      </a>
    </li>
  );
}

/** The section lists: organization and event, or administration, or the viewer's organizations. */
function Sections({ place, viewer, label }: { place: ShellPlace; viewer: Viewer; label: string }) {
  const { org, event, path } = place;
  if (place.adminSection) {
    return (
      <nav aria-label={`Administration${label}`}>
        <p class="nav-heading">Administration</p>
        <ul>
          {adminSections.map((s) => (
            <Item href={s.path} label={s.label} on={s.section === place.adminSection} path={path} />
          ))}
        </ul>
      </nav>
    );
  }
  if (!org) {
    return (
      <nav aria-label={`Organizations${label}`}>
        <p class="nav-heading">Organizations</p>
        <ul>
          {place.orgs.map((o) => (
            <Item href={`/orgs/${o.slug}`} label={o.name} on={false} path={path} />
          ))}
          <Item href="/orgs" label="All organizations" on={path === '/orgs'} path={path} />
          {viewer.instanceRole ? <Item href="/admin/users" label="Administration" on={false} path={path} /> : null}
        </ul>
      </nav>
    );
  }
  const base = `/orgs/${org.slug}`;
  return (
    <>
      <nav aria-label={`Organization${label}`}>
        <p class="nav-heading">{org.name}</p>
        <ul>
          {visible(orgSections, org.role).map((s) => (
            <Item href={`${base}${s.path}`} label={s.label} on={s.section === place.orgSection && !(event && s.section === 'events' && place.eventSection)} path={path} />
          ))}
        </ul>
      </nav>
      {event ? (
        <nav aria-label={`Event${label}`}>
          <p class="nav-heading">{event.title}</p>
          <ul>
            {visible(eventSections, org.role).map((s) => (
              <Item href={`${base}/events/${event.id}${s.path}`} label={s.label} on={s.section === place.eventSection} path={path} />
            ))}
          </ul>
        </nav>
      ) : null}
    </>
  );
}

function SignOut({ csrf }: { csrf: string }) {
  return (
    <form method="post" action="/logout" class="inline-action">
      <input type="hidden" name="_csrf" value={csrf} />
      <button type="submit" class="outline secondary">
        Sign out
      </button>
    </form>
  );
}

/** The organization switcher: a dropdown that works without JavaScript (a details element). */
function OrgSwitcher({ place }: { place: ShellPlace }) {
  if (place.orgs.length === 0) return null;
  return (
    <details class="dropdown org-switcher">
      <summary>{place.org?.name ?? 'Organizations'}</summary>
      <ul>
        {place.orgs.map((o) => (
          <li>
            <a href={`/orgs/${o.slug}`} aria-current={o.slug === place.org?.slug ? 'true' : undefined}>
              {o.name}
            </a>
          </li>
        ))}
        <li>
          <a href="/orgs">All organizations</a>
        </li>
      </ul>
    </details>
  );
}

/**
 * The frame of every signed-in page: a top bar (brand, organization switcher, account), the
 * section navigation as a sidebar on wide screens and as a menu on phones (a details element,
 * so it opens without JavaScript), and breadcrumbs above the page's own heading.
 */
export function AppShell({ title, csrf, viewer, place, children }: { title: string; csrf: string; viewer: Viewer; place: ShellPlace; children?: Child }) {
  const crumbs = crumbsOf(place, title);
  const here = crumbs.length > 0 ? crumbs[crumbs.length - 1]!.label : title.split(' · ')[0];
  return (
    <Document title={title} csrfToken={csrf} bodyClass="app">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="app-top">
        <nav aria-label="Account">
          <ul>
            <li>
              <a class="brand" href="/orgs">
                Tessera
              </a>
            </li>
            <li>
              <OrgSwitcher place={place} />
            </li>
          </ul>
          <ul class="wide-only">
            <li>
              <a href="/account" aria-current={place.path === '/account' ? 'page' : undefined}>
                {viewer.name}
              </a>
            </li>
            {viewer.instanceRole ? (
              <li>
                <a href="/admin/users">Admin</a>
              </li>
            ) : null}
            <li>
              <SignOut csrf={csrf} />
            </li>
          </ul>
        </nav>
      </header>
      <div class="app-body">
        <aside class="app-side wide-only">
          <Sections place={place} viewer={viewer} label="" />
        </aside>
        <main id="main" class="app-main">
          <details class="app-menu narrow-only">
            <summary>
              Menu <span class="app-menu-here">· {here}</span>
            </summary>
            <Sections place={place} viewer={viewer} label=" (menu)" />
            <nav aria-label="Account (menu)">
              <p class="nav-heading">{viewer.name}</p>
              <ul>
                <li>
                  <a href="/account">Account</a>
                </li>
                {viewer.instanceRole ? (
                  <li>
                    <a href="/admin/users">Administration</a>
                  </li>
                ) : null}
                <li>
                  <SignOut csrf={csrf} />
                </li>
              </ul>
            </nav>
          </details>
          <Breadcrumbs crumbs={crumbs} path={place.path} />
          {children}
        </main>
      </div>
    </Document>
  );
}
