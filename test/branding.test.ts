import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accentPalette } from '../src/orgs/accent.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { type TestUser, addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const logo = (name: string) => fs.readFileSync(new URL(`./fixtures/logos/${name}`, import.meta.url));
const png = logo('logo.png');
const sys = { actor: { type: 'system' as const } };
const roles = ['owner', 'admin', 'organizer', 'viewer'] as const;

/**
 * An organization's accent colour and logo: who may set them, what is refused (and that a refusal
 * saves nothing), how the logo and stylesheet are served, and that the public pages use them.
 */
describe('organization branding', () => {
  let s: TestServer;
  let org: OrgRow;
  let other: OrgRow;
  const people = {} as Record<(typeof roles)[number], TestUser>;
  const clients = {} as Record<(typeof roles)[number], Client>;
  let otherOwner: Client;
  const settings = () => `/orgs/${org.slug}/settings`;
  const stored = () => s.ctx.branding.of(org.id);
  const rows = () => s.ctx.db.prepare('SELECT org_id, accent, logo_type, logo_sha256 FROM org_branding ORDER BY org_id').all();
  const audits = (action: string) =>
    (s.ctx.db.prepare('SELECT org_id, result, details FROM audit_log WHERE action = ? ORDER BY seq').all(action) as { org_id: string; result: string; details: string }[]).map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));

  beforeAll(async () => {
    s = await startTestServer();
    for (const role of roles) people[role] = await createUser(s, { email: testEmail(`brand-${role}`, 'a') });
    org = createOrg(s, people.owner.user, uniqueSlug('brand'), 'Harbour Events Club');
    for (const role of ['admin', 'organizer', 'viewer'] as const) addMember(s, org, people[role].user, role);
    for (const role of roles) {
      clients[role] = await signedInClient(s, people[role].user);
      await clients[role].get(`/orgs/${org.slug}`);
    }
    const b = await createUser(s, { email: testEmail('brand-other-owner', 'b') });
    other = createOrg(s, b.user, uniqueSlug('brand-b'), 'Other Club');
    otherOwner = await signedInClient(s, b.user);
    await otherOwner.get(`/orgs/${other.slug}`);
  });
  afterAll(() => s?.close());

  it('organizers, viewers and other tenants cannot set the colour or the logo; nothing is stored', async () => {
    for (const role of ['organizer', 'viewer'] as const) {
      const c = clients[role];
      expect((await c.post(`${settings()}/accent`, { accent: '#ff0000' })).status, role).toBe(403);
      expect((await c.upload(`${settings()}/logo`, 'logo', { bytes: png, filename: 'logo.png', type: 'image/png' })).status, role).toBe(403);
      expect((await c.post(`${settings()}/accent/reset`)).status, role).toBe(403);
      expect((await c.post(`${settings()}/logo/remove`)).status, role).toBe(403);
    }
    // Another organization's owner: as if the organization did not exist.
    expect((await otherOwner.post(`${settings()}/accent`, { accent: '#ff0000' })).status).toBe(404);
    expect((await otherOwner.upload(`${settings()}/logo`, 'logo', { bytes: png, filename: 'logo.png', type: 'image/png' })).status).toBe(404);
    expect(rows()).toEqual([]);
    expect(audits('org.branding_accent_changed')).toEqual([]);
    expect(audits('org.branding_logo_changed')).toEqual([]);
  });

  it('refuses a colour that is not #rrggbb with a clear message and keeps the old one', async () => {
    const c = clients.admin;
    for (const bad of ['red', '#12345', '#1234567', 'url(https://evil.test/x)', '#ff0000;} body{display:none', '']) {
      const r = await c.post(`${settings()}/accent`, { accent: bad });
      expect(r.status, bad).toBe(400);
      expect(r.text, bad).toContain('Nothing was saved.');
      expect(r.text, bad).toContain('Enter a colour as # and six hexadecimal digits, for example #0172ad.');
      expect(r.text).toContain('aria-invalid="true"');
    }
    expect(rows()).toEqual([]);
    expect(audits('org.branding_accent_changed')).toEqual([]);
  });

  it('saves any valid colour, normalized, and audits before and after', async () => {
    const c = clients.admin;
    const r = await c.post(`${settings()}/accent`, { accent: '#7B1FA2' });
    expect(r.status).toBe(303);
    expect(r.location).toBe(`${settings()}?done=accent`);
    expect(stored().accent).toBe('#7b1fa2');
    const page = await c.get(r.location!);
    expect(page.text).toContain('Accent colour saved.');
    expect(page.text).toContain('value="#7b1fa2"');
    // A pale colour that white text cannot be read on is kept; buttons get black text instead.
    expect((await c.post(`${settings()}/accent`, { accent: '#FFE' })).status).toBe(303);
    expect(stored().accent).toBe('#ffffee');
    expect(audits('org.branding_accent_changed').map((a) => [a.org_id, a.result, a.details])).toEqual([
      [org.id, 'success', { before: null, after: '#7b1fa2' }],
      [org.id, 'success', { before: '#7b1fa2', after: '#ffffee' }],
    ]);
  });

  it('refuses SVG, HTML renamed .png, a damaged image and a too-big file, saving nothing', async () => {
    const c = clients.owner;
    const attempts: [string, { bytes: Uint8Array; filename: string; type: string }, string][] = [
      ['svg', { bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), filename: 'logo.svg', type: 'image/svg+xml' }, 'SVG is not accepted: it can contain script.'],
      ['html as png', { bytes: Buffer.from('<!doctype html><script>alert(document.cookie)</script>'), filename: 'logo.png', type: 'image/png' }, 'This file is not a PNG, JPEG or WebP image.'],
      ['cut png', { bytes: png.subarray(0, 24), filename: 'logo.png', type: 'image/png' }, 'The image header could not be read'],
      ['too big', { bytes: Buffer.concat([png, Buffer.alloc(300 * 1024)]), filename: 'logo.png', type: 'image/png' }, 'at most 256 KiB is allowed.'],
    ];
    for (const [label, file, message] of attempts) {
      const r = await c.upload(`${settings()}/logo`, 'logo', file);
      expect(r.status, label).toBe(422);
      expect(r.text, label).toContain('Nothing was saved.');
      expect(r.text, label).toContain(message);
    }
    const none = await c.upload(`${settings()}/logo`, 'logo', { bytes: new Uint8Array(0), filename: '', type: 'application/octet-stream' });
    expect(none.status).toBe(400);
    expect(none.text).toContain('Choose an image file to upload.');
    expect(stored().logo).toBeNull();
    expect(audits('org.branding_logo_changed')).toEqual([]);
  });

  it('stores a PNG with the type and size read from its header, and audits it', async () => {
    const storage = () => s.ctx.orgDirectory.list().find((o) => o.id === org.id)!.storage_bytes;
    const before = storage();
    const r = await clients.owner.upload(`${settings()}/logo`, 'logo', { bytes: png, filename: 'whatever.gif', type: 'image/gif' });
    expect(r.status).toBe(303);
    const sha256 = createHash('sha256').update(png).digest('hex');
    expect(stored().logo).toEqual({ sha256, type: 'image/png', width: 240, height: 64 });
    // The instance admins' list of organizations counts the logo in the organization's storage.
    expect(storage() - before).toBe(png.length);
    const [row] = audits('org.branding_logo_changed');
    expect(row).toMatchObject({ org_id: org.id, result: 'success', details: { before: null, after: { sha256, type: 'image/png', width: 240, height: 64 }, bytes: png.length } });
    const page = await clients.owner.get(`${settings()}?done=logo`);
    expect(page.text).toContain('Logo saved.');
    expect(page.text).toContain(`src="/o/${org.slug}/logo?v=${sha256.slice(0, 16)}"`);
    expect(page.text).toContain('PNG, 240 × 64 pixels');
  });

  it('serves the logo with its type, nosniff, a CSP of its own, an ETag and caching', async () => {
    const url = `${s.url}/o/${org.slug}/logo?v=x`;
    const r = await fetch(url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/png');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(r.headers.get('cache-control')).toBe('public, max-age=86400');
    const etag = r.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(Buffer.from(await r.arrayBuffer()).equals(png)).toBe(true);
    const again = await fetch(url, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    // Another organization without a logo, and no organization at all: 404.
    expect((await fetch(`${s.url}/o/${other.slug}/logo`)).status).toBe(404);
    expect((await fetch(`${s.url}/o/no-such-org/logo`)).status).toBe(404);
    expect((await fetch(`${s.url}/o/${other.slug}/brand.css`)).status).toBe(404);
  });

  it('serves the accent stylesheet for both colour schemes', async () => {
    const r = await fetch(`${s.url}/o/${org.slug}/brand.css?v=ffffee`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('public, max-age=86400');
    const css = await r.text();
    const p = accentPalette('#ffffee');
    expect(p.onAccent).toBe('#000000');
    expect(css).toContain('--pico-primary-background: #ffffee;');
    expect(css).toContain('--pico-primary-inverse: #000000;');
    expect(css).toContain(`--pico-primary: ${p.linkLight};`);
    expect(css).toContain(`--pico-primary: ${p.linkDark};`);
    expect(css).toContain('prefers-color-scheme: dark');
    expect((await fetch(`${s.url}/o/${org.slug}/brand.css`, { headers: { 'if-none-match': r.headers.get('etag')! } })).status).toBe(304);
  });

  it('shows the logo and name and links the stylesheet on the public pages, and a change reaches cached pages', async () => {
    const e = createEvent(s, org, { title: 'Harbour Night' });
    const sha = stored().logo!.sha256.slice(0, 16);
    const visitor = new Client(s.url, { 'sec-fetch-site': 'same-origin' });
    const brandMark = `<a class="brand org-brand" href="/o/${org.slug}"><img src="/o/${org.slug}/logo?v=${sha}" alt="" width="240" height="64"/><span>Harbour Events Club</span></a>`;
    const pages = [await visitor.get(`/e/${e.slug}`), await visitor.get(`/o/${org.slug}`), await visitor.get(`/o/${org.slug}/privacy`)];
    const done = await visitor.post(`/e/${e.slug}/register`, { email: testEmail('brand-guest'), name: 'Guest' });
    expect(done.status).toBe(201);
    for (const p of [...pages, done]) {
      expect(p.text).toContain(brandMark);
      expect(p.text).toContain(`<link rel="stylesheet" href="/o/${org.slug}/brand.css?v=ffffee"/>`);
    }
    // The anonymous event page is cached per version: a new colour is a new version.
    expect((await clients.owner.post(`${settings()}/accent`, { accent: '#0b3d91' })).status).toBe(303);
    expect((await visitor.get(`/e/${e.slug}`)).text).toContain(`brand.css?v=0b3d91`);
    // The manage page of the registration (a link from the mail) too.
    const reg = s.ctx.db.prepare('SELECT * FROM registrations WHERE event_id = ?').get(e.id) as Parameters<typeof s.ctx.links.managePath>[0];
    expect((await new Client(s.url).follow(s.ctx.links.managePath(reg))).text).toContain(brandMark);
  });

  it('serves nothing for a suspended organization, whose public pages say it is unavailable', async () => {
    s.ctx.orgDirectory.setSuspended(people.owner.user, org.id, true, sys);
    try {
      expect((await fetch(`${s.url}/o/${org.slug}/logo`)).status).toBe(404);
      expect((await fetch(`${s.url}/o/${org.slug}/brand.css`)).status).toBe(404);
      const privacy = await new Client(s.url).get(`/o/${org.slug}/privacy`);
      expect(privacy.status).toBe(503);
      expect(privacy.text).toContain('This organization is currently unavailable');
      expect(privacy.text).not.toContain('brand.css');
      expect(privacy.text).not.toContain('Harbour Events Club');
    } finally {
      s.ctx.orgDirectory.setSuspended(people.owner.user, org.id, false, sys);
    }
    expect((await fetch(`${s.url}/o/${org.slug}/logo`)).status).toBe(200);
  });

  it('removes the logo and resets the colour, audited, and the public files are gone', async () => {
    const c = clients.owner;
    const before = stored().logo;
    expect((await c.post(`${settings()}/logo/remove`)).location).toBe(`${settings()}?done=logo-removed`);
    expect((await c.post(`${settings()}/accent/reset`)).location).toBe(`${settings()}?done=accent-reset`);
    expect(stored()).toEqual({ accent: null, logo: null });
    expect(rows()).toEqual([]);
    expect(audits('org.branding_logo_changed').at(-1)?.details).toEqual({ before, after: null });
    expect(audits('org.branding_accent_changed').at(-1)?.details).toEqual({ before: '#0b3d91', after: null });
    expect((await fetch(`${s.url}/o/${org.slug}/logo`)).status).toBe(404);
    expect((await fetch(`${s.url}/o/${org.slug}/brand.css`)).status).toBe(404);
    const page = await new Client(s.url).get(`/o/${org.slug}`);
    expect(page.text).toContain(`<a class="brand org-brand" href="/o/${org.slug}"><span>Harbour Events Club</span></a>`);
    expect(page.text).not.toContain('brand.css');
  });

  it('keeps the logo across a restart: it is in the database, and the in-memory index is rebuilt', async () => {
    expect((await clients.admin.upload(`${settings()}/logo`, 'logo', { bytes: logo('logo.webp'), filename: 'logo.webp', type: 'image/webp' })).status).toBe(303);
    await s.close();
    s = await startTestServer({}, { dir: s.dir });
    const r = await fetch(`${s.url}/o/${org.slug}/logo`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/webp');
    expect(s.ctx.branding.of(org.id).logo).toMatchObject({ type: 'image/webp', width: 240, height: 64 });
  });
});
