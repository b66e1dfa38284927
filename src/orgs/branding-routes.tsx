/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { FlashMsg } from '../../views/components/flash.tsx';
import type { RouteTable } from '../http/route-permissions.ts';
import { parseForm } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import type { AppEnv } from '../http/types.ts';
import { ACCENT_PATTERN, normalizeHex } from './accent.ts';
import { settingsPage } from './routes.tsx';

type C = Context<AppEnv>;

const accent = z
  .string('Choose a colour.')
  .trim()
  .regex(ACCENT_PATTERN, 'Enter a colour as # and six hexadecimal digits, for example #0172ad.')
  .transform(normalizeHex);

const NO_FILE = 'Choose an image file to upload.';
/** Shown at the top of the settings page: the form with the error is further down. */
const notSaved = (why: string | undefined): FlashMsg => ({ kind: 'error', text: `Nothing was saved. ${why ?? ''}`.trim() });

const settingsUrl = (c: C, done: string) => `/orgs/${c.get('org').slug}/settings?done=${done}`;

/**
 * Public files of an organization's branding: cacheable (the page links them with a version in
 * the query, so a change is a new URL), never for a suspended organization. The logo is sent as
 * the type its bytes were checked to be, with `nosniff` (every response) and a CSP that lets the
 * file do nothing if it is opened on its own.
 */
const PUBLIC_CACHE = 'public, max-age=86400';

/** The accent colour and logo: set on the organization's settings page, served to its public pages. */
export function brandingRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  r.post('/orgs/:orgSlug/settings/accent', { kind: 'org', permission: 'org.settings' }, async (c) => {
    const org = c.get('org');
    const form = await parseForm(c, z.object({ accent }));
    if (!form.ok) return settingsPage(c, { errors: form.errors, accent: (form.values.accent ?? '').slice(0, 20), flash: notSaved(form.errors.accent) }, 400);
    c.get('app').branding.setAccent(org, form.data.accent, auditCtx(c, org.id));
    return c.redirect(settingsUrl(c, 'accent'), 303);
  });

  r.post('/orgs/:orgSlug/settings/accent/reset', { kind: 'org', permission: 'org.settings' }, (c) => {
    const org = c.get('org');
    c.get('app').branding.setAccent(org, null, auditCtx(c, org.id));
    return c.redirect(settingsUrl(c, 'accent-reset'), 303);
  });

  r.post('/orgs/:orgSlug/settings/logo', { kind: 'org', permission: 'org.settings' }, async (c) => {
    const org = c.get('org');
    const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const file = body.logo;
    if (!(file instanceof File) || file.size === 0) return settingsPage(c, { errors: { logo: NO_FILE }, flash: notSaved(NO_FILE) }, 400);
    const res = c.get('app').branding.setLogo(org, Buffer.from(await file.arrayBuffer()), auditCtx(c, org.id));
    if (!res.ok) return settingsPage(c, { errors: { logo: res.message }, flash: notSaved(res.message) }, 422);
    return c.redirect(settingsUrl(c, 'logo'), 303);
  });

  r.post('/orgs/:orgSlug/settings/logo/remove', { kind: 'org', permission: 'org.settings' }, (c) => {
    const org = c.get('org');
    c.get('app').branding.removeLogo(org, auditCtx(c, org.id));
    return c.redirect(settingsUrl(c, 'logo-removed'), 303);
  });

  /** The organization's id if its public files may be served. */
  const servable = (c: C): string | undefined => {
    const app = c.get('app');
    const org = app.orgs.bySlug(c.req.param('orgSlug') ?? '');
    return org && !app.orgDirectory.isSuspended(org.id) ? org.id : undefined;
  };
  const missing = (c: C) => c.body('Not found', 404, { 'Content-Type': 'text/plain; charset=utf-8' });

  r.get('/o/:orgSlug/logo', { kind: 'public' }, (c) => {
    const orgId = servable(c);
    const logo = orgId ? c.get('app').branding.logo(orgId) : undefined;
    if (!logo) return missing(c);
    const etag = `"${logo.logo_sha256.slice(0, 32)}"`;
    const headers = { ETag: etag, 'Cache-Control': PUBLIC_CACHE, 'Content-Security-Policy': "default-src 'none'; sandbox", 'X-Content-Type-Options': 'nosniff' };
    if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
    return c.body(new Uint8Array(logo.logo), 200, { ...headers, 'Content-Type': logo.logo_type, 'Content-Disposition': 'inline' });
  });

  r.get('/o/:orgSlug/brand.css', { kind: 'public' }, (c) => {
    const orgId = servable(c);
    const css = orgId ? c.get('app').branding.css(orgId) : undefined;
    if (!css) return missing(c);
    const headers = { ETag: css.etag, 'Cache-Control': PUBLIC_CACHE };
    if (c.req.header('if-none-match') === css.etag) return c.body(null, 304, headers);
    return c.body(css.body, 200, { ...headers, 'Content-Type': 'text/css; charset=utf-8' });
  });

  return app;
}
